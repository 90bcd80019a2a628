// SPDX-License-Identifier: Apache-2.0
// A small frame builder for fixtures: Ethernet (+VLAN), IPv4, IPv6 (+extension
// headers, fragments), UDP, TCP, ICMPv6, ARP and QUIC long/short headers.
import { ipv6ToBytes } from '../../src/index.js';

export const ETH_P = { IPV4: 0x0800, ARP: 0x0806, IPV6: 0x86dd, VLAN: 0x8100, QINQ: 0x88a8, LLDP: 0x88cc } as const;
export const IPPROTO = { HOPOPTS: 0, TCP: 6, UDP: 17, ROUTING: 43, FRAGMENT: 44, ICMPV6: 58, NONE: 59, DSTOPTS: 60 } as const;
export const QUIC_V1 = 0x00000001;
export const QUIC_V2 = 0x6b3343cf;

const DST_MAC = Buffer.from('02000000000b', 'hex');
const SRC_MAC = Buffer.from('02000000000a', 'hex');
export const CLIENT = 'fd00:1::2';
export const SERVER = 'fd00:1::1';

export function ethernet(ethertype: number, payload: Uint8Array, vlanTpids: readonly number[] = []): Buffer {
  const tags = vlanTpids.map((tpid, i) => {
    const t = Buffer.alloc(4);
    // Each tag's TPID is written by the previous header; here we write TCI + inner type.
    t.writeUInt16BE(100 + i, 0);
    t.writeUInt16BE(i + 1 < vlanTpids.length ? vlanTpids[i + 1]! : ethertype, 2);
    return t;
  });
  const head = Buffer.alloc(14);
  DST_MAC.copy(head, 0);
  SRC_MAC.copy(head, 6);
  head.writeUInt16BE(vlanTpids.length ? vlanTpids[0]! : ethertype, 12);
  return Buffer.concat([head, ...tags, payload]);
}

export interface ExtHeader {
  type: number;
  /** Fragment header fields (type 44). */
  fragmentOffset?: number;
  moreFragments?: boolean;
  /** Length in 8-byte units beyond the first 8 (hop-by-hop, routing, dest opts). */
  hdrLen?: number;
  /** Routing header (type 43): hops still to visit (default 0: this node is the last). */
  segmentsLeft?: number;
  /** Routing header (type 43): routing type (default 253, for experiments, RFC 4727). */
  routingType?: number;
}

function encodeExtHeaders(chain: readonly ExtHeader[], upper: number): { bytes: Buffer; first: number } {
  const parts: Buffer[] = [];
  chain.forEach((h, i) => {
    const next = i + 1 < chain.length ? chain[i + 1]!.type : upper;
    if (h.type === IPPROTO.FRAGMENT) {
      const b = Buffer.alloc(8);
      b[0] = next;
      b.writeUInt16BE(((h.fragmentOffset ?? 0) << 3) | (h.moreFragments ? 1 : 0), 2);
      b.writeUInt32BE(0x1234, 4);
      parts.push(b);
    } else {
      const len = h.hdrLen ?? 0;
      const b = Buffer.alloc((len + 1) * 8);
      b[0] = next;
      b[1] = len;
      if (h.type === IPPROTO.ROUTING) {
        b[2] = h.routingType ?? 253; // default: routing type for experiments (RFC 4727)
        b[3] = h.segmentsLeft ?? 0;
      } else {
        b[2] = 1; // PadN option filling the rest
        b[3] = b.length - 4;
      }
      parts.push(b);
    }
  });
  return { bytes: Buffer.concat(parts), first: chain.length ? chain[0]!.type : upper };
}

export interface Ipv6Options {
  src?: string;
  dst?: string;
  nextHeader: number;
  payload: Uint8Array;
  ext?: readonly ExtHeader[];
  /** Claimed payload length, when a fixture lies about it. */
  payloadLength?: number;
}

export function ipv6(o: Ipv6Options): Buffer {
  const ext = encodeExtHeaders(o.ext ?? [], o.nextHeader);
  const body = Buffer.concat([ext.bytes, o.payload]);
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x60000000, 0);
  h.writeUInt16BE(o.payloadLength ?? body.length, 4);
  h[6] = ext.first;
  h[7] = 64;
  ipv6ToBytes(o.src ?? CLIENT).copy(h, 8);
  ipv6ToBytes(o.dst ?? SERVER).copy(h, 24);
  return Buffer.concat([h, body]);
}

