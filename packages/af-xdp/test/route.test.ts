// SPDX-License-Identifier: Apache-2.0
// Route and neighbour lookups over rtnetlink against the kernel's real tables on the
// veth lab, checked against what `ip -j` reports for the same questions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createLab, type Lab } from '@stoq/netlab';
import { bytesToMac, lookupNeighbour6, lookupRoute6 } from '../src/index.js';
import { isRoot } from './helpers/env.js';

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
    expect(() => lookupNeighbour6(undefined as never, '::1')).toThrow(/ifname must be a non-empty interface name/);
  });
});

describe.skipIf(!isRoot)('route and neighbour lookups (veth lab)', () => {
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
    expect(route).toEqual({ type: 'unicast', ifname: lab.a.ifname, ifindex: lab.a.ifindex, gateway: null, prefsrc: ip!.prefsrc });
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
});
