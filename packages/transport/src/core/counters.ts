// SPDX-License-Identifier: Apache-2.0
// Endpoint-wide counters, exposed through transport.stats() for @stoq/metrics.

/** Live endpoint-wide counters of an {@link EndpointCore}; they only grow. Read a copy with {@link EndpointCounters.snapshot}. */
export class EndpointCounters {
  /** UDP datagrams fed to the endpoint. */
  rxDatagrams = 0;
  /** UDP payload bytes fed to the endpoint. */
  rxBytes = 0;
  /** UDP datagrams produced by connections (stateless replies are not counted). */
  txDatagrams = 0;
  /** UDP payload bytes produced by connections. */
  txBytes = 0;
  /** Not a QUIC header at all (garbage, truncated). */
  rxUnparseable = 0;
  /** Parsed but for no connection we know, and not an acceptable Initial. */
  rxUnroutable = 0;
  /** Routed to a connection but quiche refused the packet. */
  rxRejected = 0;
  /** Version Negotiation packets sent for Initials of an unsupported QUIC version. */
  versionNegotiations = 0;
  /** Retry packets sent (with `retry: true`). */
  retriesSent = 0;
  /** Initials dropped because their Retry token was invalid, expired or for another address. */
  retryTokensRejected = 0;
  /** Server connections accepted within `limits.maxConnections`. */
  connectionsAccepted = 0;
  /** Server connections refused for the connection limit (closed with CONNECTION_REFUSED, or dropped silently). */
  connectionsRefused = 0;
  /** Connections gone (both roles, refused ones included). */
  connectionsClosed = 0;
  /** Connections that closed on their idle timeout. */
  idleTimeouts = 0;
  /** sendDatagram() calls refused because quiche's datagram send queue was full (sendDatagram returned false). */
  datagramsRefused = 0;

  /** A plain copy of every counter. */
  snapshot(): EndpointStats {
    return { ...this };
  }
}

/** A snapshot of {@link EndpointCounters}: every counter as a read-only number (`transport.stats().endpoint`). */
export type EndpointStats = { readonly [K in keyof EndpointCounters as EndpointCounters[K] extends number ? K : never]: number };
