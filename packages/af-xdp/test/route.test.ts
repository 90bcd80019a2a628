// SPDX-License-Identifier: Apache-2.0
// Route and neighbour lookups over rtnetlink against the kernel's real tables on the
// veth lab, checked against what `ip -j` reports for the same questions; and
// touchNeighbour6 moving an entry through the kernel's own neighbour discovery.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { execFileSync, spawnSync } from 'node:child_process';
import { createLab, type Lab } from '@stoq/netlab';
import { bytesToIpv6, bytesToMac, ipv6ToBytes, lookupNeighbour6, lookupRoute6, touchNeighbour6 } from '../src/index.js';
import { isRoot, waitFor } from './helpers/env.js';

const ipJson = (...args: string[]): Array<Record<string, unknown>> =>
  JSON.parse(execFileSync('ip', ['-j', '-6', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) || '[]');

describe('route lookups without a lab', () => {
  it('::1 is a local route on lo; bad input is a typed error', () => {
    expect(lookupRoute6('::1')).toMatchObject({ type: 'local', ifname: 'lo', gateway: null });
    expect(() => lookupRoute6('fe80::1')).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT' }));
    expect(() => lookupRoute6('10.0.0.1')).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT' }));
    expect(() => lookupNeighbour6('stoq-no-such0', '::1')).toThrow(expect.objectContaining({ code: 'STOQ_ERR_NO_SUCH_DEVICE' }));
    expect(() => lookupRoute6('::1', null as never)).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT' }));
    expect(() => lookupRoute6('::1', { oif: 5 as never })).toThrow(/oif must be a non-empty interface name/);
    expect(lookupRoute6('::1', { src: '::1' })).toMatchObject({ type: 'local', ifname: 'lo', mtu: null });
    for (const src of ['10.0.0.1', 'not-an-ip', 42, {}]) {
      expect(() => lookupRoute6('::1', { src: src as never })).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/src must be an IPv6 address/) }));
    }
    expect(() => lookupNeighbour6(undefined as never, '::1')).toThrow(/ifname must be a non-empty interface name/);
    expect(() => touchNeighbour6('stoq-no-such0', '::1')).toThrow(expect.objectContaining({ code: 'STOQ_ERR_NO_SUCH_DEVICE' }));
    expect(() => touchNeighbour6('lo', '10.0.0.1')).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT' }));
  });
});

