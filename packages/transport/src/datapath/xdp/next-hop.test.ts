// SPDX-License-Identifier: Apache-2.0
// NextHopTable against scripted route/neighbour lookups and a virtual clock: which
// source the route lookup gets (the bound address, or the one the peer sent to), the path MTU, re-validation of STALE neighbours (touchNeighbour6),
// the age limit of a hop, and refreshes that a flood of new destinations cannot starve.
import { describe, expect, it } from 'vitest';
import type { Ipv6Neighbour, Ipv6Route, LookupRoute6Options, NeighbourState } from '@stoq/af-xdp';
import { NextHopTable, type NextHopOptions } from './next-hop.js';

const IF = 'eth9';
const mac = (last: number) => Uint8Array.of(2, 0, 0, 0, 0, last);
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Script {
  routes: Map<string, Partial<Ipv6Route>>;
  neighbours: Map<string, { lladdr: Uint8Array; states: NeighbourState[] }>;
  routeCalls: Array<{ address: string; options: LookupRoute6Options }>;
  /** touchNeighbour6 calls, `ifname address`. */
  touches: string[];
  /** What touchNeighbour6 throws, when set. */
  touchError: Error | null;
  ifMtu: number;
  ifMac: Uint8Array;
  interfaceReads: number;
  clock: number;
}

function table(options: Partial<NextHopOptions> = {}) {
  const s: Script = { routes: new Map(), neighbours: new Map(), routeCalls: [], touches: [], touchError: null, ifMtu: 1500, ifMac: mac(0xaa), interfaceReads: 0, clock: 0 };
  const lookups = {
    lookupRoute6: (address: string, opts: LookupRoute6Options = {}): Ipv6Route | null => {
      s.routeCalls.push({ address, options: opts });
      const r = s.routes.get(address) ?? s.routes.get('default');
      return r ? { type: 'unicast', ifname: IF, ifindex: 9, gateway: null, prefsrc: 'fd00::1', mtu: null, ...r } : null;
    },
    lookupNeighbour6: (_ifname: string, address: string): Ipv6Neighbour | null => {
      const n = s.neighbours.get(address);
      if (!n) return null;
      const usable = !n.states.includes('FAILED') && !n.states.includes('INCOMPLETE');
      return { lladdr: usable ? n.lladdr : null, states: n.states, usable };
    },
    touchNeighbour6: (ifname: string, address: string): boolean => {
      s.touches.push(`${ifname} ${address}`);
      if (s.touchError) throw s.touchError;
      return true;
    },
    ipv6ToBytes: (address: string) => new TextEncoder().encode(address.padEnd(16).slice(0, 16)),
    macToBytes: () => s.ifMac,
  } as unknown as NextHopOptions['lookups'];
  const t = new NextHopTable({
    ifname: IF, boundAddress: null, loopback: false, lookups,
    readInterface: () => {
      s.interfaceReads++;
      return { mac: s.ifMac, mtu: s.ifMtu };
    },
    now: () => s.clock,
    ...options,
  });
  return { t, s };
}

/** Looks up, lets the resolution run, looks up again. */
async function resolved(t: NextHopTable, address: string) {
  t.lookup(address);
  await turn();
  return t.lookup(address);
}

