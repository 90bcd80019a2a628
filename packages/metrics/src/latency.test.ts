// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { StoqMetricsError } from './errors.js';
import { LatencyRecorder } from './latency.js';
import { thrown } from '../test/helpers/thrown.js';

describe('LatencyRecorder', () => {
  it('is empty until something is recorded', () => {
    expect(new LatencyRecorder().summary()).toBeNull();
  });

  it('computes min/avg/percentiles in µs from kernel stamps against an injected clock', () => {
    const now = 10_000_000_000n;
    const recorder = new LatencyRecorder({ clock: () => now });
    // 1..100 µs, one sample each
    for (let us = 1; us <= 100; us++) recorder.recordLatencyNs(now - BigInt(us * 1000));
    const s = recorder.summary()!;
    expect(s.count).toBe(100);
    expect(s.minUs).toBeCloseTo(1, 2);
    expect(s.avgUs).toBeCloseTo(50.5, 1);
    expect(s.p50Us).toBeCloseTo(50, 0);
    expect(s.p95Us).toBeCloseTo(95, 0);
    expect(s.p99Us).toBeCloseTo(99, 0);
    expect(s.maxUs).toBeCloseTo(100, 0);
  });

  it('does not record stamps from the future, and counts them', () => {
    const recorder = new LatencyRecorder({ clock: () => 1000n });
    recorder.recordLatencyNs(2000n);
    expect(recorder.summary()).toBeNull();
    expect(recorder.futureStamps).toBe(1);
  });

  it('clamps latencies above the trackable maximum and counts them', () => {
    const recorder = new LatencyRecorder({ highestTrackableNs: 1_000_000 });
    recorder.recordNs(5_000_000);
    expect(recorder.clamped).toBe(1);
    expect(recorder.summary()!.maxUs).toBeCloseTo(1000, -1);
  });

  it('reset starts a new interval, the mean included', () => {
    const recorder = new LatencyRecorder();
    recorder.recordNs(1000);
    recorder.reset();
    expect(recorder.summary()).toBeNull();
    recorder.recordNs(4000);
    expect(recorder.summary()!.avgUs).toBe(4);
  });

  it('reports the exact minimum, not the bottom of its HDR bucket, and forgets it on reset()', () => {
    const coarse = new LatencyRecorder({ significantDigits: 1 });
    coarse.recordNs(1234);
    expect(coarse.summary()!.minUs).toBe(1.234); // the bucket gave 1.216
    const fine = new LatencyRecorder();
    for (const ns of [2_000_000, 1_234_567, 3_000_000]) fine.recordNs(ns);
    expect(fine.summary()!.minUs).toBe(1234.567); // the bucket gave 1233.92
    fine.reset();
    fine.recordNs(5_000_000);
    expect(fine.summary()!.minUs).toBe(5000);
  });

  it('refuses options that are not an object with a typed error', () => {
    const error = thrown(() => new LatencyRecorder(null as never));
    expect(error).toBeInstanceOf(StoqMetricsError);
    expect(error).toMatchObject({ code: 'STOQ_ERR_INVALID_ARGUMENT', field: 'options' });
  });

  it('keeps an exact mean, never above max or below min (HDR bucket midpoints are not)', () => {
    const single = new LatencyRecorder();
    single.recordNs(12_345_678);
    const one = single.summary()!;
    expect(one.avgUs).toBe(12_345.678);
    expect(one.avgUs).toBeLessThanOrEqual(one.maxUs);
    const many = new LatencyRecorder();
    for (let i = 1; i <= 1000; i++) many.recordNs(i * 1000 + 7);
    const s = many.summary()!;
    expect(s.avgUs).toBeCloseTo(500.507, 9);
    expect(s.minUs).toBeLessThanOrEqual(s.avgUs);
    expect(s.avgUs).toBeLessThanOrEqual(s.maxUs);
  });

  it('refuses a latency that is not a finite number >= 0 with a typed error, recording nothing', () => {
    const recorder = new LatencyRecorder();
    recorder.recordNs(2000);
    for (const bad of [NaN, -1, Infinity, -Infinity, undefined, '5', 5n]) {
      const error = thrown(() => recorder.recordNs(bad as number));
      expect(error, String(bad)).toBeInstanceOf(StoqMetricsError);
      expect(error).toMatchObject({ code: 'STOQ_ERR_INVALID_ARGUMENT', field: 'latencyNs' });
    }
    expect(recorder.summary()).toMatchObject({ count: 1, avgUs: 2, maxUs: 2 });
    expect(thrown(() => recorder.recordLatencyNs(5 as never, 10n))).toMatchObject({ code: 'STOQ_ERR_INVALID_ARGUMENT', field: 'kernelTimestampNs' });
    expect(recorder.summary()!.count).toBe(1);
  });

  it('refuses options the histogram cannot take with a typed error', () => {
    for (const options of [{ highestTrackableNs: 1 }, { highestTrackableNs: NaN }, { highestTrackableNs: 1.5 }, { significantDigits: 6 }, { clock: 5 }]) {
      expect(thrown(() => new LatencyRecorder(options as never)), JSON.stringify(options)).toBeInstanceOf(StoqMetricsError);
    }
  });
});

