// SPDX-License-Identifier: Apache-2.0
// Stateless address-validation tokens for QUIC Retry (RFC 9000 §8.1.2):
//   issued-at (8 bytes, ms) | odcid length (1) | odcid | HMAC-SHA256(key, addr | port | issued-at | odcid)
// The key lives only in this process, so tokens die with it.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const MAC_LEN = 32;

export class RetryTokens {
  readonly #key = randomBytes(32);
  readonly #ttlMs: number;

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  mint(address: string, port: number, odcid: Uint8Array, now: number): Uint8Array {
    const head = Buffer.alloc(9 + odcid.length);
    head.writeBigUInt64BE(BigInt(Math.floor(now)), 0);
    head.writeUInt8(odcid.length, 8);
    head.set(odcid, 9);
    return Buffer.concat([head, this.#mac(address, port, head)]);
  }

  /** The original DCID if the token is authentic, for this address, and fresh; otherwise null. */
  validate(token: Uint8Array, address: string, port: number, now: number): Uint8Array | null {
    if (token.length < 9 + MAC_LEN) return null;
    const buf = Buffer.from(token.buffer, token.byteOffset, token.byteLength);
    const odcidLen = buf.readUInt8(8);
    if (buf.length !== 9 + odcidLen + MAC_LEN || odcidLen > 20) return null;
    const head = buf.subarray(0, 9 + odcidLen);
    const expected = this.#mac(address, port, head);
    if (!timingSafeEqual(expected, buf.subarray(9 + odcidLen))) return null;
    const issuedAt = Number(buf.readBigUInt64BE(0));
    if (now < issuedAt || now - issuedAt > this.#ttlMs) return null;
    return Buffer.from(head.subarray(9));
  }

  #mac(address: string, port: number, head: Uint8Array): Buffer {
    return createHmac('sha256', this.#key).update(`${address}|${port}|`).update(head).digest();
  }
}
