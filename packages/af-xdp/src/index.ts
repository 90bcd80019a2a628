// SPDX-License-Identifier: Apache-2.0
// @stoq/af-xdp: AF_XDP sockets for Node.js with batched, copy-free packet I/O.
export { Umem } from './umem.js';
export { XskSocket, type BoundMode, type XskSocketOptions, type XskStatistics } from './socket.js';
export { RxBatch, TxBatch } from './batch.js';
export { openPinnedMap } from './pinned.js';
export { watchIpv6Addresses, type Ipv6AddressWatch } from './address-watch.js';
export { lookupNeighbour6, lookupRoute6, touchNeighbour6, type Ipv6Neighbour, type Ipv6Route, type LookupRoute6Options, type NeighbourState, type RouteType } from './route.js';
export { XskError, errnoName, type XskErrorCode, type XskErrorDetails } from './errors.js';
export type { BusyPollOptions, UmemLayout, UmemOptions, XskMode } from './options.js';
export type { NativeStatistics } from './binding.js';
export * from './frame/index.js';
