// SPDX-License-Identifier: Apache-2.0
import { available, toNumber, unavailable, type MetricSource } from '../source.js';

/** How an AF_XDP socket is bound: `zerocopy` (XDP_ZEROCOPY, frames DMA'd into UMEM) or `copy` (XDP_COPY). */
export type AfXdpMode = 'zerocopy' | 'copy';

/**
 * Counters as a socket reports them: flat, or grouped one level deep the way
 * `@stoq/af-xdp`'s `XskSocket.statistics()` does (`{ kernel: { rxDropped, … }, socket: { rxPackets, … } }`).
 * Non-numeric fields (e.g. `mode`) are ignored.
 */
export type SocketStatistics = object;

/** What `@stoq/af-xdp` sockets expose: the bound mode, kernel XDP_STATISTICS plus the socket's own counters. */
export interface AfXdpSocketLike {
  /** The mode the socket is bound in. */
  readonly mode: AfXdpMode;
  /** The socket's counters (kernel XDP_STATISTICS and its own), flat or grouped one level deep. */
  statistics(): SocketStatistics | Promise<SocketStatistics>;
}

/** What afXdpSource() reads: the open sockets and their statistics summed. */
export interface AfXdpData {
  /** Open sockets. */
  readonly sockets: number;
  /** Sockets bound in zero-copy mode. */
  readonly zerocopySockets: number;
  /** Sockets bound in copy mode. */
  readonly copySockets: number;
  /** Every numeric statistic summed over the sockets, by snake_case name (rx_dropped, rx_ring_full, rx_packets, …). */
  readonly totals: Readonly<Record<string, number>>;
  /** Packets received + sent through zero-copy sockets. */
  readonly zerocopyPackets: number;
  /** Packets received + sent through copy-mode sockets. */
  readonly copyPackets: number;
}


/**
 * Sums the statistics of the AF_XDP sockets the caller hands in. The list is read on
 * every collection (`sockets` is a function) because the transport opens and closes
 * sockets over time; no sockets at all means AF_XDP is not in use: unavailable.
 */
export function afXdpSource(sockets: () => Iterable<AfXdpSocketLike>): MetricSource<AfXdpData> {
  return {
    name: 'af_xdp',
    async collect() {
      const list = [...sockets()];
      if (list.length === 0) return unavailable('no AF_XDP socket is open');
      const totals: Record<string, number> = {};
      let zerocopyPackets = 0;
      let copyPackets = 0;
      for (const socket of list) {
        const stats = flatten(await socket.statistics());
        for (const [field, value] of Object.entries(stats)) totals[field] = (totals[field] ?? 0) + value;
        const moved = (stats['rx_packets'] ?? 0) + (stats['tx_packets'] ?? 0);
        if (socket.mode === 'zerocopy') zerocopyPackets += moved;
        else copyPackets += moved;
      }
      const zerocopySockets = list.filter((s) => s.mode === 'zerocopy').length;
      return available({
        sockets: list.length,
        zerocopySockets,
        copySockets: list.length - zerocopySockets,
        totals,
        zerocopyPackets,
        copyPackets,
      });
    },
  };
}

/** Numeric leaves (top level and one group deep) by snake_case name: rxDropped → rx_dropped. */
function flatten(stats: SocketStatistics): Record<string, number> {
  const flat: Record<string, number> = {};
  const add = (name: string, value: unknown) => {
    if (typeof value !== 'number' && typeof value !== 'bigint') return;
    const key = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    if (key in flat) throw new Error(`AF_XDP statistic ${key} reported twice`);
    flat[key] = toNumber(value);
  };
  for (const [name, value] of Object.entries(stats) as [string, unknown][]) {
    if (value !== null && typeof value === 'object') for (const [inner, v] of Object.entries(value) as [string, unknown][]) add(inner, v);
    else add(name, value);
  }
  return flat;
}
