// SPDX-License-Identifier: Apache-2.0
import { available, unavailable, type MetricSource } from '../source.js';
import { checkFunction } from '../errors.js';

/** The fields of `@stoq/transport`'s `conn.stats()` this source aggregates. */
export interface QuicConnectionStatsLike {
  /** Smoothed RTT, µs; 0 while the connection has no RTT sample yet. */
  readonly rttUs: number;
  /** Congestion window, bytes. */
  readonly cwnd: number;
  /** Packets declared lost. */
  readonly lost: number;
  /** Packets retransmitted. */
  readonly retrans: number;
  /** Packets sent. */
  readonly sent: number;
  /** Packets received. */
  readonly recv: number;
}

/** A QUIC connection as quicSource() sees it (`@stoq/transport`'s StoqConnection fits). */
export interface QuicConnectionLike {
  /** The connection's current stats. */
  stats(): QuicConnectionStatsLike;
}

/** What quicSource() reads: aggregates over the open connections. */
export interface QuicData {
  /** Open connections. */
  readonly connections: number;
  /**
   * Smoothed RTT over open connections that have an RTT sample, microseconds; null when none
   * has (an RTT of 0 means no sample yet and is left out, not averaged in as 0).
   */
  readonly rttUs: {
    /** Smallest, µs. */
    readonly min: number;
    /** Mean, µs. */
    readonly avg: number;
    /** Largest, µs. */
    readonly max: number;
  } | null;
  /** Congestion windows summed, bytes. */
  readonly cwndBytes: number;
  /** Lost packets summed. */
  readonly lostPackets: number;
  /** Retransmitted packets summed. */
  readonly retransmittedPackets: number;
  /** Sent packets summed. */
  readonly sentPackets: number;
  /** Received packets summed. */
  readonly receivedPackets: number;
}

/**
 * Aggregates the stats of the open QUIC connections the caller lists. Totals cover
 * the connections open now (a closed connection's packets leave the sum), so they
 * are exported as gauges, not counters.
 */
export function quicSource(connections: (() => Iterable<QuicConnectionLike>) | null): MetricSource<QuicData> {
  checkFunction('connections', connections, true);
  return {
    name: 'quic',
    collect() {
      if (connections === null) return unavailable('no QUIC endpoint was given');
      let count = 0;
      let rttCount = 0;
      let rttSum = 0;
      let rttMin = Infinity;
      let rttMax = 0;
      let cwnd = 0;
      let lost = 0;
      let retrans = 0;
      let sent = 0;
      let recv = 0;
      for (const conn of connections()) {
        const s = conn.stats();
        count++;
        // 0 is "no RTT sample yet" (handshake in flight): it would drag min and avg to 0.
        if (s.rttUs > 0) {
          rttCount++;
          rttSum += s.rttUs;
          rttMin = Math.min(rttMin, s.rttUs);
          rttMax = Math.max(rttMax, s.rttUs);
        }
        cwnd += s.cwnd;
        lost += s.lost;
        retrans += s.retrans;
        sent += s.sent;
        recv += s.recv;
      }
      return available({
        connections: count,
        rttUs: rttCount === 0 ? null : { min: rttMin, avg: rttSum / rttCount, max: rttMax },
        cwndBytes: cwnd,
        lostPackets: lost,
        retransmittedPackets: retrans,
        sentPackets: sent,
        receivedPackets: recv,
      });
    },
  };
}
