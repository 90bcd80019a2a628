// SPDX-License-Identifier: Apache-2.0
export { StoqTransport } from './api/transport.js';
export type { ConnectOptions, TransportStats, StoqTransportEvents } from './api/transport.js';
export { StoqConnection } from './api/connection.js';
export type { OpenStreamOptions, StoqConnectionEvents } from './api/connection.js';
export type { ConnectionStats } from './api/stats.js';
export type { TransportConfig, TlsConfig, LimitsConfig, DatapathChoice, CongestionControl, Pem } from './config.js';
export type { EbpfStatus } from './datapath/select.js';
export type { Datapath, DatapathKind, DatapathStats, OutgoingDatagram, ReceivedDatagram, ReceiveHandler } from './datapath/datapath.js';
export { DgramDatapath } from './datapath/dgram-datapath.js';
export { EndpointCore, CoreConnection, CID_LEN } from './core/endpoint-core.js';
export type { CoreEvent, Transmit } from './core/endpoint-core.js';
export type { EndpointStats } from './core/counters.js';
export { createSelfSignedCertificate } from './tls/self-signed.js';
export type { SelfSignedOptions, SelfSignedCertificate } from './tls/self-signed.js';
export { parseTarget, formatAddress, DEFAULT_PORT } from './address.js';
export type { SocketAddress } from './address.js';
export { channels as diagnosticsChannels } from './diagnostics.js';
export * from './errors.js';
