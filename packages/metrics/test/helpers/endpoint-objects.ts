// SPDX-License-Identifier: Apache-2.0
/**
 * Plain objects with the shapes @stoq/transport and @stoq/af-xdp hand to the metrics
 * sources (conn.stats(), datapath stats, socket.statistics()). The metrics package
 * must not import the transport (it sits above it):
 * these carry fixed, known values so the exporter tests can check every series
 * (test/af-xdp.test.ts reads a real socket).
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

/** Shaped like `XskSocket.statistics()` of @stoq/af-xdp: kernel and socket groups. */
export const sockets: AfXdpSocketLike[] = [
  {
    mode: 'zerocopy',
    statistics: () => ({
      mode: 'zerocopy',
      kernel: { rxDropped: 1, rxInvalidDescs: 0, txInvalidDescs: 0, rxRingFull: 2, rxFillRingEmptyDescs: 3, txRingEmptyDescs: 4 },
      socket: { rxPackets: 100, rxBytes: 120_000, txPackets: 0, txBytes: 0 },
    }),
  },
  {
    mode: 'copy',
    statistics: () => ({
      mode: 'copy',
      kernel: { rxDropped: 5, rxInvalidDescs: 0, txInvalidDescs: 0, rxRingFull: 0, rxFillRingEmptyDescs: 0, txRingEmptyDescs: 0 },
      socket: { rxPackets: 7, rxBytes: 8400, txPackets: 8, txBytes: 9600 },
    }),
  },
];
