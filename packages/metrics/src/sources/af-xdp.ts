// SPDX-License-Identifier: Apache-2.0
import { available, toNumber, unavailable, type MetricSource } from '../source.js';
import { CumulativeTotals } from './cumulative.js';
import { checkFunction } from '../errors.js';

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
  /**
   * Every numeric statistic by snake_case name (rx_dropped, rx_ring_full, rx_packets, …):
   * counters summed over the open sockets plus the last reading of each socket that closed
   * since the source was created, so they never decrease; levels (`tx_outstanding`,
   * `umem_free_frames`) over the open sockets only.
   */
  readonly totals: Readonly<Record<string, number>>;
  /** Packets received + sent through zero-copy sockets, closed ones included (never decreases). */
  readonly zerocopyPackets: number;
  /** Packets received + sent through copy-mode sockets, closed ones included (never decreases). */
  readonly copyPackets: number;
}

/** `@stoq/af-xdp` statistics that are levels, not counts: a closed socket's level is not kept. */
const LEVELS = ['tx_outstanding', 'umem_free_frames'];

/**
 * Sums the statistics of the AF_XDP sockets the caller hands in. The list is read on
 * every collection (`sockets` is a function) because the transport opens and closes
 * sockets over time; no sockets at all means AF_XDP is not in use: unavailable. Sockets
 * are told apart by identity: a socket missing from the list has closed, and its last
 * counts stay in the totals, which therefore never decrease (they are Prometheus counters).
 */
export function afXdpSource(sockets: () => Iterable<AfXdpSocketLike>): MetricSource<AfXdpData> {
  checkFunction('sockets', sockets);
  const counters = new CumulativeTotals<AfXdpSocketLike>(LEVELS);
  const moved = new CumulativeTotals<AfXdpSocketLike>();
  return {
    name: 'af_xdp',
    async collect() {
      const list = [...new Set(sockets())];
      const stats = new Map<AfXdpSocketLike, Record<string, number>>();
      const packets = new Map<AfXdpSocketLike, Record<string, number>>();
      for (const socket of list) {
        const flat = flatten(await socket.statistics());
        stats.set(socket, flat);
        packets.set(socket, { [socket.mode]: (flat['rx_packets'] ?? 0) + (flat['tx_packets'] ?? 0) });
      }
      // Also with no socket open: the ones that just closed must be retired now.
      const totals = counters.update(stats);
      const byMode = moved.update(packets);
      if (list.length === 0) return unavailable('no AF_XDP socket is open');
      const zerocopySockets = list.filter((s) => s.mode === 'zerocopy').length;
      return available({
        sockets: list.length,
        zerocopySockets,
        copySockets: list.length - zerocopySockets,
        totals,
        zerocopyPackets: byMode['zerocopy'] ?? 0,
        copyPackets: byMode['copy'] ?? 0,
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
