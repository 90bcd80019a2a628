// SPDX-License-Identifier: Apache-2.0
// Property tests for the frame codec: build→parse roundtrip, checksum against an
// independent (BigInt, freshly assembled pseudo-header) computation, VLAN variants,
// truncation and garbage never throw and always say why.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildUdp6Frame, bytesToIpv6, finishUdp6Frame, fold, ipv6ToBytes, macToBytes, bytesToMac, ParsedUdp6Frame, parseUdp6Frame, sumWords, udp6ChecksumValid,
  udp6HeaderLength, type Udp6FrameSpec, XskError,
} from '../src/index.js';

/** One's-complement sum of big-endian 16-bit words of [start, end), folded, the obvious way. */
function referenceSum(view: Uint8Array, start: number, end: number, initial: number): number {
  let sum = BigInt(initial);
  let i = start;
  for (; i + 1 < end; i += 2) sum += BigInt((view[i]! << 8) | view[i + 1]!);
  if (i < end) sum += BigInt(view[i]! << 8);
  while (sum >> 16n) sum = (sum & 0xffffn) + (sum >> 16n);
  return Number(sum);
}

/** RFC 768/8200 checksum computed the slow, obvious way. */
function referenceChecksum(src: Uint8Array, dst: Uint8Array, udp: Uint8Array): number {
  const pseudo = Buffer.alloc(40);
  pseudo.set(src, 0);
  pseudo.set(dst, 16);
  pseudo.writeUInt32BE(udp.length, 32);
  pseudo[39] = 17;
  const all = Buffer.concat([pseudo, Buffer.from(udp), Buffer.alloc(udp.length % 2)]);
  let sum = 0n;
  for (let i = 0; i < all.length; i += 2) sum += BigInt(all.readUInt16BE(i));
  while (sum >> 16n) sum = (sum & 0xffffn) + (sum >> 16n);
  const result = Number(~sum & 0xffffn);
  return result === 0 ? 0xffff : result;
}

/**
 * Inserts IPv6 extension headers between the IPv6 header (at `ip`) and the UDP header of
 * a built frame: `{ frag: word }` is an 8-byte fragment header whose offset/M word is
 * `word`, `{ opts: type }` an 8-byte hop-by-hop/routing/destination-options header.
 */
function withExtensionHeaders(frame: Uint8Array, ip: number, chain: Array<{ frag: number } | { opts: number }>): Uint8Array {
  const out = new Uint8Array(frame.length + 8 * chain.length);
  out.set(frame.subarray(0, ip + 40), 0);
  let next = frame[ip + 6]!;
  for (let i = chain.length - 1; i >= 0; i--) {
    const h = ip + 40 + 8 * i;
    const e = chain[i]!;
    out[h] = next;
    if ('frag' in e) {
      out[h + 2] = e.frag >> 8;
      out[h + 3] = e.frag & 0xff;
      out.set([0xde, 0xad, 0xbe, 0xef], h + 4); // identification
      next = 44;
    } else {
      out.set([0, 1, 4, 0, 0, 0, 0], h + 1); // length 0 (8 bytes), PadN over the rest
      next = e.opts;
    }
  }
  out[ip + 6] = next;
  const payloadLength = ((frame[ip + 4]! << 8) | frame[ip + 5]!) + 8 * chain.length;
  out[ip + 4] = payloadLength >> 8;
  out[ip + 5] = payloadLength & 0xff;
  out.set(frame.subarray(ip + 40), ip + 40 + 8 * chain.length);
  return out;
}

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const vlan = fc.record({ tpid: fc.constantFrom(0x8100, 0x88a8), vid: fc.integer({ min: 0, max: 4095 }), pcp: fc.integer({ min: 0, max: 7 }) });
const spec: fc.Arbitrary<Udp6FrameSpec> = fc.record({
  srcMac: bytes(6), dstMac: bytes(6),
  vlans: fc.array(vlan, { maxLength: 2 }),
  srcAddress: bytes(16), dstAddress: bytes(16),
  srcPort: fc.integer({ min: 0, max: 65535 }), dstPort: fc.integer({ min: 0, max: 65535 }),
  hopLimit: fc.integer({ min: 0, max: 255 }), trafficClass: fc.integer({ min: 0, max: 255 }), flowLabel: fc.integer({ min: 0, max: 0xfffff }),
});
const payload = fc.uint8Array({ maxLength: 1400 });

