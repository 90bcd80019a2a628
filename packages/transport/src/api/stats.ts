// SPDX-License-Identifier: Apache-2.0
// Connection statistics in the shape @stoq/metrics reads: quiche's counters plus the
// active path's RTT and congestion window.
import type { QuicheConnection } from '../core/quiche.js';

/** Statistics of one connection ({@link StoqConnection.stats}), in the shape @stoq/metrics reads. */
export interface ConnectionStats {
  /** Smoothed RTT of the active path, microseconds (the binding reports whole milliseconds). */
  rttUs: number;
  /** Congestion window of the active path, bytes. */
  cwnd: number;
  /** Path MTU in use, bytes. */
  pmtu: number;
  /** Estimated delivery rate of the active path, bytes/s. */
  deliveryRate: number;
  /** QUIC packets sent. */
  sent: number;
  /** QUIC packets received. */
  recv: number;
  /** QUIC packets declared lost. */
  lost: number;
  /** QUIC packets retransmitted. */
  retrans: number;
  /** Bytes sent (UDP payload). */
  bytesSent: number;
  /** Bytes received (UDP payload). */
  bytesRecv: number;
  /** Bytes in packets declared lost. */
  bytesLost: number;
  /** Stream data bytes retransmitted. */
  streamRetransBytes: number;
  /** The peer's max_idle_timeout transport parameter, milliseconds (0: none). */
  peerMaxIdleTimeoutMs: number;
}

export function connectionStats(q: QuicheConnection): ConnectionStats {
  const s = q.stats();
  const paths = q.pathStats();
  const path = paths.find((p) => p.active) ?? paths[0];
  return {
    // The napi binding truncates quiche's RTT to whole milliseconds.
    rttUs: path ? path.rtt * 1000 : 0,
    cwnd: path?.cwnd ?? 0,
    pmtu: path?.pmtu ?? 0,
    deliveryRate: path?.deliveryRate ?? 0,
    sent: s.sent,
    recv: s.recv,
    lost: s.lost,
    retrans: s.retrans,
    bytesSent: s.sentBytes,
    bytesRecv: s.recvBytes,
    bytesLost: s.lostBytes,
    streamRetransBytes: s.streamRetransBytes,
    peerMaxIdleTimeoutMs: s.peerMaxIdleTimeout,
  };
}
