// SPDX-License-Identifier: Apache-2.0
// RFC 1071 Internet checksum pieces for UDP over IPv6 (RFC 8200 §8.1: mandatory).

/** One's-complement sum of bytes [start, end) as 16-bit big-endian words (not folded). */
export function sumWords(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  // Fold every 32K words so the sum never leaves the safe-integer range.
  while (end - i >= 2) {
    const stop = Math.min(end - ((end - i) & 1), i + 65536);
    for (; i < stop; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
    sum = (sum & 0xffff) + Math.floor(sum / 65536);
  }
  if (i < end) sum += bytes[i]! << 8;
  return sum;
}

/** Folds a one's-complement sum from `sumWords` to 16 bits (not inverted). */
export function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return sum;
}

/**
 * UDP checksum over IPv6: pseudo-header (source, destination, UDP length, next
 * header 17) plus the UDP header and payload at `udpOffset`. The checksum field
 * must be zero while computing. A computed 0 is sent as 0xffff (RFC 768).
 */
export function udp6Checksum(frame: Uint8Array, srcOffset: number, dstOffset: number, udpOffset: number, udpLength: number): number {
  let sum = sumWords(frame, srcOffset, srcOffset + 16);
  sum = sumWords(frame, dstOffset, dstOffset + 16, sum);
  sum += udpLength + 17;
  sum = sumWords(frame, udpOffset, udpOffset + udpLength, sum);
  const result = ~fold(sum) & 0xffff;
  return result === 0 ? 0xffff : result;
}