describe('frame codec', () => {
  it('sumWords equals 16-bit big-endian addition at any alignment and length (its word-wise and byte-wise paths)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(7), fc.nat(3000), fc.nat(3000), fc.nat(0xffff), (data, shift, a, b, initial) => {
        // Views at every offset mod 8 in their buffer: odd, 2 mod 4 and 4-aligned starts.
        const view = new Uint8Array(data.length + 8).subarray(shift, shift + data.length);
        view.set(data);
        const start = Math.min(a, b, data.length);
        const end = Math.min(Math.max(a, b), data.length);
        expect(fold(sumWords(view, start, end, initial))).toBe(referenceSum(view, start, end, initial));
      }),
      { numRuns: 1000 },
    );
    // Past 2^20 32-bit words the word-wise sum folds on the way; all-0xff bytes stress it.
    const large = new Uint8Array(5 * 1024 * 1024 + 6).fill(0xff);
    expect(fold(sumWords(large, 2, large.length - 1))).toBe(referenceSum(large, 2, large.length - 1, 0));
  });

  it('build → parse roundtrips every field (with 0-2 VLAN tags)', () => {
    const parsed = new ParsedUdp6Frame();
    const out = new Uint8Array(2048);
    fc.assert(fc.property(spec, payload, (s, p) => {
      const length = buildUdp6Frame(out, s, p);
      expect(length).toBe(udp6HeaderLength(s) + p.length);
      const frame = out.subarray(0, length);
      expect(parseUdp6Frame(frame, parsed, true)).toBe(true);
      expect(parsed.failure).toBeNull();
      expect(parsed.vlanCount).toBe(s.vlans!.length);
      s.vlans!.forEach((v, i) => {
        expect(parsed.vlanIds[i]).toBe(v.vid);
        expect(parsed.vlanTpids[i]).toBe(v.tpid);
      });
      expect([...frame.subarray(0, 6)]).toEqual([...s.dstMac]);
      expect([...frame.subarray(6, 12)]).toEqual([...s.srcMac]);
      expect([...frame.subarray(parsed.srcAddressOffset, parsed.srcAddressOffset + 16)]).toEqual([...s.srcAddress]);
      expect([...frame.subarray(parsed.dstAddressOffset, parsed.dstAddressOffset + 16)]).toEqual([...s.dstAddress]);
      expect([parsed.srcPort, parsed.dstPort, parsed.hopLimit, parsed.trafficClass, parsed.flowLabel])
        .toEqual([s.srcPort, s.dstPort, s.hopLimit, s.trafficClass, s.flowLabel]);
      expect(Buffer.from(frame.subarray(parsed.payloadOffset, parsed.payloadOffset + parsed.payloadLength)).equals(Buffer.from(p))).toBe(true);
      expect(parsed.frameLength).toBe(length);
    }), { numRuns: 300 });
  });

  it('writes the same UDP checksum as an independent computation, and detects any single corrupted byte', () => {
    const parsed = new ParsedUdp6Frame();
    const out = new Uint8Array(2048);
    fc.assert(fc.property(spec, payload, fc.nat(), fc.integer({ min: 1, max: 255 }), (s, p, where, flip) => {
      const length = buildUdp6Frame(out, s, p);
      const frame = out.subarray(0, length);
      parseUdp6Frame(frame, parsed);
      const udp = frame.subarray(parsed.udpOffset, length);
      const written = (udp[6]! << 8) | udp[7]!;
      const zeroed = Uint8Array.from(udp);
      zeroed[6] = 0;
      zeroed[7] = 0;
      expect(written).toBe(referenceChecksum(s.srcAddress, s.dstAddress, zeroed));
      expect(udp6ChecksumValid(frame, parsed)).toBe(true);
      // Corrupt one byte of what the checksum covers (addresses, UDP header, payload).
      const covered = [...Array(32).keys()].map((i) => parsed.srcAddressOffset + i)
        .concat([...Array(length - parsed.udpOffset).keys()].map((i) => parsed.udpOffset + i))
        .filter((i) => i !== parsed.udpOffset + 4 && i !== parsed.udpOffset + 5); // length fields are checked structurally
      const victim = covered[where % covered.length]!;
      frame[victim]! ^= flip;
      const stillOk = parseUdp6Frame(frame, parsed, true);
      frame[victim]! ^= flip;
      // One changed byte shifts the one's-complement sum by k or k·256 (0 < k < 256), never by 0 mod 0xffff.
      expect(stillOk).toBe(false);
      expect(parsed.failure).toBe('bad-checksum');
    }), { numRuns: 300 });
  });

  it('every truncation of a valid frame fails with a reason instead of throwing', () => {
    const parsed = new ParsedUdp6Frame();
    const out = new Uint8Array(2048);
    fc.assert(fc.property(spec, payload, fc.nat(), (s, p, cut) => {
      const length = buildUdp6Frame(out, s, p);
      const short = out.subarray(0, cut % length);
      expect(parseUdp6Frame(short, parsed, true)).toBe(false);
      expect(parsed.ok).toBe(false);
      expect(typeof parsed.failure).toBe('string');
    }), { numRuns: 300 });
  });

  it('random bytes never throw and always give ok or a failure reason', () => {
    const parsed = new ParsedUdp6Frame();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (garbage, verify) => {
      const ok = parseUdp6Frame(garbage, parsed, verify);
      expect(ok === (parsed.failure === null)).toBe(true);
    }), { numRuns: 2000 });
  });

  it('names specific failures: three VLAN tags, non-IPv6, fragments, trailing Ethernet padding accepted', () => {
    const parsed = new ParsedUdp6Frame();
    const s: Udp6FrameSpec = {
      srcMac: macToBytes('02:00:00:00:00:01'), dstMac: macToBytes('02:00:00:00:00:02'),
      srcAddress: ipv6ToBytes('fd00::1'), dstAddress: ipv6ToBytes('fd00::2'), srcPort: 1, dstPort: 2,
    };
    const out = new Uint8Array(256);
    const length = buildUdp6Frame(out, s, new Uint8Array([1, 2, 3]));
    // Padding beyond the IPv6 length (minimum Ethernet frame) is fine.
    expect(parseUdp6Frame(out.subarray(0, Math.max(length, 64)), parsed, true)).toBe(true);
    const ipv4 = Uint8Array.from(out.subarray(0, length));
    ipv4[12] = 0x08; ipv4[13] = 0x00;
    expect(parseUdp6Frame(ipv4, parsed)).toBe(false);
    expect(parsed.failure).toBe('not-ipv6');
    const fragment = withExtensionHeaders(out.subarray(0, length), 14, [{ frag: 1 }]);
    expect(parseUdp6Frame(fragment, parsed)).toBe(false);
    expect(parsed.failure).toBe('fragment');
    const triple = new Uint8Array(300);
    const tripleLength = buildUdp6Frame(triple, { ...s, vlans: [{ vid: 1 }, { vid: 2 }] }, new Uint8Array(4));
    const withThird = new Uint8Array(tripleLength + 4);
    withThird.set(triple.subarray(0, 20), 0);
    withThird.set([0x81, 0x00, 0x00, 0x03], 20);
    withThird.set(triple.subarray(20, tripleLength), 24);
    expect(parseUdp6Frame(withThird, parsed)).toBe(false);
    expect(parsed.failure).toBe('too-many-vlans');
  });

  it('an atomic fragment (offset 0, M=0) is parsed as the whole datagram, as stoq_xdp redirects it; real fragments still fail; the header counts toward the limit of four', () => {
    const parsed = new ParsedUdp6Frame();
    const s: Udp6FrameSpec = {
      srcMac: macToBytes('02:00:00:00:00:01'), dstMac: macToBytes('02:00:00:00:00:02'),
      srcAddress: ipv6ToBytes('fd00::1'), dstAddress: ipv6ToBytes('fd00::2'), srcPort: 50000, dstPort: 9292,
      vlans: [{ vid: 7 }],
    };
    const out = new Uint8Array(256);
    const quic = Uint8Array.from([0x41, ...new Array<number>(40).fill(0x5a)]);
    const plain = out.subarray(0, buildUdp6Frame(out, s, quic));
    const ip = 18;
    const parses = (frame: Uint8Array, udpOffset: number) => {
      expect(parseUdp6Frame(frame, parsed, true), String(parsed.failure)).toBe(true);
      expect(parsed).toMatchObject({ udpOffset, srcPort: 50000, dstPort: 9292, payloadOffset: udpOffset + 8, payloadLength: quic.length, frameLength: frame.length });
      expect([...frame.subarray(parsed.payloadOffset, parsed.frameLength)]).toEqual([...quic]);
    };
    const fails = (frame: Uint8Array, failure: string) => {
      expect(parseUdp6Frame(frame, parsed, true)).toBe(false);
      expect(parsed.failure).toBe(failure);
    };
    parses(withExtensionHeaders(plain, ip, [{ frag: 0 }]), ip + 48);
    // The two reserved bits next to M are ignored on receipt (RFC 8200 4.5).
    parses(withExtensionHeaders(plain, ip, [{ frag: 0x0006 }]), ip + 48);
    parses(withExtensionHeaders(plain, ip, [{ opts: 0 }, { frag: 0 }]), ip + 56);
    parses(withExtensionHeaders(plain, ip, [{ frag: 0 }, { opts: 60 }, { frag: 0 }, { frag: 0 }]), ip + 72);
    // Needs reassembly: more fragments follow, or a later piece, also behind other headers.
    fails(withExtensionHeaders(plain, ip, [{ frag: 1 }]), 'fragment');
    fails(withExtensionHeaders(plain, ip, [{ frag: 75 << 3 }]), 'fragment');
    fails(withExtensionHeaders(plain, ip, [{ frag: (75 << 3) | 1 }]), 'fragment');
    fails(withExtensionHeaders(plain, ip, [{ opts: 0 }, { frag: 1 }]), 'fragment');
    fails(withExtensionHeaders(plain, ip, [{ frag: 0 }, { frag: 1 }]), 'fragment');
    // A fifth extension header, atomic fragment or not, is past the limit (as in stoq_xdp).
    fails(withExtensionHeaders(plain, ip, [{ frag: 0 }, { frag: 0 }, { frag: 0 }, { frag: 0 }, { frag: 0 }]), 'too-many-extension-headers');
    fails(withExtensionHeaders(plain, ip, [{ opts: 0 }, { opts: 60 }, { opts: 43 }, { opts: 60 }, { frag: 0 }]), 'too-many-extension-headers');
    // An atomic fragment header cut by the IPv6 payload length.
    const cut = withExtensionHeaders(plain, ip, [{ frag: 0 }]);
    cut[ip + 4] = 0;
    cut[ip + 5] = 4;
    fails(cut, 'truncated-extension-header');
  });

  it('address helpers roundtrip and reject nonsense with XskError', () => {
    fc.assert(fc.property(bytes(16), (a) => {
      expect([...ipv6ToBytes(bytesToIpv6(a))]).toEqual([...a]);
    }));
    expect(bytesToIpv6(ipv6ToBytes('fd00:1::2'))).toBe('fd00:1::2');
    expect(bytesToMac(macToBytes('aa:BB:0c:00:01:ff'))).toBe('aa:bb:0c:00:01:ff');
    expect(() => ipv6ToBytes('10.0.0.1')).toThrow(XskError);
    expect(() => macToBytes('aa:bb')).toThrow(XskError);
    expect(() => buildUdp6Frame(new Uint8Array(10), {
      srcMac: new Uint8Array(6), dstMac: new Uint8Array(6), srcAddress: new Uint8Array(16), dstAddress: new Uint8Array(16), srcPort: 1, dstPort: 1,
    }, new Uint8Array(1))).toThrow(/does not fit/);
  });

  it('refuses header fields that do not fit their bits, and malformed specs, with STOQ_ERR_INVALID_ARGUMENT (never a TypeError, never a wrapped value)', () => {
    const base: Udp6FrameSpec = {
      srcMac: macToBytes('02:00:00:00:00:01'), dstMac: macToBytes('02:00:00:00:00:02'),
      srcAddress: ipv6ToBytes('fd00::1'), dstAddress: ipv6ToBytes('fd00::2'), srcPort: 1, dstPort: 2,
    };
    const out = new Uint8Array(200);
    const invalid = expect.objectContaining({ name: 'XskError', code: 'STOQ_ERR_INVALID_ARGUMENT' });
    const bad: Array<Record<string, unknown>> = [
      { hopLimit: 256 }, { hopLimit: -1 }, { hopLimit: 1.5 }, { trafficClass: 300 }, { trafficClass: -1 }, { flowLabel: 0x100000 }, { flowLabel: -1 },
      { vlans: [{ vid: 1, tpid: 0x0800 }] }, { vlans: [{ vid: 4096 }] }, { vlans: [{ vid: 1, pcp: 8 }] }, { vlans: [{ vid: 1, pcp: -1 }] }, { vlans: 5 }, { vlans: [null] },
      { srcMac: undefined }, { dstMac: 'aa:bb:cc:dd:ee:ff' }, { srcAddress: new Uint8Array(4) }, { srcPort: 65536 },
    ];
    for (const extra of bad) {
      const spec = { ...base, ...extra } as Udp6FrameSpec;
      expect(() => buildUdp6Frame(out, spec, new Uint8Array(4)), JSON.stringify(extra)).toThrow(invalid);
      expect(() => finishUdp6Frame(out, spec, 4), JSON.stringify(extra)).toThrow(invalid);
    }
    expect(() => buildUdp6Frame(out, null as never, new Uint8Array(4))).toThrow(invalid);
    expect(() => buildUdp6Frame(out, base, 'payload' as never)).toThrow(invalid);
    for (const mac of [5, undefined, null]) expect(() => macToBytes(mac as never)).toThrow(invalid);
    // The bounds themselves are fine, in both VLAN flavours.
    const edge = { ...base, hopLimit: 255, trafficClass: 255, flowLabel: 0xfffff, vlans: [{ tpid: 0x88a8, vid: 4095, pcp: 7 }, { vid: 0 }] };
    const parsed = new ParsedUdp6Frame();
    expect(parseUdp6Frame(out.subarray(0, buildUdp6Frame(out, edge, new Uint8Array(4))), parsed, true)).toBe(true);
    expect(parsed).toMatchObject({ hopLimit: 255, trafficClass: 255, flowLabel: 0xfffff });
  });
});
