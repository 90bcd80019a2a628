// SPDX-License-Identifier: Apache-2.0
// Endpoint-wide counters, exposed through transport.stats() for @stoq/metrics.

export class EndpointCounters {
  rxDatagrams = 0;
  rxBytes = 0;
  txDatagrams = 0;
  txBytes = 0;
  /** Not a QUIC header at all (garbage, truncated). */
  rxUnparseable = 0;
  /** Parsed but for no connection we know, and not an acceptable Initial. */
  rxUnroutable = 0;
  /** Routed to a connection but quiche refused the packet. */
  rxRejected = 0;
  versionNegotiations = 0;
  retriesSent = 0;
  retryTokensRejected = 0;
  connectionsAccepted = 0;
  connectionsRefused = 0;
  connectionsClosed = 0;
  idleTimeouts = 0;

  snapshot(): EndpointStats {
    return { ...this };
  }
}

export type EndpointStats = { readonly [K in keyof EndpointCounters as EndpointCounters[K] extends number ? K : never]: number };
