// SPDX-License-Identifier: Apache-2.0
// stoq_config is read on every packet: a write takes effect on the very next frame,
// and an all-zero (never written) entry means the documented defaults.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import {
  HOST_ADDR_VALUE, HOST_ADDRS_ENTRIES, MAP_NAMES, decodeConfig, DEFAULT_CONFIG, diffStats, encodeHostAddrKey, ipv6FromBytes, ipv6ToBytes, type CounterName,
} from '../src/index.js';
import { ETH_P, SERVER, ipv4Udp, ethernet, quicLong, quicShort, udp6Frame } from './support/frames.js';
import { XDP } from './support/fixtures.js';
import { expectOneFrame } from './support/expect.js';
import { LoadedStoqProgram, isRoot } from './support/kernel.js';
import { BpfMap } from '@stoq/loader';


describe('stoq_config at runtime', skipUnless(isRoot, 'needs root: loading BPF programs and updating their maps (CAP_BPF, CAP_SYS_ADMIN)'), () => {
  let prog: LoadedStoqProgram;
  beforeAll(async () => {
    prog = await LoadedStoqProgram.load();
  });
  afterEach(() => prog.clearConfig());
  afterAll(() => prog?.close());

  function check(frame: Buffer, verdict: number, counter: CounterName): void {
    const before = prog.readStats();
    expect(prog.run(frame).retval).toBe(verdict);
    expectOneFrame(before, prog.readStats(), frame.length, counter);
  }

  const initial = (size: number, dport = 9292) => udp6Frame({ dport, payload: quicLong({ type: 'initial', size }) });
  const ipv4 = ethernet(ETH_P.IPV4, ipv4Udp(9292));

  // The kernel keeps 15 characters of a map's name: a longer one cannot be found by
  // name (BpfMap.openByName, bpftool map show name) once loaded.
  it.each(Object.values(MAP_NAMES))('map %s is found in the kernel by its full name', (name) => {
    const maps = BpfMap.openByName(name);
    try {
      expect(maps.length).toBeGreaterThanOrEqual(1);
    } finally {
      for (const m of maps) m.close();
    }
  });

  it('reads the never-written entry as the defaults', () => {
    const [raw] = prog.dump(MAP_NAMES.config);
    expect(decodeConfig(raw!.value)).toEqual(DEFAULT_CONFIG);
    check(initial(1199), XDP.DROP, 'initial_too_small_dropped');
    check(ipv4, XDP.DROP, 'ipv4_dropped');
  });

  it('quic_ports: moving QUIC to 4433 and 8443 frees 9292 on the next packet', () => {
    check(udp6Frame({ payload: quicShort() }), XDP.PASS, 'quic_passed');
    prog.writeConfig({ quicPorts: [4433, 8443] });
    check(udp6Frame({ payload: quicShort() }), XDP.PASS, 'udp_non_quic_passed');
    check(initial(1199, 4433), XDP.DROP, 'initial_too_small_dropped');
    check(initial(1199, 8443), XDP.DROP, 'initial_too_small_dropped');
    prog.writeConfig({ quicPorts: [] });
    check(initial(1199, 4433), XDP.PASS, 'udp_non_quic_passed');
  });

  it('ipv4_policy: pass, then drop again', () => {
    prog.writeConfig({ ipv4Policy: 'pass' });
    check(ipv4, XDP.PASS, 'ipv4_passed');
    prog.writeConfig({ ipv4Policy: 'drop' });
    check(ipv4, XDP.DROP, 'ipv4_dropped');
  });

  it('redirect off: QUIC is passed (no XSKMAP lookup)', () => {
    prog.writeConfig({ redirect: false });
    check(udp6Frame({ payload: quicShort() }), XDP.PASS, 'quic_passed');
  });

  it('initial_min_size: raised to 1300, then lowered to 0', () => {
    prog.writeConfig({ initialMinSize: 1300 });
    check(initial(1200), XDP.DROP, 'initial_too_small_dropped');
    check(initial(1300), XDP.PASS, 'quic_passed');
    prog.writeConfig({ initialMinSize: 0 });
    check(initial(40), XDP.PASS, 'quic_passed');
  });

  it('clearing the entry brings the defaults back', () => {
    prog.writeConfig({ initialMinSize: 0, ipv4Policy: 'pass' });
    check(initial(40), XDP.PASS, 'quic_passed');
    prog.clearConfig();
    check(initial(40), XDP.DROP, 'initial_too_small_dropped');
    check(ipv4, XDP.DROP, 'ipv4_dropped');
  });

  // local_addr set: QUIC to another destination is not ours (another socket may own that
  // address and port), so the kernel decides, ahead of every check of ours; to our own
  // address everything is as before (judged, tracked, redirect path). The frames' default
  // destination is SERVER (fd00:1::1).
  it('local_addr: QUIC to another destination is passed unjudged and untracked; to ours as before; :: changes nothing', () => {
    const OTHER = 'fd00:1::3';
    const toOther = { short: udp6Frame({ dst: OTHER, src: 'fd00:7::1', payload: quicShort() }), small: udp6Frame({ dst: OTHER, payload: quicLong({ type: 'initial', size: 1000 }) }), badLength: udp6Frame({ dst: OTHER, payload: quicShort(40), udpLength: 47 }) };
    const toUs = { short: udp6Frame({ dst: SERVER, src: 'fd00:7::2', payload: quicShort() }), small: udp6Frame({ dst: SERVER, payload: quicLong({ type: 'initial', size: 1000 }) }), badLength: udp6Frame({ dst: SERVER, payload: quicShort(40), udpLength: 47 }) };
    const tracked = (src: string) => prog.conntrack().some((e) => e.peerAddress === src && e.state === 'established');
    prog.clearMap(MAP_NAMES.conntrack);

    prog.writeConfig({ localAddress: SERVER });
    expect(decodeConfig(prog.dump(MAP_NAMES.config)[0]!.value).localAddress).toBe(SERVER);
    check(toOther.short, XDP.PASS, 'quic_passed');
    check(toOther.small, XDP.PASS, 'quic_passed');
    check(toOther.badLength, XDP.PASS, 'quic_passed');
    expect(tracked('fd00:7::1')).toBe(false);
    check(toUs.short, XDP.PASS, 'quic_passed'); // the redirect path: no socket on testRun's queue
    expect(tracked('fd00:7::2')).toBe(true);
    check(toUs.small, XDP.DROP, 'initial_too_small_dropped');
    check(toUs.badLength, XDP.DROP, 'malformed_dropped');
    // Other ports are not looked at; an IPv4 frame is still dropped by policy.
    check(udp6Frame({ dst: OTHER, dport: 53, payload: Buffer.alloc(40) }), XDP.PASS, 'udp_non_quic_passed');
    check(ipv4, XDP.DROP, 'ipv4_dropped');

    // Back to any destination (::): the other address is judged and tracked again.
    prog.writeConfig({ localAddress: '::' });
    check(toOther.small, XDP.DROP, 'initial_too_small_dropped');
    check(toOther.badLength, XDP.DROP, 'malformed_dropped');
    check(toOther.short, XDP.PASS, 'quic_passed');
    expect(tracked('fd00:7::1')).toBe(true);
    prog.clearMap(MAP_NAMES.conntrack);
  });

  it('local_addr: one differing bit anywhere in the destination is another destination', () => {
    prog.writeConfig({ localAddress: 'fd00:1::1' });
    const base = ipv6ToBytes('fd00:1::1');
    for (let byte = 0; byte < 16; byte++) {
      const dst = Buffer.from(base);
      dst[byte] = dst[byte]! ^ (byte % 2 === 0 ? 0x01 : 0x80);
      check(udp6Frame({ dst: ipv6FromBytes(dst), payload: quicLong({ type: 'initial', size: 1000 }) }), XDP.PASS, 'quic_passed');
    }
    check(udp6Frame({ payload: quicLong({ type: 'initial', size: 1000 }) }), XDP.DROP, 'initial_too_small_dropped');
  });

  // check_local_addrs: bound to '::', the program judges only QUIC for the host's own
  // addresses (stoq_host_addrs); what the host merely forwards (a router; pods or VMs
  // behind a bridge or veth running QUIC on the same port) goes to the kernel, unjudged
  // and untracked. Off, the map is not read and every destination is judged.
  describe('check_local_addrs with stoq_host_addrs', () => {
    const POD = 'fd00:c::2'; // behind the host: forwarded, not ours
    const OWN2 = 'fd00:2::1'; // another address of the host (another interface)
    const frames = (dst: string, src: string) => ({
      short: udp6Frame({ dst, src, payload: quicShort() }),
      small: udp6Frame({ dst, payload: quicLong({ type: 'initial', size: 1000 }) }),
      badLength: udp6Frame({ dst, payload: quicShort(40), udpLength: 47 }),
    });
    const tracked = (src: string) => prog.conntrack().some((e) => e.peerAddress === src);
    const fill = (...addresses: string[]) => {
      for (const a of addresses) prog.map(MAP_NAMES.hostAddrs).update(encodeHostAddrKey(a), HOST_ADDR_VALUE);
    };
    afterEach(() => {
      prog.clearMap(MAP_NAMES.hostAddrs);
      prog.clearMap(MAP_NAMES.conntrack);
    });

    it('the map: a 1024-entry hash of 16-byte addresses to one byte', () => {
      const map = prog.map(MAP_NAMES.hostAddrs);
      expect({ type: map.type, keySize: map.keySize, valueSize: map.valueSize, maxEntries: map.maxEntries })
        .toEqual({ type: 'hash', keySize: 16, valueSize: 1, maxEntries: HOST_ADDRS_ENTRIES });
    });

    it('on: a destination missing from the map is passed unjudged and untracked; one in it is judged and tracked as before', () => {
      fill(SERVER, OWN2);
      prog.writeConfig({ checkLocalAddrs: true });
      expect(decodeConfig(prog.dump(MAP_NAMES.config)[0]!.value).checkLocalAddrs).toBe(true);
      const pod = frames(POD, 'fd00:7::1');
      check(pod.short, XDP.PASS, 'quic_passed');
      check(pod.small, XDP.PASS, 'quic_passed');
      check(pod.badLength, XDP.PASS, 'quic_passed');
      expect(tracked('fd00:7::1')).toBe(false);
      for (const [dst, src] of [[SERVER, 'fd00:7::2'], [OWN2, 'fd00:7::3']] as const) {
        const own = frames(dst, src);
        check(own.short, XDP.PASS, 'quic_passed'); // the redirect path: no socket on testRun's queue
        expect(tracked(src)).toBe(true);
        check(own.small, XDP.DROP, 'initial_too_small_dropped');
        check(own.badLength, XDP.DROP, 'malformed_dropped');
      }
      // Not our port, IPv4, multicast: as before.
      check(udp6Frame({ dst: POD, dport: 53, payload: Buffer.alloc(40) }), XDP.PASS, 'udp_non_quic_passed');
      check(ipv4, XDP.DROP, 'ipv4_dropped');
      // An address added to the map is judged from the next packet; a removed one is passed.
      fill(POD);
      check(pod.small, XDP.DROP, 'initial_too_small_dropped');
      prog.map(MAP_NAMES.hostAddrs).delete(encodeHostAddrKey(OWN2));
      check(frames(OWN2, 'fd00:7::4').small, XDP.PASS, 'quic_passed');
    });

    it('on with an empty map: every QUIC-port datagram goes to the kernel', () => {
      prog.writeConfig({ checkLocalAddrs: true });
      check(frames(SERVER, 'fd00:7::5').small, XDP.PASS, 'quic_passed');
      check(frames(SERVER, 'fd00:7::5').short, XDP.PASS, 'quic_passed');
      expect(tracked('fd00:7::5')).toBe(false);
    });

    it('one differing bit anywhere in the destination is not a host address', () => {
      fill(SERVER);
      prog.writeConfig({ checkLocalAddrs: true });
      const base = ipv6ToBytes(SERVER);
      for (let byte = 0; byte < 16; byte++) {
        const dst = Buffer.from(base);
        dst[byte] = dst[byte]! ^ (byte % 2 === 0 ? 0x80 : 0x01);
        check(udp6Frame({ dst: ipv6FromBytes(dst), payload: quicLong({ type: 'initial', size: 1000 }) }), XDP.PASS, 'quic_passed');
      }
      check(udp6Frame({ payload: quicLong({ type: 'initial', size: 1000 }) }), XDP.DROP, 'initial_too_small_dropped');
    });

    it('off (the default): the map is not read, every destination is judged and tracked', () => {
      fill(SERVER);
      const pod = frames(POD, 'fd00:7::6');
      check(pod.small, XDP.DROP, 'initial_too_small_dropped');
      check(pod.badLength, XDP.DROP, 'malformed_dropped');
      check(pod.short, XDP.PASS, 'quic_passed');
      expect(tracked('fd00:7::6')).toBe(true);
      prog.writeConfig({ checkLocalAddrs: true });
      prog.writeConfig({ checkLocalAddrs: false });
      check(pod.small, XDP.DROP, 'initial_too_small_dropped');
    });

    it('local_addr set: it decides, the map is not consulted', () => {
      fill(POD);
      prog.writeConfig({ checkLocalAddrs: true, localAddress: SERVER });
      check(frames(POD, 'fd00:7::7').small, XDP.PASS, 'quic_passed'); // in the map, but not local_addr
      check(frames(SERVER, 'fd00:7::7').small, XDP.DROP, 'initial_too_small_dropped'); // local_addr, not in the map
    });
  });

  it('initial token bucket: an over-rate /64 is dropped while another /64 passes', () => {
    // 1 Initial/s, burst 3: within one test run (a few ms) the 4th and 5th are over rate.
    prog.writeConfig({ initialRate: 1, initialBurst: 3 });
    const from = (src: string) => udp6Frame({ src, payload: quicLong({ type: 'initial', size: 1200 }) });
    const before = prog.readStats();
    const verdicts = [1, 2, 3, 4, 5].map((i) => prog.run(from(`fd00:aaaa::${i}`)).retval);
    expect(verdicts).toEqual([XDP.PASS, XDP.PASS, XDP.PASS, XDP.DROP, XDP.DROP]);
    // Same /64 as before but another host, and a different /64.
    expect(prog.run(from('fd00:aaaa::99')).retval).toBe(XDP.DROP);
    expect(prog.run(from('fd00:bbbb::1')).retval).toBe(XDP.PASS);
    // Non-Initial QUIC from the limited /64 is not rate limited.
    expect(prog.run(udp6Frame({ src: 'fd00:aaaa::1', payload: quicShort() })).retval).toBe(XDP.PASS);
    const d = diffStats(before, prog.readStats());
    expect(d.counters.initial_rate_limited_dropped).toBe(3);
    expect(d.counters.quic_passed).toBe(5);
    expect(prog.dump(MAP_NAMES.initialBuckets)).toHaveLength(2);
    prog.clearMap(MAP_NAMES.initialBuckets);
  });

  it('initial token bucket: burst 0 means no limit', () => {
    prog.writeConfig({ initialRate: 1, initialBurst: 0 });
    const frame = udp6Frame({ src: 'fd00:cccc::1', payload: quicLong({ type: 'initial', size: 1200 }) });
    for (let i = 0; i < 20; i++) expect(prog.run(frame).retval).toBe(XDP.PASS);
  });
});
