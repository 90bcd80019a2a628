// SPDX-License-Identifier: Apache-2.0
/**
 * Plain objects with the shapes @stoq/transport and @stoq/af-xdp hand to the metrics
 * sources (conn.stats(), datapath stats, socket.statistics()). The metrics package
 * must not import the transport (it sits above it), and @stoq/af-xdp has not landed:
 * these carry fixed, known values so the exporter tests can check every series.
 */
import type { AfXdpSocketLike, DatapathStatsLike, QuicConnectionLike } from '../../src/index.js';

export const connections: QuicConnectionLike[] = [
  { stats: () => ({ rttUs: 1500, cwnd: 14720, lost: 2, retrans: 3, sent: 100, recv: 90 }) },
  { stats: () => ({ rttUs: 2500, cwnd: 30000, lost: 0, retrans: 1, sent: 50, recv: 40 }) },
];

export const datapaths: DatapathStatsLike[] = [
  { kind: 'dgram', rxDatagrams: 40, rxBytes: 4000, txDatagrams: 30, txBytes: 3000, memcpyOps: 70, zeroCopyOps: 0 },
  { kind: 'xdp', rxDatagrams: 100, rxBytes: 10000, txDatagrams: 0, txBytes: 0, memcpyOps: 0, zeroCopyOps: 100 },
];

export const sockets: AfXdpSocketLike[] = [
  {
    mode: 'zerocopy',
    statistics: () => ({
      rx_dropped: 1n,
      rx_invalid_descs: 0n,
      tx_invalid_descs: 0n,
      rx_ring_full: 2n,
      rx_fill_ring_empty_descs: 3n,
      tx_ring_empty_descs: 4n,
      rx_packets: 100,
      tx_packets: 0,
    }),
  },
  {
    mode: 'copy',
    statistics: () => ({
      rx_dropped: 5n,
      rx_invalid_descs: 0n,
      tx_invalid_descs: 0n,
      rx_ring_full: 0n,
      rx_fill_ring_empty_descs: 0n,
      tx_ring_empty_descs: 0n,
      rx_packets: 7,
      tx_packets: 8,
    }),
  },
];
