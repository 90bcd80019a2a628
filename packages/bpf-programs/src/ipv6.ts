// SPDX-License-Identifier: Apache-2.0
// IPv6 text <-> 16 bytes. Canonical output per RFC 5952 (lowercase, longest zero run compressed).
import { isIPv6 } from 'node:net';
import { StoqCodecError } from './errors.js';

/**
 * The 16 bytes (network order) of an IPv6 address in text form, IPv4-embedded tails included.
 * Throws StoqCodecError STOQ_ERR_INVALID_ADDRESS if `text` is not IPv6.
 */
export function ipv6ToBytes(text: string): Buffer {
  if (!isIPv6(text)) throw new StoqCodecError('STOQ_ERR_INVALID_ADDRESS', 'peerAddress', `not an IPv6 address: ${text}`);
  let groups = text;
  const out = Buffer.alloc(16);
  // Embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(groups);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    groups = groups.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = groups.split('::') as [string, string | undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const all = tail === undefined
    ? headGroups
    : [...headGroups, ...new Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/**
 * The RFC 5952 text form of 16 address bytes (lowercase, longest run of two or more zero groups
 * compressed).
 */
export function ipv6FromBytes(bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  // Longest run of two or more zero groups (first one wins a tie).
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { start: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.len).join(':')}`;
}
