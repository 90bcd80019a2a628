// SPDX-License-Identifier: Apache-2.0
// Builds Ethernet [+VLAN] + IPv6 + UDP frames into a caller-provided view (e.g. a
// UMEM frame) and returns the frame length. No allocation per frame.
import { invalidArgument } from '../errors.js';
import { udp6Checksum } from './checksum.js';
import { ETH_HEADER, ETHERTYPE_IPV6, ETHERTYPE_QINQ, ETHERTYPE_VLAN, IPPROTO_UDP, IPV6_HEADER, UDP_HEADER, VLAN_TAG } from './layout.js';

/** One 802.1Q / 802.1ad tag to put in front of the IPv6 header. */
export interface VlanTag {
  /** 0x8100 (802.1Q, default) or 0x88a8 (802.1ad outer tag). */
  tpid?: number;
  /** VLAN id, 0..4095. */
  vid: number;
  /** Priority code point, 0..7 (default 0). */
  pcp?: number;
}

/** Addresses and ports of a flow; build it once, reuse it for every frame. */
export interface Udp6FrameSpec {
  /** Source MAC, 6 bytes (see `macToBytes`). */
  srcMac: Uint8Array;
  /** Destination MAC, 6 bytes: the neighbour's, never guessed. */
  dstMac: Uint8Array;
  /** Outer tag first; at most two. */
  vlans?: readonly VlanTag[];
  /** Source IPv6 address, 16 bytes (see `ipv6ToBytes`). */
  srcAddress: Uint8Array;
  /** Destination IPv6 address, 16 bytes. */
  dstAddress: Uint8Array;
  /** UDP source port, 0..65535. */
  srcPort: number;
  /** UDP destination port, 0..65535. */
  dstPort: number;
  /** IPv6 hop limit (default 64). */
  hopLimit?: number;
  /** IPv6 traffic class, 8 bits (default 0). */
  trafficClass?: number;
  /** IPv6 flow label, 20 bits (default 0). */
  flowLabel?: number;
}

/** Bytes before the UDP payload: where to write the payload in place. */
export function udp6HeaderLength(spec: Udp6FrameSpec): number {
  return ETH_HEADER + (spec.vlans?.length ?? 0) * VLAN_TAG + IPV6_HEADER + UDP_HEADER;
}

const bytes = (v: unknown, n: number): boolean => v instanceof Uint8Array && v.length === n;
const inRange = (v: unknown, max: number): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max;

// Every field the builder writes is range-checked: a value that does not fit its bits
// would otherwise be masked or wrapped into a different, valid-looking frame.
function checkSpec(spec: Udp6FrameSpec): void {
  const op = 'buildUdp6Frame';
  if (typeof spec !== 'object' || spec === null) throw invalidArgument(op, `${op}: spec must be an object, got ${String(spec)}`);
  if (!bytes(spec.srcMac, 6) || !bytes(spec.dstMac, 6)) throw invalidArgument(op, `${op}: srcMac and dstMac must be 6-byte Uint8Arrays`, 'see macToBytes()');
  if (!bytes(spec.srcAddress, 16) || !bytes(spec.dstAddress, 16)) throw invalidArgument(op, `${op}: srcAddress and dstAddress must be 16-byte Uint8Arrays`, 'see ipv6ToBytes()');
  for (const port of [spec.srcPort, spec.dstPort]) {
    if (!inRange(port, 65535)) throw invalidArgument(op, `${op}: bad port ${String(port)}`);
  }
  if (spec.hopLimit !== undefined && !inRange(spec.hopLimit, 255)) throw invalidArgument(op, `${op}: hopLimit must be an integer in [0, 255], got ${String(spec.hopLimit)}`);
  if (spec.trafficClass !== undefined && !inRange(spec.trafficClass, 255)) throw invalidArgument(op, `${op}: trafficClass must be an integer in [0, 255], got ${String(spec.trafficClass)}`);
  if (spec.flowLabel !== undefined && !inRange(spec.flowLabel, 0xfffff)) throw invalidArgument(op, `${op}: flowLabel must be an integer in [0, 0xFFFFF], got ${String(spec.flowLabel)}`);
  const vlans = spec.vlans ?? [];
  if (!Array.isArray(vlans)) throw invalidArgument(op, `${op}: vlans must be an array of tags`);
  if (vlans.length > 2) throw invalidArgument(op, `${op}: at most two VLAN tags`);
  for (const v of vlans as readonly VlanTag[]) {
    const tpid = v?.tpid ?? ETHERTYPE_VLAN;
    if (!inRange(v?.vid, 4095) || (v.pcp !== undefined && !inRange(v.pcp, 7)) || (tpid !== ETHERTYPE_VLAN && tpid !== ETHERTYPE_QINQ)) {
      throw invalidArgument(op, `${op}: bad VLAN tag ${JSON.stringify(v)}`, 'vid 0..4095, pcp 0..7, tpid 0x8100 or 0x88a8');
    }
  }
}

