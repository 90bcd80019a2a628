// SPDX-License-Identifier: Apache-2.0
// Builds Ethernet [+VLAN] + IPv6 + UDP frames into a caller-provided view (e.g. a
// UMEM frame) and returns the frame length. No allocation per frame.
import { invalidArgument } from '../errors.js';
import { udp6Checksum } from './checksum.js';
import { ETH_HEADER, ETHERTYPE_IPV6, ETHERTYPE_VLAN, IPPROTO_UDP, IPV6_HEADER, UDP_HEADER, VLAN_TAG } from './layout.js';

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

function checkSpec(spec: Udp6FrameSpec): void {
  const op = 'buildUdp6Frame';
  if (spec.srcMac.length !== 6 || spec.dstMac.length !== 6) throw invalidArgument(op, `${op}: MAC addresses are 6 bytes`);
  if (spec.srcAddress.length !== 16 || spec.dstAddress.length !== 16) throw invalidArgument(op, `${op}: IPv6 addresses are 16 bytes`);
  for (const port of [spec.srcPort, spec.dstPort]) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalidArgument(op, `${op}: bad port ${port}`);
  }
  const vlans = spec.vlans ?? [];
  if (vlans.length > 2) throw invalidArgument(op, `${op}: at most two VLAN tags`);
  for (const v of vlans) {
    if (!Number.isInteger(v.vid) || v.vid < 0 || v.vid > 4095 || (v.pcp ?? 0) < 0 || (v.pcp ?? 0) > 7) {
      throw invalidArgument(op, `${op}: bad VLAN tag ${JSON.stringify(v)}`);
    }
  }
}

/**
 * Writes all headers for a UDP payload of `payloadLength` bytes that is already in
 * place at `out[udp6HeaderLength(spec)]`, computes the checksum, returns the frame length.
 */
export function finishUdp6Frame(out: Uint8Array, spec: Udp6FrameSpec, payloadLength: number): number {
  checkSpec(spec);
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
  const headerLength = udp6HeaderLength(spec);
  if (headerLength + payload.length > out.length) {
    throw invalidArgument('buildUdp6Frame', `buildUdp6Frame: frame of ${headerLength + payload.length} bytes does not fit in ${out.length}`);
  }
  out.set(payload, headerLength);
  return finishUdp6Frame(out, spec, payload.length);
}
