// SPDX-License-Identifier: Apache-2.0
export { bytesToIpv6, bytesToMac, ipv6ToBytes, macToBytes } from './address.js';
export { buildUdp6Frame, finishUdp6Frame, udp6HeaderLength, type Udp6FrameSpec, type VlanTag } from './build.js';
export { fold, sumWords, udp6Checksum } from './checksum.js';
export * from './layout.js';
export { parseUdp6Frame, ParsedUdp6Frame, udp6ChecksumValid, type ParseFailure } from './parse.js';
