// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { RetryTokens } from './retry-token.js';

describe('RetryTokens', () => {
  const odcid = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

  it('validates its own token for the same address and returns the original DCID', () => {
    const tokens = new RetryTokens(10_000);
    const token = tokens.mint('fd00::2', 40000, odcid, 1_000_000);
    expect(Buffer.from(tokens.validate(token, 'fd00::2', 40000, 1_005_000) ?? [])).toEqual(odcid);
  });

  it('rejects another address or port, an expired token, a tampered one and another key', () => {
    const tokens = new RetryTokens(10_000);
    const token = tokens.mint('fd00::2', 40000, odcid, 1_000_000);
    expect(tokens.validate(token, 'fd00::3', 40000, 1_000_001)).toBeNull();
    expect(tokens.validate(token, 'fd00::2', 40001, 1_000_001)).toBeNull();
    expect(tokens.validate(token, 'fd00::2', 40000, 1_010_001)).toBeNull();
    expect(tokens.validate(token, 'fd00::2', 40000, 999_999)).toBeNull();
    for (let i = 0; i < token.length; i++) {
      const bad = Buffer.from(token);
      bad[i]! ^= 1;
      expect(tokens.validate(bad, 'fd00::2', 40000, 1_000_001)).toBeNull();
    }
    expect(tokens.validate(token.subarray(0, token.length - 1), 'fd00::2', 40000, 1_000_001)).toBeNull();
    expect(new RetryTokens(10_000).validate(token, 'fd00::2', 40000, 1_000_001)).toBeNull();
  });
});
