// SPDX-License-Identifier: Apache-2.0
// XdpDatapath's own bookkeeping against stand-in parts (no XDP, no sockets): how a
// failing stoq_host_addrs refresh is reported, and what triggers a refresh (the address
// watch, coalesced; the timer). test/xdp-local-address.test.ts runs the real watch.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Ipv6AddressWatch, XskError } from '@stoq/af-xdp';
import type { DgramDatapath } from '../dgram-datapath.js';
import type { NativeModules } from './native-modules.js';
import type { NextHopTable } from './next-hop.js';
import type { StoqXdpProgram } from './stoq-program.js';
import { XdpDatapath } from './xdp-datapath.js';
import type { XskSet } from './xsk-set.js';

type OnChange = (error?: XskError) => void;
/** Opens the stand-in address watch; the default one cannot be opened (the 2 s poll runs). */
type OpenWatch = (onChange: OnChange) => Ipv6AddressWatch;
const NO_WATCH: OpenWatch = () => {
  throw Object.assign(new Error('injected: no netlink'), { code: 'STOQ_ERR_XSK_PERMISSION' });
};

function datapath(syncHostAddresses: () => { addresses: number; checking: boolean; capacity: number }, watchIpv6Addresses: OpenWatch = NO_WATCH) {
  const parts = {
    modules: { afXdp: { ParsedUdp6Frame: class {}, bytesToIpv6: () => '::', watchIpv6Addresses } } as unknown as NativeModules,
    program: { config: () => ({ timestampMeta: false }), syncHostAddresses, link: null, unregisterSocket: () => {}, close: () => {} } as unknown as StoqXdpProgram,
    xdpMode: 'native' as const,
    sockets: { sockets: [], ifname: 'stoq-none0', mode: 'copy', close: () => {} } as unknown as XskSet,
    dgram: { localAddress: () => ({ address: '::', port: 9292 }) } as unknown as DgramDatapath,
    nextHops: { close: () => {}, onError: null } as unknown as NextHopTable,
  };
  return new XdpDatapath(parts);
}

/** A datapath whose stoq_host_addrs refreshes always succeed (3 addresses) and are counted. */
function countingDatapath(watchIpv6Addresses: OpenWatch = NO_WATCH) {
  const counter = { refreshes: 0 };
  const d = datapath(() => {
    counter.refreshes++;
    return { addresses: 3, checking: true, capacity: 1024 };
  }, watchIpv6Addresses);
  return { d, counter };
}

/** A stand-in watch whose notifications the test sends. */
function fakeWatch() {
  const state = { onChange: null as OnChange | null, closes: 0 };
  const open: OpenWatch = (onChange) => {
    state.onChange = onChange;
    return {
      get closed() {
        return state.closes > 0;
      },
      close: () => void state.closes++,
    };
  };
  return { state, open };
}

