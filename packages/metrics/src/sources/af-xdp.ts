// SPDX-License-Identifier: Apache-2.0
import { available, toNumber, unavailable, type MetricSource } from '../source.js';

export type AfXdpMode = 'zerocopy' | 'copy';

/** What `@stoq/af-xdp` sockets expose: kernel XDP_STATISTICS plus the socket's own counters. */
export interface AfXdpSocketLike {
  readonly mode: AfXdpMode;
  statistics(): Readonly<Record<string, number | bigint>> | Promise<Readonly<Record<string, number | bigint>>>;
}

export interface AfXdpData {
  readonly sockets: number;
  readonly zerocopySockets: number;
  readonly copySockets: number;
  /** Every numeric statistic summed over the sockets (rx_dropped, rx_ring_full, rx_packets, …). */
  readonly totals: Readonly<Record<string, number>>;
  /** Packets received + sent through zero-copy sockets and through copy-mode sockets. */
  readonly zerocopyPackets: number;
  readonly copyPackets: number;
}

/** Names under which a socket reports the frames it moved (first match wins). */
const RX_PACKET_FIELDS = ['rx_packets', 'rxPackets'];
const TX_PACKET_FIELDS = ['tx_packets', 'txPackets'];

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
        const stats = await socket.statistics();
        for (const [field, value] of Object.entries(stats)) {
          if (typeof value === 'number' || typeof value === 'bigint') totals[field] = (totals[field] ?? 0) + toNumber(value);
        }
        const moved = firstField(stats, RX_PACKET_FIELDS) + firstField(stats, TX_PACKET_FIELDS);
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

function firstField(stats: Readonly<Record<string, number | bigint>>, names: readonly string[]): number {
  for (const name of names) {
    const value = stats[name];
    if (value !== undefined) return toNumber(value);
  }
  return 0;
}