describe('route and neighbour lookups (veth lab)', skipUnless(isRoot, 'needs root: route and neighbour lookups in a veth lab\'s namespaces'), () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await createLab({ hostSide: true });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('an on-link peer: the lab interface, no gateway, the same source address `ip route get` picks', () => {
    const route = lookupRoute6(lab.b.address);
    const [ip] = ipJson('route', 'get', lab.b.address);
    expect(route).toEqual({ type: 'unicast', ifname: lab.a.ifname, ifindex: lab.a.ifindex, gateway: null, prefsrc: ip!.prefsrc, mtu: null });
    expect(route!.prefsrc).toBe(lab.a.address);
  });

  it('a prefix routed through the peer: its gateway; an unreachable prefix: null; oif restricts the lookup', () => {
    const routed = `fd01:${lab.id.slice(0, 4)}:${lab.id.slice(4)}::/64`;
    const target = routed.replace('::/64', '::42');
    const unreachable = `fd02:${lab.id.slice(0, 4)}:${lab.id.slice(4)}::/64`;
    // The routed prefix goes away with the lab's interface; the unreachable one is removed below.
    execFileSync('ip', ['-6', 'route', 'add', routed, 'via', lab.b.address, 'dev', lab.a.ifname]);
    execFileSync('ip', ['-6', 'route', 'add', 'unreachable', unreachable]);
    try {
      expect(lookupRoute6(target)).toMatchObject({ type: 'unicast', ifname: lab.a.ifname, gateway: lab.b.address, prefsrc: lab.a.address });
      expect(lookupRoute6(unreachable.replace('::/64', '::1'))).toBeNull();
      expect(lookupRoute6(lab.b.address, { oif: lab.a.ifname })).toMatchObject({ ifname: lab.a.ifname });
      // No route to the peer leaves through lo: null here, an error from `ip` too.
      expect(lookupRoute6(lab.b.address, { oif: 'lo' })).toBeNull();
      expect(() => ipJson('route', 'get', lab.b.address, 'oif', 'lo')).toThrow(/unreachable/i);
    } finally {
      execFileSync('ip', ['-6', 'route', 'del', 'unreachable', unreachable]);
    }
  });

  it('the neighbour entry appears after traffic, with the peer MAC and a usable state, as `ip neigh` shows it', async () => {
    // No static neighbours in this lab: nothing is known before the first packet.
    const before = lookupNeighbour6(lab.a.ifname, lab.b.address);
    expect(before === null || !before.usable).toBe(true);
    execFileSync('ping', ['-6', '-c', '1', '-W', '2', '-I', lab.a.ifname, lab.b.address], { stdio: 'ignore' });
    const entry = lookupNeighbour6(lab.a.ifname, lab.b.address);
    expect(entry).not.toBeNull();
    expect(entry!.usable).toBe(true);
    expect(bytesToMac(entry!.lladdr!)).toBe(lab.b.mac);
    const [ip] = ipJson('neigh', 'show', 'to', lab.b.address, 'dev', lab.a.ifname);
    expect(entry!.states).toEqual(ip!.state);
    // Link-local destinations need their zone: the peer's fe80:: address through the lab interface.
    const [peer] = JSON.parse((await lab.exec(lab.b, 'ip', ['-j', '-6', 'addr', 'show', 'dev', lab.b.ifname])).stdout) as Array<{ addr_info: Array<{ local: string; scope: string }> }>;
    const linkLocal = peer!.addr_info.find((a) => a.scope === 'link')!.local;
    expect(lookupRoute6(linkLocal, { oif: lab.a.ifname })).toMatchObject({ type: 'unicast', ifname: lab.a.ifname, gateway: null });
    expect(lookupRoute6(`${linkLocal}%${lab.a.ifname}`)).toMatchObject({ type: 'unicast', ifname: lab.a.ifname, gateway: null });
  });

  /** An address in the lab's on-link /64 (last byte `last`), e.g. for a second gateway. */
  const onLink = (last: number): string => {
    const bytes = ipv6ToBytes(lab.b.address);
    bytes[15] = last;
    return bytesToIpv6(bytes);
  };
  /** A /64 of this lab's own (fd0N:ID::/64), so concurrent labs never share routes. */
  const labPrefix = (n: number): string => `fd0${n}:${lab.id.slice(0, 4)}:${lab.id.slice(4)}::`;

  it('src selects the table an `ip -6 rule from SRC` points to, as `ip -6 route get DST from SRC` does', () => {
    const prefix = labPrefix(3);
    const target = `${prefix}42`;
    const otherGateway = onLink(0x99);
    // A table number of this lab's own; the routes go away with its interface, the rule below.
    const table = String(100_000 + (parseInt(lab.id, 16) % 800_000));
    execFileSync('ip', ['-6', 'route', 'add', `${prefix}/64`, 'via', lab.b.address, 'dev', lab.a.ifname]);
    execFileSync('ip', ['-6', 'route', 'add', `${prefix}/64`, 'via', otherGateway, 'dev', lab.a.ifname, 'table', table]);
    execFileSync('ip', ['-6', 'rule', 'add', 'from', lab.a.address, 'lookup', table]);
    try {
      const [ip] = ipJson('route', 'get', target, 'from', lab.a.address);
      expect(ip!.gateway).toBe(otherGateway);
      expect(lookupRoute6(target, { src: lab.a.address })).toEqual({
        type: 'unicast', ifname: lab.a.ifname, ifindex: lab.a.ifindex, gateway: otherGateway, prefsrc: lab.a.address, mtu: null,
      });
      // Without a source (or from another one) the rule does not match: the main table.
      expect(lookupRoute6(target)).toMatchObject({ gateway: lab.b.address });
      expect(lookupRoute6(target, { src: onLink(0x77) })).toMatchObject({ gateway: lab.b.address });
      // src and oif together, as `ip route get … from … oif …`.
      expect(lookupRoute6(target, { src: lab.a.address, oif: lab.a.ifname })).toMatchObject({ gateway: otherGateway });
    } finally {
      execFileSync('ip', ['-6', 'rule', 'del', 'from', lab.a.address, 'lookup', table]);
    }
  });

  it('mtu: a route `mtu 1300`, and a PMTU exception learnt from an ICMPv6 Packet Too Big, as `ip -6 route get` shows them', async () => {
    const capped = labPrefix(4);
    execFileSync('ip', ['-6', 'route', 'add', `${capped}/64`, 'via', lab.b.address, 'dev', lab.a.ifname, 'mtu', '1300']);
    expect(lookupRoute6(`${capped}1`)).toMatchObject({ gateway: lab.b.address, mtu: 1300 });
    expect(ipJson('route', 'get', `${capped}1`)[0]!.metrics).toEqual([{ mtu: 1300 }]);

    // Side B answers a (never sent) 1500-byte echo request from A to `target` with a
    // Packet Too Big of MTU 1400: the kernel caches a PMTU exception for `target` (the
    // ICMPv6 error handler needs no socket), which expires, or goes with the interface.
    const pmtu = labPrefix(5);
    const target = `${pmtu}7`;
    execFileSync('ip', ['-6', 'route', 'add', `${pmtu}/64`, 'via', lab.b.address, 'dev', lab.a.ifname]);
    expect(lookupRoute6(target)).toMatchObject({ gateway: lab.b.address, mtu: null });
    const script = [
      'import socket, struct, sys',
      'a, t = sys.argv[1], sys.argv[2]',
      "echo = struct.pack('!BBHHH', 128, 0, 0, 1, 1) + bytes(1452)",
      "inner = struct.pack('!IHBB', 6 << 28, len(echo), 58, 64) + socket.inet_pton(socket.AF_INET6, a) + socket.inet_pton(socket.AF_INET6, t) + echo",
      "ptb = struct.pack('!BBHI', 2, 0, 0, 1400) + inner[:1232]",
      's = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)',
      's.sendto(ptb, (a, 0))',
    ].join('\n');
    await lab.exec(lab.b, 'python3', ['-c', script, lab.a.address, target]);
    let route = lookupRoute6(target);
    for (let i = 0; i < 100 && route?.mtu !== 1400; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      route = lookupRoute6(target);
    }
    expect(route).toMatchObject({ gateway: lab.b.address, mtu: 1400 });
    expect(ipJson('route', 'get', target)[0]!.metrics).toEqual([{ mtu: 1400 }]);
    // Only that destination learnt it.
    expect(lookupRoute6(`${pmtu}8`)).toMatchObject({ mtu: null });
  });

  /** Side B's IPv6 counters (/proc/net/snmp6 of its namespace). */
  const peerCounters = async (): Promise<Record<string, number>> => {
    const { stdout } = await lab.exec(lab.b, 'cat', ['/proc/net/snmp6']);
    return Object.fromEntries(stdout.trim().split('\n').map((line) => line.trim().split(/\s+/)).map(([k, v]) => [k, Number(v)]));
  };
  const states = (address: string): string => lookupNeighbour6(lab.a.ifname, address)?.states.join(',') ?? 'none';

  it('touchNeighbour6 re-validates a STALE entry (DELAY, a solicitation, REACHABLE) without sending a datagram, and resolves an unknown address', async () => {
    // The kernel waits delay_first_probe_time (5 s) in DELAY: 1 s on this lab's interface.
    execFileSync('sysctl', ['-qw', `net.ipv6.neigh.${lab.a.ifname}.delay_first_probe_time=1`]);
    execFileSync('ping', ['-6', '-c', '1', '-W', '2', '-I', lab.a.ifname, lab.b.address], { stdio: 'ignore' });
    execFileSync('ip', ['-6', 'neigh', 'change', lab.b.address, 'dev', lab.a.ifname, 'nud', 'stale']);
    expect(states(lab.b.address)).toBe('STALE');
    const before = await peerCounters();
    expect(touchNeighbour6(lab.a.ifname, lab.b.address)).toBe(true);
    expect(states(lab.b.address)).toBe('DELAY');
    await waitFor(() => states(lab.b.address) === 'REACHABLE', 5_000, 'the entry to be confirmed');
    const after = await peerCounters();
    expect(after.Icmp6InNeighborSolicits! - before.Icmp6InNeighborSolicits!).toBeGreaterThanOrEqual(1);
    // No datagram reached the peer: the kernel sent only its solicitation.
    expect(after.Udp6InDatagrams! + after.Udp6NoPorts!).toBe(before.Udp6InDatagrams! + before.Udp6NoPorts!);
    expect(bytesToMac(lookupNeighbour6(lab.a.ifname, lab.b.address)!.lladdr!)).toBe(lab.b.mac);
    // Touching a confirmed entry changes nothing.
    expect(touchNeighbour6(lab.a.ifname, lab.b.address)).toBe(true);
    expect(states(lab.b.address)).toBe('REACHABLE');

    // An address the table does not know yet: the kernel creates the entry and resolves it.
    const second = onLink(0x55);
    await lab.exec(lab.b, 'ip', ['-6', 'addr', 'add', `${second}/64`, 'dev', lab.b.ifname, 'nodad']);
    expect(lookupNeighbour6(lab.a.ifname, second)).toBeNull();
    expect(touchNeighbour6(lab.a.ifname, second)).toBe(true);
    await waitFor(() => states(second) === 'REACHABLE', 3_000, 'the new entry to be resolved');
    expect(bytesToMac(lookupNeighbour6(lab.a.ifname, second)!.lladdr!)).toBe(lab.b.mac);
    // Nobody there: resolution starts (INCOMPLETE; the kernel would give up, FAILED, after its solicitations, ~3 s, not waited for here).
    const nobody = onLink(0x56);
    expect(touchNeighbour6(lab.a.ifname, nobody)).toBe(true);
    expect(states(nobody)).toBe('INCOMPLETE');
  });

  it('touchNeighbour6 leaves a PERMANENT entry alone (NTF_USE would demote it), and without CAP_NET_ADMIN is STOQ_ERR_XSK_PERMISSION', () => {
    const fixed = onLink(0x98);
    execFileSync('ip', ['-6', 'neigh', 'replace', fixed, 'lladdr', '02:00:00:00:00:98', 'dev', lab.a.ifname, 'nud', 'permanent']);
    expect(touchNeighbour6(lab.a.ifname, fixed)).toBe(false);
    expect(lookupNeighbour6(lab.a.ifname, fixed)).toMatchObject({ states: ['PERMANENT'], usable: true });
    expect(bytesToMac(lookupNeighbour6(lab.a.ifname, fixed)!.lladdr!)).toBe('02:00:00:00:00:98');

    // A child without CAP_NET_ADMIN (dropped from its bounding set): lookups work, the touch is refused.
    const dist = new URL('../dist/index.js', import.meta.url).href;
    const script = `const m = await import(${JSON.stringify(dist)});
      const entry = m.lookupNeighbour6(${JSON.stringify(lab.a.ifname)}, ${JSON.stringify(lab.b.address)});
      try { m.touchNeighbour6(${JSON.stringify(lab.a.ifname)}, ${JSON.stringify(lab.b.address)}); console.log('touched'); }
      catch (e) { console.log(JSON.stringify({ found: entry !== null, code: e.code, errnoCode: e.errnoCode, message: e.message })); }`;
    const child = spawnSync('setpriv', ['--bounding-set', '-net_admin', '--inh-caps', '-net_admin', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toMatchObject({ found: true, code: 'STOQ_ERR_XSK_PERMISSION', errnoCode: 'EPERM', message: expect.stringMatching(/RTM_NEWNEIGH.*CAP_NET_ADMIN/s) });
  });
});
