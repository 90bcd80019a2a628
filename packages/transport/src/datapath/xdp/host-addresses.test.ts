// SPDX-License-Identifier: Apache-2.0
// The host's addresses for stoq_host_addrs (which link-local ones count, scope ids), and
// StoqXdpProgram.syncHostAddresses() against a loaded stoq_xdp object in memory: diffs,
// the check turned on only after the entries are in, off when they do not fit, and
// updateConfig() unable to touch it.
import { describe, expect, it } from 'vitest';
import type { NetworkInterfaceInfo } from 'node:os';
import * as programs from '@stoq/bpf-programs';
import { hostIpv6Addresses } from './host-addresses.js';
import { StoqXdpProgram } from './stoq-program.js';
import type { NativeModules } from './native-modules.js';

const v6 = (address: string): NetworkInterfaceInfo => ({ address, family: 'IPv6', netmask: 'ffff:ffff:ffff:ffff::', mac: '02:00:00:00:00:01', internal: false, cidr: null, scopeid: 0 });
const v4 = (address: string): NetworkInterfaceInfo => ({ address, family: 'IPv4', netmask: '255.255.255.0', mac: '02:00:00:00:00:01', internal: false, cidr: null });

describe('hostIpv6Addresses', () => {
  const table = {
    lo: [v4('127.0.0.1'), v6('::1')],
    eth0: [v6('2001:db8::5'), v6('fe80::1%eth0'), v4('192.0.2.5')],
    br0: [v6('fd00:b::1'), v6('fe80::b%br0')],
    veth7: [v6('fe80::7%veth7')],
    docker0: [v6('fd00:d::1'), v6('FE80::d%docker0'), v6('2001:db8::5')],
  };

  it('every non-link-local IPv6 address of every interface, the XDP interface\'s link-local ones, no scope ids, no duplicates', () => {
    expect(hostIpv6Addresses('eth0', () => table, () => null).sort()).toEqual(['2001:db8::5', '::1', 'fd00:b::1', 'fd00:d::1', 'fe80::1'].sort());
  });

  it("a bridge port: its master's link-local addresses are ours too", () => {
    expect(hostIpv6Addresses('eth0', () => table, (i) => (i === 'eth0' ? 'br0' : null))).toContain('fe80::b');
    expect(hostIpv6Addresses('veth7', () => table, () => null)).toContain('fe80::7');
    expect(hostIpv6Addresses('veth7', () => table, () => null)).not.toContain('fe80::1');
  });
});

/** A stoq_xdp object with in-memory maps, enough for StoqXdpProgram's config and stoq_host_addrs. */
function fakeModules(capacity = 1024) {
  const maps = new Map<string, { entries: Map<string, Buffer>; maxEntries: number; writes: string[] }>();
  const writes: string[] = [];
  const map = (name: string) => {
    let m = maps.get(name);
    if (!m) maps.set(name, (m = { entries: new Map(), maxEntries: name === 'stoq_host_addrs' ? capacity : 1, writes }));
    const entries = m.entries;
    return {
      maxEntries: m.maxEntries,
      update: (k: Buffer, v: Buffer) => {
        writes.push(name === 'stoq_config' ? `config check=${v[programs.CONFIG_LAYOUT.offsets.check_local_addrs]}` : `add ${programs.decodeHostAddrKey(k)}`);
        entries.set(k.toString('hex'), Buffer.from(v));
      },
      delete: (k: Buffer) => {
        writes.push(`del ${programs.decodeHostAddrKey(k)}`);
        return entries.delete(k.toString('hex'));
      },
    };
  };
  const object = { map, close() {} };
  const m = { programs, loader: { BpfObject: { load: async () => object } } } as unknown as NativeModules;
  return { m, writes, hostAddrs: () => [...(maps.get('stoq_host_addrs')?.entries.keys() ?? [])].map((h) => programs.decodeHostAddrKey(Buffer.from(h, 'hex'))).sort() };
}

describe('StoqXdpProgram.syncHostAddresses', () => {
  it('fills the map, then turns the check on; later calls add and remove only the differences', async () => {
    const f = fakeModules();
    const p = await StoqXdpProgram.load(f.m, { localAddress: '::' });
    f.writes.length = 0;
    expect(p.syncHostAddresses(['fd00::1', 'FD00:0::1', 'fe80::1'])).toMatchObject({ addresses: 2, checking: true, added: 2, removed: 0 });
    expect(f.writes).toEqual(['add fd00::1', 'add fe80::1', 'config check=1']);
    expect(p.config().checkLocalAddrs).toBe(true);
    f.writes.length = 0;
    expect(p.syncHostAddresses(['fe80::1', 'fd00::2'])).toMatchObject({ addresses: 2, checking: true, added: 1, removed: 1 });
    expect(f.writes).toEqual(['del fd00::1', 'add fd00::2']);
    expect(f.hostAddrs()).toEqual(['fd00::2', 'fe80::1']);
  });

  it('more addresses than fit: the check goes off first (nothing is removed); back on once they fit', async () => {
    const f = fakeModules(3);
    const p = await StoqXdpProgram.load(f.m, {});
    p.syncHostAddresses(['fd00::1', 'fd00::2']);
    f.writes.length = 0;
    expect(p.syncHostAddresses(['fd00::1', 'fd00::2', 'fd00::3', 'fd00::4'])).toMatchObject({ addresses: 4, capacity: 3, checking: false });
    expect(f.writes).toEqual(['config check=0']);
    expect(p.config().checkLocalAddrs).toBe(false);
    f.writes.length = 0;
    expect(p.syncHostAddresses(['fd00::1', 'fd00::3'])).toMatchObject({ checking: true, added: 1, removed: 1 });
    expect(f.writes).toEqual(['del fd00::2', 'add fd00::3', 'config check=1']);
  });

  it('updateConfig() cannot toggle checkLocalAddrs, and keeps it through other changes', async () => {
    const f = fakeModules();
    const p = await StoqXdpProgram.load(f.m, {});
    expect(() => p.updateConfig({ checkLocalAddrs: true })).toThrow(/checkLocalAddrs/);
    p.syncHostAddresses(['fd00::1']);
    expect(() => p.updateConfig({ checkLocalAddrs: false })).toThrow(/checkLocalAddrs/);
    expect(p.updateConfig({ redirect: false, checkLocalAddrs: undefined }).checkLocalAddrs).toBe(true);
  });

  it('bound to one address: not used (local_addr decides)', async () => {
    const p = await StoqXdpProgram.load(fakeModules().m, { localAddress: 'fd00::1' });
    expect(() => p.syncHostAddresses(['fd00::1'])).toThrow(/local_addr decides/);
  });
});
