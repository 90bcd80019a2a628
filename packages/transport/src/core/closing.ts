// SPDX-License-Identifier: Apache-2.0
// Bounds on a connection's closing state (RFC 9000 §10.2.1): between close() and the
// moment quiche's CONNECTION_CLOSE goes out (quiche is then draining and times out on
// its own). quiche 0.18 puts an application close only in a 1-RTT packet and drops every
// packet once closing, so a close made before the handshake is confirmed never goes out:
// it kept producing Handshake-space packets without it (seen at ~100k pps with data in
// flight) that the peer, having dropped its Handshake keys, could not read.
// CoreConnection.closeApplication defers such a close until the server's first 1-RTT
// packet; these bounds pace whatever still gets stuck and give it up.
import type { QuicheConnection } from './quiche.js';

/** Datagrams a closing connection may send per wake-up (a received packet or a timer), like RFC 9000's rate-limited closing replies. */
export const CLOSING_BURST = 2;
/** quiche's max_ack_delay default, ms (part of the PTO). */
const MAX_ACK_DELAY_MS = 25;
/** Floor and ceiling of the closing state, ms: 3×PTO on loopback is a few ms, and a loaded process must not give up a close still waiting for HANDSHAKE_DONE. */
const CLOSING_MIN_MS = 1000;
const CLOSING_MAX_MS = 3000;

/**
 * How long a connection may stay closing without its CONNECTION_CLOSE going out: 3×PTO
 * (RFC 9000 §10.2), PTO estimated as srtt + 4·(srtt/2) + max_ack_delay since the binding
 * exposes no rttvar, within 1..3 s.
 */
export function closingLimitMs(q: QuicheConnection): number {
  let srtt = 0;
  try {
    const paths = q.pathStats();
    srtt = (paths.find((p) => p.active) ?? paths[0])?.rtt ?? 0;
  } catch {
    // No path stats (connection already gone): the floor applies.
  }
  const pto = 3 * srtt + MAX_ACK_DELAY_MS;
  return Math.min(CLOSING_MAX_MS, Math.max(CLOSING_MIN_MS, 3 * pto));
}