/**
 * Writes all headers for a UDP payload of `payloadLength` bytes that is already in
 * place at `out[udp6HeaderLength(spec)]`, computes the checksum, returns the frame length.
 */
export function finishUdp6Frame(out: Uint8Array, spec: Udp6FrameSpec, payloadLength: number): number {
  checkSpec(spec);
  return writeHeaders(out, spec, payloadLength);
}

// finishUdp6Frame after checkSpec.
function writeHeaders(out: Uint8Array, spec: Udp6FrameSpec, payloadLength: number): number {
  if (!(out instanceof Uint8Array)) throw invalidArgument('buildUdp6Frame', 'buildUdp6Frame: out must be a Uint8Array');
  const headerLength = udp6HeaderLength(spec);
  const udpLength = UDP_HEADER + payloadLength;
  if (!Number.isInteger(payloadLength) || payloadLength < 0 || udpLength > 65535) {
    throw invalidArgument('buildUdp6Frame', `buildUdp6Frame: bad payload length ${payloadLength}`);
  }
  if (headerLength + payloadLength > out.length) {
    throw invalidArgument('buildUdp6Frame', `buildUdp6Frame: frame of ${headerLength + payloadLength} bytes does not fit in ${out.length}`);
  }
  out.set(spec.dstMac, 0);
  out.set(spec.srcMac, 6);
  let o = 12;
  for (const v of spec.vlans ?? []) {
    const tpid = v.tpid ?? ETHERTYPE_VLAN;
    const tci = ((v.pcp ?? 0) << 13) | v.vid;
    out[o] = tpid >> 8; out[o + 1] = tpid & 0xff; out[o + 2] = tci >> 8; out[o + 3] = tci & 0xff;
    o += VLAN_TAG;
  }
  out[o] = ETHERTYPE_IPV6 >> 8; out[o + 1] = ETHERTYPE_IPV6 & 0xff;
  const ip = o + 2;
  const tc = spec.trafficClass ?? 0;
  const flow = spec.flowLabel ?? 0;
  out[ip] = 0x60 | (tc >> 4);
  out[ip + 1] = ((tc & 0x0f) << 4) | ((flow >> 16) & 0x0f);
  out[ip + 2] = (flow >> 8) & 0xff;
  out[ip + 3] = flow & 0xff;
  out[ip + 4] = udpLength >> 8; out[ip + 5] = udpLength & 0xff; // payload length
  out[ip + 6] = IPPROTO_UDP;
  out[ip + 7] = spec.hopLimit ?? 64;
  out.set(spec.srcAddress, ip + 8);
  out.set(spec.dstAddress, ip + 24);
  const udp = ip + IPV6_HEADER;
  out[udp] = spec.srcPort >> 8; out[udp + 1] = spec.srcPort & 0xff;
  out[udp + 2] = spec.dstPort >> 8; out[udp + 3] = spec.dstPort & 0xff;
  out[udp + 4] = udpLength >> 8; out[udp + 5] = udpLength & 0xff;
  out[udp + 6] = 0; out[udp + 7] = 0;
  const sum = udp6Checksum(out, ip + 8, ip + 24, udp, udpLength);
  out[udp + 6] = sum >> 8; out[udp + 7] = sum & 0xff;
  return headerLength + payloadLength;
}

/** Copies `payload` after the headers and finishes the frame; returns its length. */
export function buildUdp6Frame(out: Uint8Array, spec: Udp6FrameSpec, payload: Uint8Array): number {
  checkSpec(spec);
  if (!(out instanceof Uint8Array) || !(payload instanceof Uint8Array)) throw invalidArgument('buildUdp6Frame', 'buildUdp6Frame: out and payload must be Uint8Arrays');
  const headerLength = udp6HeaderLength(spec);
  if (headerLength + payload.length > out.length) {
    throw invalidArgument('buildUdp6Frame', `buildUdp6Frame: frame of ${headerLength + payload.length} bytes does not fit in ${out.length}`);
  }
  out.set(payload, headerLength);
  return writeHeaders(out, spec, payload.length);
}
