// SPDX-License-Identifier: Apache-2.0
// Connection statistics in the shape @stoq/metrics reads: quiche's counters plus the
// active path's RTT and congestion window.
import type { QuicheConnection } from '../core/quiche.js';

export interface ConnectionStats {
  /** Smoothed RTT of the active path, microseconds (the binding reports whole milliseconds). */
  rttUs: number;
  /** Congestion window of the active path, bytes. */
  cwnd: number;
  /** Path MTU in use, bytes. */
  pmtu: number;
  /** Estimated delivery rate of the active path, bytes/s. */
  deliveryRate: number;
  /** QUIC packets sent / received / declared lost / retransmitted. */
  sent: number;
  recv: number;
  lost: number;
  retrans: number;
  bytesSent: number;
  bytesRecv: number;
  bytesLost: number;
  streamRetransBytes: number;
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
