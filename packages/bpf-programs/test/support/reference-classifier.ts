// SPDX-License-Identifier: Apache-2.0
// The verdict table of DESIGN.md (as refined in this package's README) written a
// second time, in TypeScript and without looking at the C: the fuzzer runs every
// frame through both and any disagreement is a bug in one of them.
//
// Bounds rule shared with the program: a header must fit in the frame; the IPv6
// payload length decides where the datagram ends ("payload end", never past the
// frame); bytes after it (Ethernet padding, trailing junk) are not the datagram's,
// so the QUIC header must fit before the payload end too.
import { ipv6ToBytes, type CounterName, type StoqConfig } from '../../src/index.js';

export const VERDICT = { DROP: 1, PASS: 2, REDIRECT: 4 } as const;

export interface ReferenceResult {
  verdict: number;
  counter: CounterName;
}

export interface ReferenceContext {
  /** An AF_XDP socket sits in stoq_xsks at the frame's queue. */
  socketOnQueue: boolean;

  /** Asked once per Initial that passed the size check while initial_burst > 0. */
  allowInitial(sourcePrefix64: string): boolean;

  /** The frame arrived on a device other than lo (testRun without an ingress device runs on lo). */
  offLoopback?: boolean;

  /** What stoq_host_addrs holds (the host's own addresses; any IPv6 text); none when absent. */
  hostAddrs?: readonly string[];
}

const EXT = { HOPOPTS: 0, ROUTING: 43, FRAGMENT: 44, DSTOPTS: 60 } as const;
const UDP = 17;
const V1 = 0x00000001;
const V2 = 0x6b3343cf;
type QuicKind = 'short' | 'initial' | '0rtt' | 'handshake' | 'retry' | 'vn' | 'unknown';

const pass = (counter: CounterName): ReferenceResult => ({ verdict: VERDICT.PASS, counter });
const drop = (counter: CounterName): ReferenceResult => ({ verdict: VERDICT.DROP, counter });

export function classifyReference(f: Uint8Array, cfg: StoqConfig, ctx: ReferenceContext): ReferenceResult {
  const be16 = (o: number) => (f[o]! << 8) | f[o + 1]!;
  const fits = (o: number, n: number) => o + n <= f.length;

  // Layer 2: Ethernet, then at most two 802.1Q / 802.1ad tags.
  if (!fits(0, 14)) return pass('malformed_passed');
  let type = be16(12);
  let pos = 14;
  for (let tags = 0; tags < 2 && (type === 0x8100 || type === 0x88a8); tags++) {
    if (!fits(pos, 4)) return pass('malformed_passed');
    type = be16(pos + 2);
    pos += 4;
  }
  if (type === 0x0800) {
    if (!fits(pos, 20)) return pass('malformed_passed');
    return cfg.ipv4Policy === 'pass' ? pass('ipv4_passed') : drop('ipv4_dropped');
  }
  if (type !== 0x86dd) return pass('non_ip_passed');

  // IPv6 fixed header.
  const ip = pos;
  if (!fits(ip, 40) || f[ip]! >> 4 !== 6) return pass('malformed_passed');
  const claimedEnd = ip + 40 + be16(ip + 4);
  const cut = claimedEnd > f.length; // the frame ends before the payload does
  const end = Math.min(claimedEnd, f.length);
  let next = f[ip + 6]!;
  pos = ip + 40;

  // Up to four extension headers; a non-first fragment ends the walk. Several fragment
  // headers add up: a first fragment only if all say offset 0, more if any says M.
  let fragment: { first: boolean; more: boolean } | undefined;
  // Not for a local socket as it stands: a routing header with segments left (not the
  // final hop) or a hop-by-hop header anywhere but first (RFC 8200 4.1); a routing header
  // of type 3 (RPL) or 4 (SRH) whatever its segments left (the kernel drops those unless
  // rpl_seg_enabled / seg6_enabled is set on the interface, which XDP cannot see).
  let notFinal = false;
  for (let n = 0; n < 4 && isExt(next); n++) {
    if (next === EXT.FRAGMENT) {
      if (pos + 8 > end) return pass('malformed_passed');
      const off = be16(pos + 2);
      fragment = { first: (fragment?.first ?? true) && (off & 0xfff8) === 0, more: (fragment?.more ?? false) || (off & 1) === 1 };
      next = f[pos]!;
      pos += 8;
      if (!fragment.first) break;
    } else {
      if (!fits(pos, 2)) return pass('malformed_passed');
      const size = (f[pos + 1]! + 1) * 8;
      if (pos + size > end) return pass('malformed_passed');
      if ((next === EXT.HOPOPTS && n > 0) || (next === EXT.ROUTING && (f[pos + 3] !== 0 || f[pos + 2] === 3 || f[pos + 2] === 4))) notFinal = true;
      next = f[pos]!;
      pos += size;
    }
  }
  if (fragment && !fragment.first) return pass('ipv6_fragment_passed');
  if (isExt(next) || next !== UDP) return pass(cut ? 'malformed_passed' : 'ipv6_non_udp_passed');

  // UDP: the destination port says whose packet it is.
  const udp = pos;
  if (!fits(udp, 4)) return pass('malformed_passed');
  const dport = be16(udp + 2);
  if (!cfg.quicPorts.includes(dport)) {
    return pass(cut || udp + 8 > end ? 'malformed_passed' : 'udp_non_quic_passed');
  }
  if (fragment?.more) return pass('ipv6_fragment_passed'); // only the kernel can reassemble
  // Our port but not for our unicast socket (or for another local address than the one
  // configured): the kernel decides, before any judging.
  if (notFinal || !deliverableAddresses(f, ip, ctx.offLoopback === true) || otherDestination(f, ip, cfg, ctx.hostAddrs ?? [])) return pass('quic_passed');
  if (cut || udp + 8 > end) return drop('malformed_dropped');
  const udpLength = be16(udp + 4);
  if (udpLength !== end - udp || udpLength <= 8) return drop('malformed_dropped');

  // QUIC: invariants of the long header, then Initial size and rate.
  const kind = quicKind(f, udp + 8, end);
  if (kind === undefined) return drop('malformed_dropped');
  if (kind === 'initial') {
    if (udpLength - 8 < cfg.initialMinSize) return drop('initial_too_small_dropped');
    if (cfg.initialBurst > 0 && !ctx.allowInitial(hex(f.subarray(ip + 8, ip + 16)))) return drop('initial_rate_limited_dropped');
  }
  if (cfg.maxRedirectPayload > 0 && udpLength - 8 > cfg.maxRedirectPayload) return pass('quic_passed');
  if (cfg.redirect && ctx.socketOnQueue) return { verdict: VERDICT.REDIRECT, counter: 'quic_redirected' };
  return pass('quic_passed');
}

