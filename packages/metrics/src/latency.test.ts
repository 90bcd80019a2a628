// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { LatencyRecorder } from './latency.js';

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

  it('reset starts a new interval', () => {
    const recorder = new LatencyRecorder();
    recorder.recordNs(1000);
    recorder.reset();
    expect(recorder.summary()).toBeNull();
  });
});
