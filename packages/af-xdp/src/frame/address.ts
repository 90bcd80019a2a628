// SPDX-License-Identifier: Apache-2.0
// Text ↔ bytes for MAC and IPv6 addresses (set-up time helpers, not for the hot path).
import { isIPv6 } from 'node:net';
import { invalidArgument } from '../errors.js';

/** `'02:00:00:00:00:01'` (or with dashes) → 6 bytes; throws `STOQ_ERR_INVALID_ARGUMENT` on anything else. */
export function macToBytes(mac: string): Uint8Array {
  if (typeof mac !== 'string') throw invalidArgument('macToBytes', `not a MAC address: ${String(mac)}`);
  const parts = mac.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw invalidArgument('macToBytes', `not a MAC address: ${JSON.stringify(mac)}`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/** The 6 bytes at `offset` as lower-case `aa:bb:cc:dd:ee:ff`. */
export function bytesToMac(bytes: Uint8Array, offset = 0): string {
  return Array.from(bytes.subarray(offset, offset + 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * Any IPv6 text form (brackets and a `%zone` suffix are ignored) → 16 bytes;
 * throws `STOQ_ERR_INVALID_ARGUMENT` when it is not an IPv6 address.
 */
export function ipv6ToBytes(address: string): Uint8Array {
  if (typeof address !== 'string') throw invalidArgument('ipv6ToBytes', `not an IPv6 address: ${String(address)}`);
  const text = address.replace(/^\[|\]$/g, '').split('%')[0]!;
  if (!isIPv6(text)) throw invalidArgument('ipv6ToBytes', `not an IPv6 address: ${JSON.stringify(address)}`);
  let groups: string[];
  const [head, tail] = text.split('::') as [string, string | undefined];
  const toGroups = (s: string) => (s === '' ? [] : s.split(':'));
  const expandV4 = (gs: string[]) => {
    const last = gs[gs.length - 1];
    if (last === undefined || !last.includes('.')) return gs;
    const o = last.split('.').map(Number);
    return [...gs.slice(0, -1), ((o[0]! << 8) | o[1]!).toString(16), ((o[2]! << 8) | o[3]!).toString(16)];
  };
  if (tail === undefined) {
    groups = expandV4(toGroups(head));
  } else {
    const h = toGroups(head);
    const t = expandV4(toGroups(tail));
    groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    bytes[i * 2] = v >> 8;
    bytes[i * 2 + 1] = v & 0xff;
  });
  return bytes;
}

/** Compressed text form (RFC 5952) of the 16 bytes at `offset`. */
export function bytesToIpv6(bytes: Uint8Array, offset = 0): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((bytes[offset + i * 2]! << 8) | bytes[offset + i * 2 + 1]!);
  // Longest run (≥ 2) of zero words becomes '::'.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
