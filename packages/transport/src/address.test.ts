import { describe, expect, it } from 'vitest';
import { assertIPv6 } from './address.js';

describe('assertIPv6', () => {
  it('returns one spelling per address, as the kernel and URL print it', () => {
    // select.ts tells a '::' bind from a specific one by this text, and the XDP
    // program's localAddress and the next-hop table's source both follow it.
    expect(assertIPv6('0::0', 'bind')).toBe('::');
    expect(assertIPv6('[0:0:0:0:0:0:0:1]', 'bind')).toBe('::1');
    expect(assertIPv6('FD00:0:0::0002', 'bind')).toBe('fd00::2');
    expect(assertIPv6('fd00:0:0:1:0:0:0:2', 'bind')).toBe('fd00:0:0:1::2');
  });

  it('refuses IPv4-mapped addresses however they are written', () => {
    for (const mapped of ['::ffff:192.0.2.1', '::FFFF:c000:0201', '0:0:0:0:0:ffff:c000:201']) {
      expect(() => assertIPv6(mapped, 'connect'), mapped).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ADDRESS', message: expect.stringMatching(/IPv4-mapped/) }));
    }
    expect(assertIPv6('::ffff:1', 'connect'), 'not mapped: ffff is the 7th group').toBe('::ffff:1');
  });
});