/** Reported errors, the watch's own report ("cannot follow …") apart. */
const refreshErrors = (errors: string[]) => errors.filter((m) => !m.startsWith('cannot follow'));

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
    expect(refreshErrors(errors)).toEqual(['injected EPERM']);
    vi.advanceTimersByTime(2000 * 5);
    expect(refreshErrors(errors)).toEqual(['injected EPERM']);
    outcome = fail('ENOMEM');
    vi.advanceTimersByTime(2000);
    expect(refreshErrors(errors)).toEqual(['injected EPERM', 'injected ENOMEM']);
    // A successful refresh re-arms both.
    outcome = null;
    vi.advanceTimersByTime(2000);
    expect(d.stats().hostAddresses).toBe(3);
    outcome = fail('EPERM');
    vi.advanceTimersByTime(2000 * 3);
    expect(refreshErrors(errors)).toEqual(['injected EPERM', 'injected ENOMEM', 'injected EPERM']);
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
    expect(refreshErrors(errors)).toEqual(['injected failure #1']);
    await d.close();
  });
  it("bound to '::', a burst of address notifications is one refresh on the next turn, and the timer is only a 30 s safety net (the previous code polled every 2 s: fails)", async () => {
    vi.useFakeTimers();
    const watch = fakeWatch();
    const { d, counter } = countingDatapath(watch.open);
    const errors: Error[] = [];
    d.start(() => {}, (e) => errors.push(e));
    expect(counter.refreshes).toBe(1);
    vi.advanceTimersByTime(29_000);
    expect(counter.refreshes).toBe(1);
    for (let i = 0; i < 10; i++) watch.state.onChange!();
    expect(counter.refreshes).toBe(1);
    vi.advanceTimersToNextTimer(); // the setImmediate
    expect(counter.refreshes).toBe(2);
    watch.state.onChange!();
    vi.advanceTimersToNextTimer();
    expect(counter.refreshes).toBe(3);
    vi.advanceTimersByTime(1000); // 30 s since start
    expect(counter.refreshes).toBe(4);
    expect(errors).toEqual([]);
    await d.close();
    expect(watch.state.closes).toBe(1);
    watch.state.onChange!(); // a notification already queued when close() ran
    vi.advanceTimersByTime(60_000);
    expect(counter.refreshes).toBe(4);
  });

  it("bound to '::', notifications without end (a flapping link) refresh at most every 100 ms, and the last change is still followed", async () => {
    vi.useFakeTimers();
    const watch = fakeWatch();
    const { d, counter } = countingDatapath(watch.open);
    d.start(() => {}, () => {});
    expect(counter.refreshes).toBe(1);
    // A notification every 5 ms for 1 s: unthrottled, one refresh per notification (200).
    for (let i = 0; i < 200; i++) {
      watch.state.onChange!();
      vi.advanceTimersByTime(5);
    }
    expect(counter.refreshes).toBeGreaterThanOrEqual(1 + 9);
    expect(counter.refreshes).toBeLessThanOrEqual(1 + 11);
    // A change right after a refresh waits out the gap, and is not dropped.
    const before = counter.refreshes;
    watch.state.onChange!();
    vi.advanceTimersByTime(50);
    expect(counter.refreshes).toBe(before);
    vi.advanceTimersByTime(50);
    expect(counter.refreshes).toBe(before + 1);
    vi.advanceTimersByTime(1000);
    expect(counter.refreshes).toBe(before + 1);
    await d.close();
  });

  it("bound to '::', a watch that cannot be opened is reported once as STOQ_ERR_XDP_UNAVAILABLE with its reason, and the 2 s poll runs", async () => {
    vi.useFakeTimers();
    const { d, counter } = countingDatapath();
    const errors: Error[] = [];
    d.start(() => {}, (e) => errors.push(e));
    vi.advanceTimersByTime(2000 * 5);
    expect(counter.refreshes).toBe(6);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'STOQ_ERR_XDP_UNAVAILABLE', operation: 'hostAddresses', cause: expect.objectContaining({ code: 'STOQ_ERR_XSK_PERMISSION' }) });
    expect(errors[0]!.message).toMatch(/STOQ_ERR_XSK_PERMISSION: injected: no netlink.*every 2 s instead/);
    await d.close();
  });

  it("bound to '::', a watch that fails later is reported once; the poll goes back to every 2 s after a refresh at once", async () => {
    vi.useFakeTimers();
    const watch = fakeWatch();
    const { d, counter } = countingDatapath(watch.open);
    const errors: Error[] = [];
    d.start(() => {}, (e) => errors.push(e));
    vi.advanceTimersByTime(10_000);
    expect(counter.refreshes).toBe(1);
    watch.state.onChange!(Object.assign(new Error('injected: recv failed'), { code: 'STOQ_ERR_XSK_SYSCALL' }) as unknown as XskError);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'STOQ_ERR_XDP_UNAVAILABLE', operation: 'hostAddresses' });
    vi.advanceTimersToNextTimer();
    expect(counter.refreshes).toBe(2);
    vi.advanceTimersByTime(2000 * 3);
    expect(counter.refreshes).toBe(5);
    expect(errors).toHaveLength(1);
    await d.close();
  });
});
