// SPDX-License-Identifier: Apache-2.0
// Frames for the fuzzer, reproducible from a seed: valid Ethernet/VLAN/IPv6/
// extension-header/UDP/QUIC frames (plus IPv4, ARP and pure noise) that are then
// mutated where parsers are fragile — truncations, corrupted length fields,
// rewired header chains, random bytes. Each generated frame remembers where its
// fields are so mutations can aim at them.
import { ipv6ToBytes } from '../../src/index.js';
import { ETH_P, IPPROTO, QUIC_V1, QUIC_V2, arpRequest, ethernet, ipv4Udp, quicLong, quicShort, type LongType } from './frames.js';

/** sfc32: small, fast, seedable; good enough to spread mutations. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    for (let i = 0; i < 12; i++) this.u32();
  }
  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }
  /** 0..n-1 */
  int(n: number): number {
    return this.u32() % n;
  }
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

/** Where the interesting fields of a generated frame are (absent: not in this frame). */
interface Fields {
  ethertypes: number[]; // offsets of 16-bit ethertype/TPID fields
  ip6?: number;
  nextHeaders: number[]; // offsets of next-header bytes (IPv6 + each extension header)
  extLengths: number[]; // offsets of hdrlen bytes
  fragOffsets: number[]; // offsets of 16-bit fragment offset/M fields
  udp?: number;
  quic?: number;
}

interface Generated {
  frame: Buffer;
  fields: Fields;
}

const PORTS = [9292, 9292, 9292, 4433, 443, 53, 8443];
const EXT_TYPES = [IPPROTO.HOPOPTS, IPPROTO.ROUTING, IPPROTO.DSTOPTS, IPPROTO.FRAGMENT];
const UPPER = [IPPROTO.UDP, IPPROTO.UDP, IPPROTO.UDP, IPPROTO.UDP, IPPROTO.UDP, IPPROTO.UDP, IPPROTO.TCP, IPPROTO.ICMPV6, IPPROTO.NONE, 253];
const LONG_TYPES: LongType[] = ['initial', 'initial', 'handshake', '0rtt', 'retry'];
const SOURCES = ['fd00:1::2', 'fd00:1::3', 'fd00:2::9', '2001:db8::1'].map(ipv6ToBytes);
const SERVER = ipv6ToBytes('fd00:1::1');
/** Another address of the same host (local_addr set to SERVER: not ours). */
const OTHER_LOCAL = ipv6ToBytes('fd00:1::5');
const LOOPBACK = ipv6ToBytes('::1');

function quicPayload(rng: Rng): Buffer {
  switch (rng.int(6)) {
    case 0: return quicShort(1 + rng.int(1300));
    case 1: return rng.bytes(rng.int(80));
    default: {
      const version = rng.pick([QUIC_V1, QUIC_V1, QUIC_V2, 0, 0x1a2a3a4a]);
      const type = rng.pick(LONG_TYPES);
      const size = type === 'initial' ? 1150 + rng.int(150) : 1 + rng.int(1300);
      const cid = () => rng.bytes(rng.chance(0.9) ? rng.int(21) : 21 + rng.int(10));
      return quicLong({ type, version, size, dcid: cid(), scid: cid() });
    }
  }
}

/** A well-formed IPv6 frame: VLANs, extension headers, then UDP (mostly) or another upper layer. */
function ipv6Frame(rng: Rng): Generated {
  const vlans = rng.pick([[], [], [], [], [], [], [], [], [ETH_P.VLAN], [ETH_P.VLAN], [ETH_P.QINQ, ETH_P.VLAN], [ETH_P.VLAN, ETH_P.VLAN, ETH_P.VLAN]]);
  const chain = Array.from({ length: rng.pick([0, 0, 0, 0, 0, 1, 2, 3, 4, 5]) }, () => rng.pick(EXT_TYPES));
  const upper = rng.pick(UPPER);
  const body: Buffer[] = [];
  const fields: Fields = { ethertypes: [12, ...vlans.map((_, i) => 16 + 4 * i)], nextHeaders: [], extLengths: [], fragOffsets: [] };
  const ip = 14 + 4 * vlans.length;
  fields.ip6 = ip;
  fields.nextHeaders.push(ip + 6);
  let at = ip + 40;
  chain.forEach((type, i) => {
    const next = i + 1 < chain.length ? chain[i + 1]! : upper;
    if (type === IPPROTO.FRAGMENT) {
      const h = Buffer.alloc(8);
      h[0] = next;
      const offset = rng.chance(0.8) ? 0 : rng.int(8192);
      h.writeUInt16BE((offset << 3) | (rng.chance(0.2) ? 1 : 0), 2);
      fields.fragOffsets.push(at + 2);
      body.push(h);
    } else {
      const len = rng.int(3);
      const h = Buffer.alloc((len + 1) * 8);
      h[0] = next;
      h[1] = len;
      // PadN; a routing header: routing type 1, or now and then RPL (3) / SRH (4),
      // which the kernel drops unless enabled on the interface.
      h[2] = type === IPPROTO.ROUTING && rng.chance(0.3) ? rng.pick([3, 4]) : 1;
      // Routing header: segments left, 1 for the longest (not at its final hop) else 0.
      h[3] = type === IPPROTO.ROUTING ? Number(len === 2) : h.length - 4;
      fields.extLengths.push(at + 1);
      body.push(h);
    }
    fields.nextHeaders.push(at);
    at += body[body.length - 1]!.length;
  });
  if (upper === IPPROTO.UDP) {
    const payload = quicPayload(rng);
    const h = Buffer.alloc(8);
    h.writeUInt16BE(rng.pick([40000, 443, 9292]), 0);
    h.writeUInt16BE(rng.chance(0.05) ? rng.int(65536) : rng.pick(PORTS), 2);
    h.writeUInt16BE(8 + payload.length, 4);
    fields.udp = at;
    fields.quic = at + 8;
    body.push(h, payload);
  } else {
    body.push(rng.bytes(rng.int(64)));
  }
  const payload = Buffer.concat(body);
  const h6 = Buffer.alloc(40);
  h6.writeUInt32BE(0x60000000, 0);
  h6.writeUInt16BE(payload.length, 4);
  h6[6] = chain[0] ?? upper;
  h6[7] = 64;
  // Mostly a few hot /64s (so token buckets run dry), sometimes anyone.
  // Now and then ::1 (source or destination), which the kernel drops off lo; one in ten
  // to another address of the host.
  (rng.chance(0.8) ? rng.pick(SOURCES) : rng.chance(0.05) ? LOOPBACK : rng.bytes(16)).copy(h6, 8);
  const to = rng.int(100);
  (to === 0 ? LOOPBACK : to <= 10 ? OTHER_LOCAL : SERVER).copy(h6, 24);
  return { frame: ethernet(ETH_P.IPV6, Buffer.concat([h6, payload]), vlans), fields };
}

