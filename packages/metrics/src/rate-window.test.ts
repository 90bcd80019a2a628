// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { StoqMetricsError } from './errors.js';
import { KeyedRateWindows, RateWindow } from './rate-window.js';
import { thrown } from '../test/helpers/thrown.js';

const s = (seconds: number) => BigInt(Math.round(seconds * 1e9));

describe('RateWindow', () => {
  it('has no rate until two readings exist', () => {
    const w = new RateWindow(5000);
    expect(w.perSecond()).toBeNull();
    w.add(s(1), 100);
    expect(w.perSecond()).toBeNull();
  });

  it('divides the increase across the window by the time it spans', () => {
    const w = new RateWindow(5000);
    w.add(s(0), 0);
    w.add(s(2), 400);
    expect(w.perSecond()).toBe(200);
  });

  it('forgets readings older than the window but keeps the window covered', () => {
    const w = new RateWindow(2000);
    for (let t = 0; t <= 4; t++) w.add(s(t), t < 2 ? t * 1000 : 2000 + (t - 2) * 10);
    // points kept: t=2 (edge) .. t=4 → (2020 - 2000) / 2 s
    expect(w.perSecond()).toBe(10);
  });

  it('starts over when the counter goes backwards (program reloaded) or time does not advance', () => {
    const w = new RateWindow(10_000);
    w.add(s(0), 5000);
    w.add(s(1), 6000);
    w.add(s(2), 10);
    expect(w.perSecond()).toBeNull();
    w.add(s(3), 110);
    expect(w.perSecond()).toBe(100);
    w.add(s(3), 500);
    expect(w.perSecond()).toBeNull();
  });

  it('rejects a window that is not a finite number > 0 with a typed error', () => {
    for (const windowMs of [0, -5, NaN, Infinity, null as unknown as number]) {
      expect(() => new RateWindow(windowMs), String(windowMs)).toThrow(StoqMetricsError);
      expect(() => new RateWindow(windowMs)).toThrow(RangeError); // what it threw before: still caught by old handlers
    }
  });
});

describe('RateWindow limits', () => {
  it('rejects a finite window whose nanoseconds are not a safe integer >= 1 (1e303 made BigInt() throw at every collect())', () => {
    for (const windowMs of [1e303, Number.MAX_VALUE, 2 ** 53, 1e-7]) {
      for (const build of [() => new RateWindow(windowMs), () => new KeyedRateWindows(windowMs)]) {
        const error = thrown(build);
        expect(error, String(windowMs)).toBeInstanceOf(StoqMetricsError);
        expect(error).toMatchObject({ code: 'STOQ_ERR_INVALID_ARGUMENT', field: 'windowMs' });
      }
    }
    const longest = new RateWindow(9e9); // 9e15 ns, about 104 days
    longest.add(s(0), 0);
    longest.add(s(2), 20);
    expect(longest.perSecond()).toBe(10);
  });

  it('takes a bigint time and a finite number, else a typed error that adds nothing', () => {
    const w = new RateWindow(10_000);
    w.add(s(0), 0);
    for (const [atNs, value, field] of [[1, 5, 'atNs'], [s(1), NaN, 'value'], [s(1), '5', 'value'], [s(1), 5n, 'value']] as const) {
      const error = thrown(() => w.add(atNs as bigint, value as number));
      expect(error, `${String(atNs)}, ${String(value)}`).toBeInstanceOf(StoqMetricsError);
      expect(error).toMatchObject({ code: 'STOQ_ERR_INVALID_ARGUMENT', field });
    }
    w.add(s(1), 10);
    expect(w.perSecond()).toBe(10);
    const k = new KeyedRateWindows(10_000);
    expect(thrown(() => k.add(s(0), null as never))).toMatchObject({ code: 'STOQ_ERR_INVALID_ARGUMENT', field: 'values' });
    expect(thrown(() => k.add(s(0), { a: 1, b: NaN }))).toMatchObject({ code: 'STOQ_ERR_INVALID_ARGUMENT', field: 'value' });
    expect(k.perSecond()).toEqual({}); // not even `a`
  });
});

describe('KeyedRateWindows', () => {
  it('rejects a bad window when built, not at the first add()', () => {
    for (const windowMs of [0, -5, NaN, Infinity]) {
      expect(() => new KeyedRateWindows(windowMs), String(windowMs)).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT', field: 'windowMs' }));
    }
  });

  it('keeps one window per key', () => {
    const k = new KeyedRateWindows(10_000);
    k.add(s(0), { a: 0, b: 10 });
    k.add(s(4), { a: 40, b: 10 });
    expect(k.perSecond()).toEqual({ a: 10, b: 0 });
  });

  it('forgets every key on reset()', () => {
    const k = new KeyedRateWindows(10_000);
    k.add(s(0), { a: 0 });
    k.add(s(1), { a: 10 });
    k.reset();
    k.add(s(2), { a: 1000 });
    expect(k.perSecond()).toEqual({ a: null });
  });
});