export function ipv4Udp(dport: number, payloadLen = 32): Buffer {
  const payload = udp({ dport, payload: Buffer.alloc(payloadLen, 0x41) });
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payload.length, 2);
  h[8] = 64;
  h[9] = IPPROTO.UDP;
  Buffer.from([198, 18, 0, 2, 198, 18, 0, 1]).copy(h, 12);
  return Buffer.concat([h, payload]);
}

export interface UdpOptions {
  sport?: number;
  dport: number;
  payload: Uint8Array;
  /** Claimed UDP length, when a fixture lies about it. */
  length?: number;
}

export function udp(o: UdpOptions): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(o.sport ?? 40000, 0);
  h.writeUInt16BE(o.dport, 2);
  h.writeUInt16BE(o.length ?? 8 + o.payload.length, 4);
  return Buffer.concat([h, o.payload]);
}

export function tcpSyn(dport: number): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(40000, 0);
  h.writeUInt16BE(dport, 2);
  h[12] = 5 << 4;
  h[13] = 0x02;
  return h;
}

/** ICMPv6 neighbour solicitation for SERVER. */
export function icmpv6NeighbourSolicitation(): Buffer {
  const b = Buffer.alloc(24);
  b[0] = 135;
  ipv6ToBytes(SERVER).copy(b, 8);
  return b;
}

export function arpRequest(): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16BE(1, 0);
  b.writeUInt16BE(ETH_P.IPV4, 2);
  b[4] = 6;
  b[5] = 4;
  b.writeUInt16BE(1, 6);
  return b;
}

export type LongType = 'initial' | '0rtt' | 'handshake' | 'retry';
const V1_TYPE_BITS: Record<LongType, number> = { initial: 0, '0rtt': 1, handshake: 2, retry: 3 };
const V2_TYPE_BITS: Record<LongType, number> = { retry: 0, initial: 1, '0rtt': 2, handshake: 3 };

export interface LongHeaderOptions {
  type: LongType;
  version?: number;
  dcid?: Uint8Array;
  scid?: Uint8Array;
  /** Total UDP payload size; padded with zeros (PADDING frames would be encrypted anyway). */
  size: number;
}

export function quicLong(o: LongHeaderOptions): Buffer {
  const version = o.version ?? QUIC_V1;
  const bits = version === QUIC_V2 ? V2_TYPE_BITS[o.type] : V1_TYPE_BITS[o.type];
  const dcid = o.dcid ?? Buffer.from('0011223344556677', 'hex');
  const scid = o.scid ?? Buffer.from('8899aabb', 'hex');
  const head = Buffer.concat([
    Buffer.from([0xc0 | (bits << 4)]),
    Buffer.from([version >>> 24, (version >>> 16) & 0xff, (version >>> 8) & 0xff, version & 0xff]),
    Buffer.from([dcid.length]), dcid, Buffer.from([scid.length]), scid,
  ]);
  return Buffer.concat([head, Buffer.alloc(Math.max(0, o.size - head.length))]).subarray(0, Math.max(o.size, head.length));
}

export function quicShort(size = 60): Buffer {
  const b = Buffer.alloc(size, 0x5a);
  b[0] = 0x40 | 0x01;
  return b;
}

export interface Udp6FrameOptions {
  dport?: number;
  sport?: number;
  src?: string;
  dst?: string;
  payload: Uint8Array;
  ext?: readonly ExtHeader[];
  vlans?: readonly number[];
  udpLength?: number;
  payloadLength?: number;
}

/** Ethernet + IPv6 + UDP to port 9292 by default. */
export function udp6Frame(o: Udp6FrameOptions): Buffer {
  const dgram = udp({ dport: o.dport ?? 9292, payload: o.payload, ...(o.sport ? { sport: o.sport } : {}), ...(o.udpLength !== undefined ? { length: o.udpLength } : {}) });
  return ethernet(ETH_P.IPV6, ipv6({ nextHeader: IPPROTO.UDP, payload: dgram, ...(o.src ? { src: o.src } : {}), ...(o.dst ? { dst: o.dst } : {}), ...(o.ext ? { ext: o.ext } : {}), ...(o.payloadLength !== undefined ? { payloadLength: o.payloadLength } : {}) }), o.vlans);
}
