// SPDX-License-Identifier: Apache-2.0
// RFC 1071 Internet checksum pieces for UDP over IPv6 (RFC 8200 §8.1: mandatory).

// The one's-complement sum does not depend on byte order (RFC 1071 §2(B)): summing the
// bytes as little-endian 32-bit words and swapping the folded result once gives the same
// sum as adding big-endian 16-bit words, with a quarter of the loads: about 3x faster in
// V8 for a 1358-byte UDP datagram (the AF_XDP send path checksums every frame). Short
// runs (addresses, small packets) stay byte-wise: there the setup costs more than it saves.
const MIN_WORDWISE = 128;
// Weakly keyed: a cache entry must not keep a closed UMEM's mapping alive.
const wordViews = new WeakMap<ArrayBufferLike, Uint32Array<ArrayBufferLike>>();

/** A Uint32Array over all of `buffer`, made once per buffer (a UMEM, say). */
function wordsOf(buffer: ArrayBufferLike): Uint32Array<ArrayBufferLike> {
  let words = wordViews.get(buffer);
  if (!words) {
    words = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
    wordViews.set(buffer, words);
  }
  return words;
}

/** One's-complement sum of bytes [start, end) as 16-bit big-endian words (folded to 16 bits when large). */
export function sumWords(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  if (end - start < MIN_WORDWISE) return sumBytes(bytes, start, end, initial);
  const absolute = bytes.byteOffset + start;
  // Word-wise only from an even address, so 16-bit words stay whole.
  if ((absolute & 1) !== 0) return sumBytes(bytes, start, end, initial);
  let i = start;
  let le = 0;
  if ((absolute & 2) !== 0) {
    le = bytes[i]! | (bytes[i + 1]! << 8);
    i += 2;
  }
  const w = wordsOf(bytes.buffer);
  const first = (bytes.byteOffset + i) >>> 2;
  const count = (end - i) >>> 2;
  // A double holds 2^21 sums of 32-bit words exactly: fold every 2^20 words.
  for (let k = 0; k < count; ) {
    const stop = Math.min(count, k + 1048576);
    // Four independent sums: the adds of one iteration do not wait for each other
    // (bench:frame: 327 ns for 1358 B, 452-466 ns with one accumulator).
    let a = 0;
    let b = 0;
    let c = 0;
    let d = 0;
    for (; k + 4 <= stop; k += 4) {
      a += w[first + k]!;
      b += w[first + k + 1]!;
      c += w[first + k + 2]!;
      d += w[first + k + 3]!;
    }
    for (; k < stop; k++) a += w[first + k]!;
    le += a + b + c + d;
    le = (le % 65536) + Math.floor(le / 65536);
  }
  i += count * 4;
  for (; i + 1 < end; i += 2) le += bytes[i]! | (bytes[i + 1]! << 8);
  if (i < end) le += bytes[i]!;
  const folded = fold(le);
  return initial + (((folded & 0xff) << 8) | (folded >>> 8));
}

/** The same sum, two bytes at a time (short or odd-aligned ranges). */
function sumBytes(bytes: Uint8Array, start: number, end: number, initial: number): number {
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
