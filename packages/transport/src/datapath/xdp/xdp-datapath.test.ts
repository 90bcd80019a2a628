// SPDX-License-Identifier: Apache-2.0
// XdpDatapath's own bookkeeping against stand-in parts (no XDP, no sockets): how a
// failing stoq_host_addrs refresh is reported.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DgramDatapath } from '../dgram-datapath.js';
import type { NativeModules } from './native-modules.js';
import type { NextHopTable } from './next-hop.js';
import type { StoqXdpProgram } from './stoq-program.js';
import { XdpDatapath } from './xdp-datapath.js';
import type { XskSet } from './xsk-set.js';

function datapath(syncHostAddresses: () => { addresses: number; checking: boolean; capacity: number }) {
  const parts = {
    modules: { afXdp: { ParsedUdp6Frame: class {}, bytesToIpv6: () => '::' } } as unknown as NativeModules,
    program: { config: () => ({ timestampMeta: false }), syncHostAddresses, link: null, unregisterSocket: () => {}, close: () => {} } as unknown as StoqXdpProgram,
    xdpMode: 'native' as const,
    sockets: { sockets: [], ifname: 'stoq-none0', mode: 'copy', close: () => {} } as unknown as XskSet,
    dgram: { localAddress: () => ({ address: '::', port: 9292 }) } as unknown as DgramDatapath,
    nextHops: { close: () => {}, onError: null } as unknown as NextHopTable,
  };
  return new XdpDatapath(parts);
}

describe('XdpDatapath', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("bound to '::', a failing stoq_host_addrs refresh is reported once per error code until one succeeds (the previous code reported it every 2 s: fails)", async () => {
    vi.useFakeTimers();
    const fail = (code: string) => Object.assign(new Error(`injected ${code}`), { code });
    let outcome: Error | null = fail('EPERM');
    const d = datapath(() => {
      if (outcome) throw outcome;
      return { addresses: 3, checking: true, capacity: 1024 };
    });
    const errors: string[] = [];
    d.start(() => {}, (e) => errors.push(e.message));
    expect(errors).toEqual(['injected EPERM']);
    vi.advanceTimersByTime(2000 * 5);
    expect(errors).toEqual(['injected EPERM']);
    outcome = fail('ENOMEM');
    vi.advanceTimersByTime(2000);
    expect(errors).toEqual(['injected EPERM', 'injected ENOMEM']);
    // A successful refresh re-arms both.
    outcome = null;
    vi.advanceTimersByTime(2000);
    expect(d.stats().hostAddresses).toBe(3);
    outcome = fail('EPERM');
    vi.advanceTimersByTime(2000 * 3);
    expect(errors).toEqual(['injected EPERM', 'injected ENOMEM', 'injected EPERM']);
    await d.close();
  });

  it('a failing refresh whose error has no code or errno is one kind, whatever its message says (the previous code keyed on the message: reported every 2 s while it changed, fails)', async () => {
    vi.useFakeTimers();
    let n = 0;
    const d = datapath(() => {
      throw new Error(`injected failure #${++n}`);
    });
    const errors: string[] = [];
    d.start(() => {}, (e) => errors.push(e.message));
    vi.advanceTimersByTime(2000 * 3);
    expect(n).toBe(4);
    expect(errors).toEqual(['injected failure #1']);
    await d.close();
  });
});