/**
 * False for a multicast destination, a multicast source, a v4-mapped (::ffff:0:0/96)
 * source, or, off lo, a loopback ::1 source or destination (dropped by the kernel there).
 */
function deliverableAddresses(f: Uint8Array, ip: number, offLoopback: boolean): boolean {
  if (f[ip + 24] === 0xff || f[ip + 8] === 0xff) return false;
  const v4Mapped = f.subarray(ip + 8, ip + 18).every((b) => b === 0) && f[ip + 18] === 0xff && f[ip + 19] === 0xff;
  const loopback = (at: number) => f.subarray(at, at + 15).every((b) => b === 0) && f[at + 15] === 1;
  return !v4Mapped && !(offLoopback && (loopback(ip + 8) || loopback(ip + 24)));
}

const localAddressBytes = new Map<string, Buffer>();

function bytesOf(address: string): Buffer {
  let bytes = localAddressBytes.get(address);
  if (!bytes) localAddressBytes.set(address, (bytes = ipv6ToBytes(address)));
  return bytes;
}

/**
 * True when the destination is not ours to judge: the config names a local address (not
 * ::) and the destination is another one; or, local address ::, check_local_addrs is on
 * and the destination is none of the host's addresses (a datagram the host forwards).
 */
function otherDestination(f: Uint8Array, ip: number, cfg: StoqConfig, hostAddrs: readonly string[]): boolean {
  const dst = f.subarray(ip + 24, ip + 40);
  const local = bytesOf(cfg.localAddress);
  if (local.some((b) => b !== 0)) return !local.equals(dst);
  return cfg.checkLocalAddrs && !hostAddrs.some((a) => bytesOf(a).equals(dst));
}

function isExt(next: number): boolean {
  return next === EXT.HOPOPTS || next === EXT.ROUTING || next === EXT.FRAGMENT || next === EXT.DSTOPTS;
}

/** undefined when a long header breaks RFC 8999/9000 invariants within the datagram (before `end`). */
function quicKind(f: Uint8Array, q: number, end: number): QuicKind | undefined {
  if (q + 1 > end) return undefined;
  const first = f[q]!;
  if ((first & 0x80) === 0) return 'short';
  if (q + 6 > end) return undefined;
  const version = ((f[q + 1]! << 24) | (f[q + 2]! << 16) | (f[q + 3]! << 8) | f[q + 4]!) >>> 0;
  const typeBits = (first >> 4) & 3;
  let kind: QuicKind;
  if (version === 0) kind = 'vn';
  else if (version === V1) kind = (['initial', '0rtt', 'handshake', 'retry'] as const)[typeBits]!;
  else if (version === V2) kind = (['retry', 'initial', '0rtt', 'handshake'] as const)[typeBits]!;
  else kind = 'unknown';
  const knownVersion = kind !== 'vn' && kind !== 'unknown';
  const dcidLength = f[q + 5]!;
  if (knownVersion && dcidLength > 20) return undefined;
  const scidAt = q + 6 + dcidLength;
  if (scidAt + 1 > end) return undefined;
  const scidLength = f[scidAt]!;
  if (knownVersion && scidLength > 20) return undefined;
  if (scidAt + 1 + scidLength > end) return undefined;
  return kind;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/**
 * The token bucket with initial_rate 0: no refill, so each /64 gets exactly
 * `burst` Initials and then none — deterministic, unlike a refilling bucket.
 */
export class NoRefillBuckets {
  readonly #used = new Map<string, number>();
  constructor(readonly burst: number) {}
  allow(prefix: string): boolean {
    const used = this.#used.get(prefix) ?? 0;
    if (used >= this.burst) return false;
    this.#used.set(prefix, used + 1);
    return true;
  }
  clear(): void {
    this.#used.clear();
  }
}
