// SPDX-License-Identifier: Apache-2.0
// Codec input edge cases: names that only exist on Object.prototype are not enum
// values, and a field explicitly set to undefined means "not given".
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, decodeConfig, encodeConfig, encodeConntrackValue, normalizeConfig } from '../src/index.js';

const PROTOTYPE_NAMES = ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf'];

describe('enum-like names come from the table itself, not its prototype', () => {
  it.each(PROTOTYPE_NAMES)('ipv4Policy %s is refused', (name) => {
    expect(() => encodeConfig({ ipv4Policy: name as never })).toThrow(
      expect.objectContaining({ code: 'STOQ_ERR_INVALID_CONFIG', message: expect.stringMatching(/ipv4Policy/) }),
    );
  });

  it.each(PROTOTYPE_NAMES)('conntrack state %s is refused', (name) => {
    expect(() => encodeConntrackValue({ state: name as never, firstSeenNs: 0n, lastSeenNs: 0n, packets: 0, bytes: 0 })).toThrow(
      expect.objectContaining({ code: 'STOQ_ERR_INVALID_CONFIG', message: expect.stringMatching(/unknown state/) }),
    );
  });

  it('a non-string that stringifies to a valid name is refused too', () => {
    const sneaky = { toString: () => 'pass' };
    expect(() => encodeConfig({ ipv4Policy: sneaky as never })).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_CONFIG' }));
    expect(() => encodeConntrackValue({ state: { toString: () => 'new' } as never, firstSeenNs: 0n, lastSeenNs: 0n, packets: 0, bytes: 0 })).toThrow(
      expect.objectContaining({ code: 'STOQ_ERR_INVALID_CONFIG' }),
    );
  });
});

describe('explicit undefined fields take the defaults', () => {
  it('every field set to undefined encodes as the defaults', () => {
    const allUndefined = Object.fromEntries(Object.keys(DEFAULT_CONFIG).map((k) => [k, undefined]));
    expect(normalizeConfig(allUndefined)).toEqual(DEFAULT_CONFIG);
    expect(decodeConfig(encodeConfig(allUndefined))).toEqual(DEFAULT_CONFIG);
  });

  it('undefined next to given fields keeps the given ones', () => {
    expect(decodeConfig(encodeConfig({ quicPorts: [443], redirect: undefined, ipv4Policy: 'pass' }))).toEqual({
      ...DEFAULT_CONFIG, quicPorts: [443], ipv4Policy: 'pass',
    });
  });

  it('null is still a wrong value, not "not given"', () => {
    expect(() => encodeConfig({ redirect: null as never })).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_CONFIG' }));
  });
});