describe('NextHopTable', () => {
  it("asks the route for the bound address as its source (ip rule from …), and for none when bound to '::'", async () => {
    const bound = table({ boundAddress: 'fd00::5' });
    bound.s.neighbours.set('fd00::2', { lladdr: mac(2), states: ['REACHABLE'] });
    bound.s.routes.set('default', {});
    expect(await resolved(bound.t, 'fd00::2')).not.toBeNull();
    expect(bound.s.routeCalls[0]).toEqual({ address: 'fd00::2', options: { src: 'fd00::5' } });

    const any = table();
    any.s.routes.set('default', {});
    any.s.neighbours.set('fe80::2', { lladdr: mac(2), states: ['REACHABLE'] });
    await resolved(any.t, 'fe80::2');
    expect(any.s.routeCalls[0]).toEqual({ address: 'fe80::2', options: { oif: IF } });
  });

  it("bound to '::', a hop for the address the peer sent to: resolved on its first lookup, routed from it, only if it is ours, its STALE neighbour touched", async () => {
    const { t, s } = table();
    s.routes.set('default', {}); // prefsrc fd00::1
    s.routes.set('fd00::9', { type: 'local', ifname: 'lo' });
    s.neighbours.set('fd00::2', { lladdr: mac(2), states: ['REACHABLE'] });
    // No turn of the event loop: the kernel socket would send this one from fd00::1.
    const hop = t.lookup('fd00::2', 'fd00::9');
    expect(hop?.srcAddress).toEqual(new TextEncoder().encode('fd00::9'.padEnd(16)));
    expect(hop?.otherSource).toBe(true);
    expect(s.routeCalls).toEqual([
      { address: 'fd00::2', options: { src: 'fd00::9' } },
      { address: 'fd00::9', options: {} },
    ]);
    // The route's own source (learnt from that lookup: the kernel socket sends from it)
    // and no source are separate entries, resolved off the send path as any other (the
    // previous code resolved fd00::1's on the spot too: fails).
    expect(t.lookup('fd00::2', 'fd00::1')).toBeNull();
    expect(t.lookup('fd00::2')).toBeNull();
    expect(s.routeCalls).toHaveLength(2);
    await turn();
    expect(t.lookup('fd00::2', 'fd00::1')?.otherSource).toBe(false);
    expect(t.lookup('fd00::2')?.srcAddress).toEqual(new TextEncoder().encode('fd00::1'.padEnd(16)));

    // A destination that is not ours (traffic routed through this host): no hop.
    expect(t.lookup('fd00::2', 'fd00::77')).toBeNull();
    expect(t.reason('fd00::2', 'fd00::77')).toMatch(/fd00::77 .* is not an address of this host/);

    // A STALE neighbour: the kernel is asked to re-validate it when the hop is read (on
    // the next turn when read on the send path: the previous code touched it there,
    // fails), and every datagram goes out as a frame (nothing through the kernel, from
    // any source).
    s.neighbours.set('fd00::3', { lladdr: mac(3), states: ['STALE'] });
    expect(t.lookup('fd00::3', 'fd00::9')).not.toBeNull();
    expect(s.touches).toEqual([]);
    await turn();
    expect(s.touches).toEqual([`${IF} fd00::3`]);
    expect(t.lookup('fd00::3', 'fd00::9')).not.toBeNull();
    t.lookup('fd00::3', 'fd00::1');
    await turn();
    expect(t.lookup('fd00::3', 'fd00::1')).not.toBeNull();
    expect(t.neighbourProbes).toBe(2);

    // Bound, the source asked for is ignored: the bound address is the source.
    const bound = table({ boundAddress: 'fd00::5' });
    bound.s.routes.set('default', {});
    bound.s.neighbours.set('fd00::2', { lladdr: mac(2), states: ['REACHABLE'] });
    expect(bound.t.lookup('fd00::2', 'fd00::9')).toBeNull();
    await turn();
    expect(bound.t.lookup('fd00::2', 'fd00::9')?.otherSource).toBe(false);
    expect(bound.s.routeCalls).toEqual([{ address: 'fd00::2', options: { src: 'fd00::5' } }]);
  });

  it("bound to '::', a source is taken as preferred only for the destinations whose route prefers it (the previous code took any route's preferred source as preferred for every destination: fails)", async () => {
    const { t, s } = table();
    // fd00::1 is preferred for fd00::/8, 2001:db8::1 for the rest; both are ours.
    s.routes.set('default', { prefsrc: '2001:db8::1' });
    s.routes.set('fd00::5', { prefsrc: 'fd00::1' });
    s.routes.set('fd00::1', { type: 'local', ifname: 'lo' });
    s.routes.set('2001:db8::1', { type: 'local', ifname: 'lo' });
    s.neighbours.set('fd00::5', { lladdr: mac(5), states: ['REACHABLE'] });
    s.neighbours.set('2001:db8::7', { lladdr: mac(7), states: ['REACHABLE'] });
    // fd00::5 sent to fd00::1, its route's preferred source (not known yet: resolved on the spot).
    expect(t.lookup('fd00::5', 'fd00::1')?.otherSource).toBe(false);
    // 2001:db8::7 sent to fd00::1 too, which is not its route's preferred source (the
    // kernel would answer from 2001:db8::1): its first reply is a frame from fd00::1.
    const hop = t.lookup('2001:db8::7', 'fd00::1');
    expect(hop?.srcAddress).toEqual(new TextEncoder().encode('fd00::1'.padEnd(16)));
    expect(hop?.otherSource).toBe(true);
    // Its own preferred source, now known from that lookup: off the send path.
    const calls = s.routeCalls.length;
    expect(t.lookup('2001:db8::7', '2001:db8::1')).toBeNull();
    expect(s.routeCalls).toHaveLength(calls);
    await turn();
    expect(t.lookup('2001:db8::7', '2001:db8::1')?.otherSource).toBe(false);
    // A destination not looked up yet: its preferred source is unknown, so on the spot.
    s.neighbours.set('2001:db8::8', { lladdr: mac(8), states: ['REACHABLE'] });
    expect(t.lookup('2001:db8::8', '2001:db8::1')?.otherSource).toBe(false);
  });

  it('a resolution that finds no hop clears otherSource (the previous code kept the last one: fails)', async () => {
    const { t, s } = table({ refreshMs: 1000 });
    s.routes.set('default', {}); // prefsrc fd00::1
    s.routes.set('fd00::9', { type: 'local', ifname: 'lo' });
    s.neighbours.set('fd00::2', { lladdr: mac(2), states: ['REACHABLE'] });
    const ref = t.ref('fd00::2', 'fd00::9');
    expect(ref?.otherSource).toBe(true);
    // The route now leaves through another interface, then there is none.
    s.routes.set('default', { ifname: 'eth0', prefsrc: 'fd00::9' });
    s.clock += 1000;
    expect(t.use(ref!)).not.toBeNull(); // the refresh is scheduled
    await turn();
    expect(t.use(ref!)).toBeNull();
    expect(ref?.otherSource).toBe(false);
    s.routes.delete('default');
    s.clock += 1000;
    t.use(ref!);
    await turn();
    expect(t.reason('fd00::2', 'fd00::9')).toMatch(/no route/);
    expect(ref?.otherSource).toBe(false);
  });

  it("the hop's MTU is the interface's, or the route's (route mtu, PMTU exception) when smaller; both are re-read on refresh", async () => {
    const { t, s } = table();
    s.routes.set('default', {});
    s.neighbours.set('fd00::2', { lladdr: mac(2), states: ['REACHABLE'] });
    expect((await resolved(t, 'fd00::2'))?.mtu).toBe(1500);
    s.routes.set('default', { mtu: 1400 });
    s.ifMtu = 1280;
    s.ifMac = mac(0xbb);
    s.clock += 2000;
    expect((await resolved(t, 'fd00::2'))?.mtu).toBe(1280);
    s.ifMtu = 9000;
    s.clock += 2000;
    const hop = await resolved(t, 'fd00::2');
    expect(hop?.mtu).toBe(1400);
    // Our own MAC is read with it: a changed one is used from the next refresh.
    expect(hop?.srcMac).toEqual(mac(0xbb));
    expect(s.interfaceReads).toBe(3);
  });

  it('a STALE neighbour is touched (the kernel re-validates it) once per refresh, its datagrams all frames; DELAY, PROBE, REACHABLE and PERMANENT are not', async () => {
    const { t, s } = table();
    s.routes.set('default', {});
    s.routes.set('fd00:1::5', { gateway: 'fd00::1:1' });
    s.neighbours.set('fd00::2', { lladdr: mac(2), states: ['STALE'] });
    s.neighbours.set('fd00::3', { lladdr: mac(3), states: ['REACHABLE'] });
    s.neighbours.set('fd00::4', { lladdr: mac(4), states: ['PERMANENT'] });
    s.neighbours.set('fd00::1:1', { lladdr: mac(5), states: ['STALE'] });
    for (const a of ['fd00::2', 'fd00::3', 'fd00::4', 'fd00:1::5']) t.lookup(a);
    await turn();
    const hops = (a: string) => Array.from({ length: 50 }, () => t.lookup(a)).filter((h) => h !== null).length;
    expect([hops('fd00::2'), hops('fd00::3'), hops('fd00::4'), hops('fd00:1::5')]).toEqual([50, 50, 50, 50]);
    // Through a gateway, the gateway's entry is the one touched.
    expect(s.touches).toEqual([`${IF} fd00::2`, `${IF} fd00::1:1`]);
    expect(t.neighbourProbes).toBe(2);
    s.touches = [];
    // The kernel moves the entry on; DELAY and PROBE are its own re-validation: no touch.
    for (const state of ['DELAY', 'PROBE'] as const) {
      s.neighbours.set('fd00::2', { lladdr: mac(2), states: [state] });
      s.clock += 500; // unconfirmed entries are re-read every 500 ms
      t.lookup('fd00::2');
      await turn();
      expect(hops('fd00::2')).toBe(50);
    }
    expect(s.touches).toEqual([]);
    // STALE again within the refresh period: not touched before the period is over.
    s.neighbours.set('fd00::2', { lladdr: mac(2), states: ['STALE'] });
    s.clock += 500;
    t.lookup('fd00::2');
    await turn();
    expect(s.touches).toEqual([]);
    s.clock += 500;
    t.lookup('fd00::2');
    await turn();
    expect(s.touches).toEqual([`${IF} fd00::2`]);
    expect(hops('fd00::2')).toBe(50);
    // Once the kernel gives up on the old MAC (FAILED), it is no longer used.
    s.neighbours.set('fd00::2', { lladdr: mac(2), states: ['FAILED'] });
    s.clock += 500;
    t.lookup('fd00::2');
    await turn();
    expect(t.lookup('fd00::2')).toBeNull();
    expect(t.reason('fd00::2')).toMatch(/no usable neighbour entry for fd00::2 on eth9 \(FAILED\)/);
    // The kernel re-resolved the entry to the peer's new MAC: used from the next read.
    s.neighbours.set('fd00::2', { lladdr: mac(0x22), states: ['REACHABLE'] });
    s.clock += 100;
    t.lookup('fd00::2');
    await turn();
    expect(t.lookup('fd00::2')?.dstMac).toEqual(mac(0x22));
    expect(t.neighbourProbes).toBe(3);
    expect(t.neighbourProbeErrors).toBe(0);
  });

  it('when the kernel refuses the touch, the next datagram goes through the kernel socket instead (not for a source the kernel cannot send from)', async () => {
    const { t, s } = table();
    s.routes.set('default', {}); // prefsrc fd00::1
    s.routes.set('fd00::9', { type: 'local', ifname: 'lo' });
    s.neighbours.set('fd00::2', { lladdr: mac(2), states: ['STALE'] });
    s.touchError = Object.assign(new Error('rtnetlink RTM_NEWNEIGH(NTF_USE) failed: Operation not permitted'), { code: 'STOQ_ERR_XSK_PERMISSION' });
    t.lookup('fd00::2');
    await turn();
    expect(t.lookup('fd00::2')).toBeNull();
    expect(t.lookup('fd00::2')).not.toBeNull();
    expect([t.neighbourProbes, t.neighbourProbeErrors, t.resolveErrors]).toEqual([1, 1, 1]);
    // From the address the peer sent to, the kernel socket would send from fd00::1: a frame.
    expect(t.lookup('fd00::2', 'fd00::9')).not.toBeNull();
    await turn();
    expect(t.lookup('fd00::2', 'fd00::9')).not.toBeNull();
    expect(t.neighbourProbeErrors).toBe(2);
  });

  it("a refused touch or a failed lookup is reported once per kind and code through onError, with its errno and hint (the previous code only counted them)", async () => {
    const errors: Error[] = [];
    const { t, s } = table({ onError: (error) => errors.push(error) });
    s.routes.set('default', {});
    s.neighbours.set('fd00::2', { lladdr: mac(2), states: ['STALE'] });
    s.neighbours.set('fd00::3', { lladdr: mac(3), states: ['STALE'] });
    s.touchError = Object.assign(new Error('rtnetlink RTM_NEWNEIGH(NTF_USE) failed: Operation not permitted'), {
      code: 'STOQ_ERR_XSK_PERMISSION', errno: 1, hint: 'asking the kernel to re-validate a neighbour (RTM_NEWNEIGH) needs CAP_NET_ADMIN',
    });
    t.lookup('fd00::2');
    t.lookup('fd00::3');
    await turn();
    expect(t.neighbourProbeErrors).toBe(2);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      code: 'STOQ_ERR_XDP_UNAVAILABLE', operation: 'touchNeighbour6', errno: 1, hint: expect.stringMatching(/CAP_NET_ADMIN/) as unknown,
    });
    expect(errors[0]?.message).toMatch(/re-validate neighbour fd00::2 on eth9 .*Operation not permitted/);
    expect(errors[0]?.cause).toBe(s.touchError);
    // A lookup that throws: its own report, with a hint of what to check.
    const failing = table({
      onError: (error) => errors.push(error),
      lookups: {
        lookupRoute6: () => { throw Object.assign(new Error('rtnetlink RTM_GETROUTE failed: No buffer space available'), { errno: 105 }); },
        lookupNeighbour6: () => null, touchNeighbour6: () => true, ipv6ToBytes: () => new Uint8Array(16), macToBytes: () => mac(1),
      } as unknown as NextHopOptions['lookups'],
    });
    failing.t.lookup('fd00::4');
    failing.t.lookup('fd00::5');
    await turn();
    expect(failing.t.resolveErrors).toBe(2);
    expect(errors).toHaveLength(2);
    expect(errors[1]).toMatchObject({ operation: 'nextHopLookup', errno: 105, hint: expect.stringMatching(/ip -6 route get/) as unknown });
  });

  it('resolved on the send path, the interface MAC/MTU of the last read are used while younger than a refresh (no sysfs read on the send path)', async () => {
    const { t, s } = table();
    s.routes.set('default', {}); // prefsrc fd00::1
    s.routes.set('fd00::9', { type: 'local', ifname: 'lo' });
    s.neighbours.set('fd00::2', { lladdr: mac(2), states: ['REACHABLE'] });
    s.neighbours.set('fd00::3', { lladdr: mac(3), states: ['REACHABLE'] });
    await resolved(t, 'fd00::2');
    expect(s.interfaceReads).toBe(1);
    s.clock += 500; // past retryMs: a refresh off the send path would read again
    expect(t.lookup('fd00::3', 'fd00::9')).not.toBeNull();
    expect(s.interfaceReads).toBe(1); // the previous code read sysfs here: 2
    s.clock += 2000;
    expect(t.lookup('fd00::4', 'fd00::9')).toBeNull(); // no neighbour: the kernel's
    expect(s.interfaceReads).toBe(1);
    s.neighbours.set('fd00::5', { lladdr: mac(5), states: ['REACHABLE'] });
    expect(t.lookup('fd00::5', 'fd00::9')).not.toBeNull();
    expect(s.interfaceReads).toBe(2); // older than a refresh: read again
  });

  it('ref() gives the entry to keep per peer and use() its hop without a key; an entry dropped from the table says so (evicted)', async () => {
    const { t, s } = table();
    s.routes.set('default', {}); // prefsrc fd00::1
    s.routes.set('fd00::9', { type: 'local', ifname: 'lo' });
    s.neighbours.set('fd00::2', { lladdr: mac(2), states: ['REACHABLE'] });
    const ref = t.ref('fd00::2', 'fd00::9');
    expect(ref).toMatchObject({ address: 'fd00::2', key: 'fd00::2|fd00::9', evicted: false, otherSource: true });
    expect(t.ref('fd00::2', 'fd00::9')).toBe(ref);
    expect(t.use(ref!)).toBe(t.lookup('fd00::2', 'fd00::9'));
    // Its refresh is started by use() as by lookup().
    s.neighbours.set('fd00::2', { lladdr: mac(0x22), states: ['REACHABLE'] });
    s.clock += 2000;
    t.use(ref!);
    await turn();
    expect(t.use(ref!)?.dstMac).toEqual(mac(0x22));
    // 4096 newer entries (at the budget's pace) push it out.
    for (let i = 0; i < 4096; i++) {
      if (i % 500 === 0) s.clock += 1000;
      t.ref(`fd00:1::${i.toString(16)}`);
      if (i % 30 === 29) await turn();
    }
    expect(ref?.evicted).toBe(true);
    const again = t.ref('fd00::2', 'fd00::9');
    expect(again).not.toBe(ref);
    t.close();
    expect(again?.evicted).toBe(true);
  });

  it('a hop whose refresh could not run for maxAgeMs is not used (the kernel sends) until a refresh succeeds', async () => {
    const { t, s } = table({ refreshMs: 2000, maxAgeMs: 6000 });
    s.routes.set('default', {});
    s.neighbours.set('fd00::2', { lladdr: mac(2), states: ['REACHABLE'] });
    expect(await resolved(t, 'fd00::2')).not.toBeNull();
    // No turn of the event loop: the refreshes started here cannot complete.
    s.clock += 5999;
    expect(t.lookup('fd00::2')).not.toBeNull();
    s.clock += 1;
    expect(t.lookup('fd00::2')).toBeNull();
    expect(t.expired).toBe(1);
    await turn();
    expect(t.lookup('fd00::2')).not.toBeNull();
  });

  it('a flood of new destinations cannot starve the refresh of a hop in use: its MAC change is seen at the next refresh', async () => {
    const { t, s } = table();
    s.routes.set('default', {});
    s.neighbours.set('fd00::2', { lladdr: mac(2), states: ['REACHABLE'] });
    expect((await resolved(t, 'fd00::2'))?.dstMac).toEqual(mac(2));
    s.neighbours.set('fd00::2', { lladdr: mac(0x22), states: ['REACHABLE'] });
    // Spoofed sources: 3000 new destinations in one second, resolving as they may.
    for (let i = 0; i < 3000; i++) {
      t.lookup(`fd00:bad::${i.toString(16)}`);
      if (i % 20 === 19) await turn();
    }
    expect(t.resolveDeferred).toBeGreaterThan(2000); // the flood was held to its share
    s.clock += 2000;
    t.lookup('fd00::2');
    await turn();
    expect(t.lookup('fd00::2')?.dstMac).toEqual(mac(0x22));

    // Pending resolutions: the flood holds at most half of them.
    s.neighbours.set('fd00::2', { lladdr: mac(0x23), states: ['REACHABLE'] });
    s.clock += 2000;
    for (let i = 0; i < 200; i++) t.lookup(`fd00:bad:1::${i.toString(16)}`);
    t.lookup('fd00::2');
    await turn();
    expect(t.lookup('fd00::2')?.dstMac).toEqual(mac(0x23));
  });

  it('a hop in use stays in the table while new destinations arrive at the budget rate', async () => {
    const { t, s } = table();
    s.routes.set('default', {});
    s.neighbours.set('fd00::2', { lladdr: mac(2), states: ['REACHABLE'] });
    await resolved(t, 'fd00::2');
    // 10,000 new destinations over 20 virtual seconds (more than the table holds), the
    // peer's traffic looking its hop up all along.
    for (let i = 0; i < 10_000; i++) {
      t.lookup(`fd00:bad::${i.toString(16)}`);
      if (i % 50 === 49) {
        s.clock += 100;
        t.lookup('fd00::2');
        await turn();
      }
    }
    const misses = t.misses;
    expect(t.lookup('fd00::2')).not.toBeNull();
    expect(t.misses).toBe(misses);
  });
});
