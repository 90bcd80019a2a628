// SPDX-License-Identifier: Apache-2.0
// @stoq/udp: Linux UDP socket options node:dgram does not expose (UDP GSO first).
export { UDP_MAX_PAYLOAD, UDP_MAX_SEGMENTS, getUdpSegmentSize, probeUdpGso, setUdpSegmentSize, udpGsoSupported, type UdpGsoProbe } from './gso.js';
export { StoqUdpError, errnoName, type StoqUdpErrorCode, type StoqUdpErrorDetails } from './errors.js';
