// SPDX-License-Identifier: Apache-2.0
// Parses Ethernet [+ up to two VLAN tags] / IPv6 [+ extension headers] / UDP into a
// reusable result object. Never throws on packet content: a bad frame yields
// ok = false and a reason, so one bad packet cannot break a receive loop.
import { fold, sumWords } from './checksum.js';
import {
  ETH_HEADER, ETHERTYPE_IPV6, ETHERTYPE_QINQ, ETHERTYPE_VLAN, IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS,
  IPPROTO_ROUTING, IPPROTO_UDP, IPV6_HEADER, MAX_EXTENSION_HEADERS, MAX_VLAN_TAGS, UDP_HEADER, VLAN_TAG,
} from './layout.js';

/** Why `parseUdp6Frame` rejected a frame (in `ParsedUdp6Frame.failure`). */
export type ParseFailure =
  | 'truncated-ethernet'
  | 'truncated-vlan'
  | 'too-many-vlans'
  | 'not-ipv6'
  | 'truncated-ipv6'
  | 'bad-ip-version'
  | 'ipv6-length-mismatch'
  | 'truncated-extension-header'
  | 'too-many-extension-headers'
  | 'fragment' // a fragment needing reassembly (an atomic fragment is parsed through)
  | 'not-udp'
  | 'truncated-udp'
  | 'udp-length-mismatch'
  | 'bad-checksum';

/** Offsets are relative to the parsed view. Reuse one instance across packets. */
export class ParsedUdp6Frame {
  /** Whether the last parse succeeded (the fields below are valid only then). */
  ok = false;
  /** Why the last parse failed; null after a success. */
  failure: ParseFailure | null = null;
  /** VLAN tags found, 0..2. */
  vlanCount = 0;
  /** VLAN ids, outer first (valid up to vlanCount). */
  readonly vlanIds = new Uint16Array(MAX_VLAN_TAGS);
  /** TPIDs of those tags (0x8100 or 0x88a8), outer first. */
  readonly vlanTpids = new Uint16Array(MAX_VLAN_TAGS);
  /** Offset of the IPv6 header. */
  ipv6Offset = 0;
  /** Offset of the 16-byte source address. */
  srcAddressOffset = 0;
  /** Offset of the 16-byte destination address. */
  dstAddressOffset = 0;
  /** IPv6 hop limit. */
  hopLimit = 0;
  /** IPv6 traffic class. */
  trafficClass = 0;
  /** IPv6 flow label. */
  flowLabel = 0;
  /** Offset of the UDP header (after any extension headers). */
  udpOffset = 0;
  /** UDP source port. */
  srcPort = 0;
  /** UDP destination port. */
  dstPort = 0;
  /** The checksum field as received. */
  checksum = 0;
  /** Offset of the UDP payload. */
  payloadOffset = 0;
  /** UDP payload bytes (from the UDP length field). */
  payloadLength = 0;

  /** Frame length covered by the headers' lengths (Ethernet padding excluded). */
  get frameLength(): number {
    return this.payloadOffset + this.payloadLength;
  }
}

/** Fragment offset (13 bits) and M flag of a fragment header's second 16-bit word. */
const FRAGMENT_OFFSET_AND_MORE = 0xfff9;

function fail(result: ParsedUdp6Frame, failure: ParseFailure): false {
  result.ok = false;
  result.failure = failure;
  return false;
}

/**
 * Parses `frame` into `result`. With `verifyChecksum` the UDP checksum is checked
 * too (it costs a pass over the payload). Returns result.ok.
 */
