// SPDX-License-Identifier: Apache-2.0
// Pure codec behaviour: validation, round trips, per-CPU summing, IPv6 text.
import { describe, expect, it } from 'vitest';
import {
  CONFIG_LAYOUT, COUNTER_NAMES, DEFAULT_CONFIG, StoqCodecError, decodeConfig, decodeConntrack, decodeStats, encodeConfig,
  encodeConntrackKey, encodeConntrackValue, ipv6FromBytes, ipv6ToBytes, normalizeConfig, sizeBucketOf, STATS_LAYOUT,
} from '../src/index.js';

describe('config codec', () => {
  it('round-trips a full config', () => {
    const cfg = { quicPorts: [443, 9292, 65535], ipv4Policy: 'pass' as const, redirect: false, timestampMeta: true, initialMinSize: 1350, initialRate: 100, initialBurst: 0xffffffff, maxRedirectPayload: 1350, localAddress: 'fd00:1::1' };
    expect(decodeConfig(encodeConfig(cfg))).toEqual(cfg);
  });

  it('fills unset fields with the defaults', () => {
    expect(decodeConfig(encodeConfig())).toEqual(DEFAULT_CONFIG);
    expect(decodeConfig(encodeConfig({ redirect: false }))).toEqual({ ...DEFAULT_CONFIG, redirect: false });
  });

  it('reads an all-zero entry as the defaults (what the program does)', () => {
    expect(decodeConfig(Buffer.alloc(CONFIG_LAYOUT.size))).toEqual(DEFAULT_CONFIG);
  });

  it('localAddress: 16 network-order bytes at local_addr, :: (all zeros) by default, canonical text back', () => {
    const at = CONFIG_LAYOUT.offsets.local_addr;
    expect(encodeConfig().subarray(at, at + 16)).toEqual(Buffer.alloc(16));
    const buf = encodeConfig({ localAddress: 'FD00:0:0:0:0:0:0:2' });
    expect(buf.subarray(at, at + 16).toString('hex')).toBe('fd000000000000000000000000000002');
    expect(decodeConfig(buf).localAddress).toBe('fd00::2');
    expect(normalizeConfig({ localAddress: '::0.0.0.0' }).localAddress).toBe('::');
    expect(normalizeConfig({ localAddress: '2001:db8::192.0.2.1' }).localAddress).toBe('2001:db8::c000:201');
  });

  it.each([
    ['quicPorts', { quicPorts: [0] }],
    ['quicPorts', { quicPorts: [65536] }],
    ['quicPorts', { quicPorts: [1.5] }],
    ['quicPorts', { quicPorts: [1, 2, 3, 4, 5, 6, 7, 8, 9] }],
    ['quicPorts', { quicPorts: [443, 443] }],
    ['ipv4Policy', { ipv4Policy: 'reject' }],
    ['redirect', { redirect: 1 }],
    ['initialMinSize', { initialMinSize: 70000 }],
    ['initialRate', { initialRate: -1 }],
    ['initialBurst', { initialBurst: 2 ** 32 }],
    ['maxRedirectPayload', { maxRedirectPayload: 65536 }],
    ['localAddress', { localAddress: '10.0.0.1' }],
    ['localAddress', { localAddress: '[fd00::2]' }],
    ['localAddress', { localAddress: 'fe80::1%eth0' }],
    ['localAddress', { localAddress: 'localhost' }],
    ['localAddress', { localAddress: '' }],
    ['localAddress', { localAddress: 42 }],
    ['localAddress', { localAddress: null }],
    // IPv4-mapped, dotted or not: no IPv6 packet is addressed to one.
    ['localAddress', { localAddress: '::ffff:192.0.2.1' }],
    ['localAddress', { localAddress: '::FFFF:c000:201' }],
  ])('rejects bad %s with a typed error', (field, bad) => {
    let caught: unknown;
    try {
      encodeConfig(bad as never);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StoqCodecError);
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as StoqCodecError).code).toBe('STOQ_ERR_INVALID_CONFIG');
    expect((caught as StoqCodecError).field.startsWith(field)).toBe(true);
  });
});

describe('stats codec', () => {
  it('sums per-CPU values', () => {
    const cpu = (k: number) => {
      const b = Buffer.alloc(STATS_LAYOUT.size);
      for (let i = 0; i < b.length / 8; i++) b.writeBigUInt64LE(BigInt((i + 1) * k), i * 8);
      return b;
    };
    const s = decodeStats([cpu(1), cpu(10)]);
    expect(s.counters.rx_packets).toBe(11);
    expect(s.counters[COUNTER_NAMES[13]!]).toBe(14 * 11);
    expect(s.sizeHistogram).toEqual([15, 16, 17, 18, 19, 20, 21, 22].map((n) => n * 11));
  });

  it('rejects a short value', () => {
    expect(() => decodeStats([Buffer.alloc(8)])).toThrow(StoqCodecError);
  });

  it('buckets frame sizes at the documented edges', () => {
    expect([64, 65, 128, 129, 1518, 1519, 4096, 4097, 9000].map(sizeBucketOf)).toEqual([0, 1, 1, 2, 5, 6, 6, 7, 7]);
  });
});

describe('conntrack codec', () => {
  it('round-trips key and value with a canonical address', () => {
    const key = encodeConntrackKey({ peerAddress: 'FD00:0:0:0:0:0:0:2', peerPort: 40000, localPort: 9292 });
    const value = encodeConntrackValue({ state: 'closing', firstSeenNs: 5n, lastSeenNs: 2n ** 63n, packets: 7, bytes: 9000 });
    expect(decodeConntrack(key, value)).toEqual({
      peerAddress: 'fd00::2', peerPort: 40000, localPort: 9292, state: 'closing', firstSeenNs: 5n, lastSeenNs: 2n ** 63n, packets: 7, bytes: 9000,
    });
  });

  it('rejects bad addresses and ports', () => {
    expect(() => encodeConntrackKey({ peerAddress: '10.0.0.1', peerPort: 1, localPort: 1 })).toThrow(StoqCodecError);
    expect(() => encodeConntrackKey({ peerAddress: '::1', peerPort: 70000, localPort: 1 })).toThrow(StoqCodecError);
  });
});

describe('IPv6 text', () => {
  it.each([
    ['::', '::'], ['::1', '::1'], ['fd00:0:0:1::', 'fd00:0:0:1::'], ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0000:0000:ff00:0042:8329', '2001:db8::ff00:42:8329'], ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
  ])('%s -> %s', (input, canonical) => {
    expect(ipv6FromBytes(ipv6ToBytes(input))).toBe(canonical);
  });
});
