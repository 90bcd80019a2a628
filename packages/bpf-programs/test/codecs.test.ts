// SPDX-License-Identifier: Apache-2.0
// Pure codec behaviour: validation, round trips, per-CPU summing, IPv6 text.
import { describe, expect, it } from 'vitest';
import {
  CONFIG_LAYOUT, COUNTER_NAMES, DEFAULT_CONFIG, HOST_ADDR_VALUE, StoqCodecError, decodeConfig, decodeConntrack, decodeHostAddrKey, decodeStats, encodeConfig, encodeHostAddrKey,
  encodeConntrackKey, encodeConntrackValue, ipv6FromBytes, ipv6ToBytes, normalizeConfig, sizeBucketOf, STATS_LAYOUT,
} from '../src/index.js';

describe('config codec', () => {
  it('round-trips a full config', () => {
    const cfg = { quicPorts: [443, 9292, 65535], ipv4Policy: 'pass' as const, redirect: false, timestampMeta: true, initialMinSize: 1350, initialRate: 100, initialBurst: 0xffffffff, maxRedirectPayload: 1350, localAddress: 'fd00:1::1', checkLocalAddrs: true };
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

  it('checkLocalAddrs: one byte at check_local_addrs (the former _pad0), off by default; the struct keeps its size', () => {
    const at = CONFIG_LAYOUT.offsets.check_local_addrs;
    expect(at).toBe(23);
    expect(CONFIG_LAYOUT.size).toBe(52);
    expect(DEFAULT_CONFIG.checkLocalAddrs).toBe(false);
    expect(encodeConfig()[at]).toBe(0);
    const on = encodeConfig({ checkLocalAddrs: true });
    expect(on[at]).toBe(1);
    // Only that byte differs from the default encoding.
    expect([...on].map((b, i) => (b === encodeConfig()[i] ? -1 : i)).filter((i) => i >= 0)).toEqual([at]);
    expect(decodeConfig(on).checkLocalAddrs).toBe(true);
  });

  it('stoq_host_addrs key: the 16 network-order bytes of the address, value 1', () => {
    expect(encodeHostAddrKey('fe80::1').toString('hex')).toBe('fe800000000000000000000000000001');
    expect(decodeHostAddrKey(encodeHostAddrKey('FD00:0:0:0:0:0:0:2'))).toBe('fd00::2');
    expect([...HOST_ADDR_VALUE]).toEqual([1]);
    for (const bad of ['fe80::1%eth0', '10.0.0.1', '[fd00::2]', '']) expect(() => encodeHostAddrKey(bad)).toThrow(StoqCodecError);
    expect(() => decodeHostAddrKey(Buffer.alloc(4))).toThrow(StoqCodecError);
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
    ['checkLocalAddrs', { checkLocalAddrs: 1 }],
    ['checkLocalAddrs', { checkLocalAddrs: 'yes' }],
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