function otherFrame(rng: Rng): Generated {
  const none: Fields = { ethertypes: [12], nextHeaders: [], extLengths: [], fragOffsets: [] };
  switch (rng.int(4)) {
    case 0: return { frame: ethernet(ETH_P.IPV4, ipv4Udp(rng.pick(PORTS), rng.int(200))), fields: none };
    case 1: return { frame: ethernet(ETH_P.ARP, arpRequest()), fields: none };
    case 2: return { frame: ethernet(ETH_P.LLDP, rng.bytes(46)), fields: none };
    default: return { frame: rng.bytes(14 + rng.int(300)), fields: none };
  }
}

function mutateOnce(rng: Rng, f: Buffer, fields: Fields): Buffer {
  const at16 = (o: number | undefined, v: number) => {
    if (o !== undefined && o + 2 <= f.length) f.writeUInt16BE(v & 0xffff, o);
  };
  switch (rng.int(10)) {
    case 0: // truncate anywhere (XDP never sees under 14 bytes)
      return f.subarray(0, 14 + rng.int(Math.max(1, f.length - 13)));
    case 1: // truncate near a header boundary
      return f.subarray(0, Math.max(14, rng.pick([fields.ip6, fields.udp, fields.quic, f.length]) ?? f.length) + rng.int(9) - 4);
    case 2: // IPv6 payload length off by a little or a lot
      if (fields.ip6 !== undefined && fields.ip6 + 6 <= f.length) at16(fields.ip6 + 4, rng.chance(0.5) ? f.readUInt16BE(fields.ip6 + 4) + rng.int(17) - 8 : rng.int(65536));
      return f;
    case 3: // UDP length
      if (fields.udp !== undefined && fields.udp + 6 <= f.length) at16(fields.udp + 4, rng.chance(0.5) ? f.readUInt16BE(fields.udp + 4) + rng.int(17) - 8 : rng.int(65536));
      return f;
    case 4: { // rewire the header chain
      const o = fields.nextHeaders.length ? rng.pick(fields.nextHeaders) : undefined;
      if (o !== undefined && o < f.length) f[o] = rng.chance(0.8) ? rng.pick([...EXT_TYPES, ...UPPER]) : rng.int(256);
      return f;
    }
    case 5: { // extension header length or fragment offset/M
      if (fields.extLengths.length && rng.chance(0.5)) {
        const o = rng.pick(fields.extLengths);
        if (o < f.length) f[o] = rng.chance(0.5) ? rng.int(4) : rng.int(256);
      } else if (fields.fragOffsets.length) {
        at16(rng.pick(fields.fragOffsets), rng.int(65536));
      }
      return f;
    }
    case 6: { // QUIC first byte, version, CID lengths
      if (fields.quic === undefined) return f;
      const o = fields.quic + rng.pick([0, 0, 1, 4, 5, 5]);
      if (o < f.length) f[o] = o === fields.quic + 5 ? rng.int(40) : rng.int(256);
      return f;
    }
    case 7: // ethertype / TPID
      at16(rng.pick(fields.ethertypes), rng.pick([ETH_P.IPV6, ETH_P.IPV4, ETH_P.VLAN, ETH_P.QINQ, ETH_P.ARP, rng.int(65536)]));
      return f;
    case 8: { // a run of random bytes
      const start = rng.int(f.length);
      rng.bytes(Math.min(1 + rng.int(8), f.length - start)).copy(f, start);
      return f;
    }
    default: // append padding or garbage
      return Buffer.concat([f, rng.chance(0.5) ? Buffer.alloc(rng.int(64)) : rng.bytes(rng.int(64))]);
  }
}

/** One fuzz frame: mostly structure-aware mutations of valid frames, some untouched, some noise. */
export function fuzzFrame(rng: Rng): Buffer {
  const g = rng.chance(0.9) ? ipv6Frame(rng) : otherFrame(rng);
  let f = Buffer.from(g.frame);
  const mutations = rng.pick([0, 0, 0, 1, 1, 1, 2, 3, 4]);
  for (let i = 0; i < mutations; i++) f = Buffer.from(mutateOnce(rng, f, g.fields));
  if (f.length < 14) f = Buffer.concat([f, Buffer.alloc(14 - f.length)]);
  return f;
}