export function parseUdp6Frame(frame: Uint8Array, result: ParsedUdp6Frame, verifyChecksum = false): boolean {
  const len = frame.length;
  result.vlanCount = 0;
  result.failure = null;
  if (len < ETH_HEADER) return fail(result, 'truncated-ethernet');
  let o = 12;
  let ethertype = (frame[o]! << 8) | frame[o + 1]!;
  while (ethertype === ETHERTYPE_VLAN || ethertype === ETHERTYPE_QINQ) {
    if (result.vlanCount === MAX_VLAN_TAGS) return fail(result, 'too-many-vlans');
    if (len < o + 2 + VLAN_TAG) return fail(result, 'truncated-vlan');
    result.vlanTpids[result.vlanCount] = ethertype;
    result.vlanIds[result.vlanCount] = ((frame[o + 2]! << 8) | frame[o + 3]!) & 0x0fff;
    result.vlanCount++;
    o += VLAN_TAG;
    ethertype = (frame[o]! << 8) | frame[o + 1]!;
  }
  if (ethertype !== ETHERTYPE_IPV6) return fail(result, 'not-ipv6');
  const ip = o + 2;
  if (len < ip + IPV6_HEADER) return fail(result, 'truncated-ipv6');
  if (frame[ip]! >> 4 !== 6) return fail(result, 'bad-ip-version');
  const ipPayloadLength = (frame[ip + 4]! << 8) | frame[ip + 5]!;
  const ipEnd = ip + IPV6_HEADER + ipPayloadLength;
  // Longer is Ethernet padding; shorter means the packet was cut.
  if (ipEnd > len) return fail(result, 'ipv6-length-mismatch');
  result.ipv6Offset = ip;
  result.trafficClass = ((frame[ip]! & 0x0f) << 4) | (frame[ip + 1]! >> 4);
  result.flowLabel = ((frame[ip + 1]! & 0x0f) << 16) | (frame[ip + 2]! << 8) | frame[ip + 3]!;
  result.hopLimit = frame[ip + 7]!;
  result.srcAddressOffset = ip + 8;
  result.dstAddressOffset = ip + 24;

  let next = frame[ip + 6]!;
  let h = ip + IPV6_HEADER;
  for (let n = 0; next !== IPPROTO_UDP; n++) {
    const fragment = next === IPPROTO_FRAGMENT;
    if (!fragment && next !== IPPROTO_HOPOPTS && next !== IPPROTO_ROUTING && next !== IPPROTO_DSTOPTS) return fail(result, 'not-udp');
    if (n === MAX_EXTENSION_HEADERS) return fail(result, 'too-many-extension-headers');
    if (ipEnd < h + 8) return fail(result, 'truncated-extension-header');
    // An atomic fragment (offset 0, no more fragments; RFC 6946) is the whole datagram, as
    // stoq_xdp and the kernel treat it: skip its 8 bytes. A real fragment needs reassembly.
    if (fragment && (((frame[h + 2]! << 8) | frame[h + 3]!) & FRAGMENT_OFFSET_AND_MORE) !== 0) return fail(result, 'fragment');
    const extLength = fragment ? 8 : (frame[h + 1]! + 1) * 8;
    if (ipEnd < h + extLength) return fail(result, 'truncated-extension-header');
    next = frame[h]!;
    h += extLength;
  }
  if (ipEnd < h + UDP_HEADER) return fail(result, 'truncated-udp');
  const udpLength = (frame[h + 4]! << 8) | frame[h + 5]!;
  if (udpLength < UDP_HEADER || h + udpLength !== ipEnd) return fail(result, 'udp-length-mismatch');
  result.udpOffset = h;
  result.srcPort = (frame[h]! << 8) | frame[h + 1]!;
  result.dstPort = (frame[h + 2]! << 8) | frame[h + 3]!;
  result.checksum = (frame[h + 6]! << 8) | frame[h + 7]!;
  result.payloadOffset = h + UDP_HEADER;
  result.payloadLength = udpLength - UDP_HEADER;
  if (verifyChecksum && !udp6ChecksumValid(frame, result)) return fail(result, 'bad-checksum');
  result.ok = true;
  return true;
}

/** True when the UDP checksum of a parsed frame is right (0 is invalid over IPv6). */
export function udp6ChecksumValid(frame: Uint8Array, parsed: ParsedUdp6Frame): boolean {
  if (parsed.checksum === 0) return false;
  // Summing everything including the checksum field gives 0xffff when it is right.
  const udpLength = parsed.payloadLength + UDP_HEADER;
  let sum = sumWords(frame, parsed.srcAddressOffset, parsed.srcAddressOffset + 16);
  sum = sumWords(frame, parsed.dstAddressOffset, parsed.dstAddressOffset + 16, sum);
  sum = sumWords(frame, parsed.udpOffset, parsed.udpOffset + udpLength, sum + udpLength + IPPROTO_UDP);
  return fold(sum) === 0xffff;
}
