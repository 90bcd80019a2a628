// SPDX-License-Identifier: Apache-2.0
// Real kernel maps filled by real BPF_PROG_TEST_RUN packets (fixture XDP program, see
// helpers/bpftool-fixture.ts), read through the collector's sources.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conntrackSource, LatencyRecorder, MetricsCollector, toEbpfMetrics, xdpStatsSource } from '../src/index.js';
import {
  CountingFixture,
  decodeFixtureConntrack,
  decodeFixtureStats,
  FIXTURE_SIZE_LIMITS,
} from './helpers/bpftool-fixture.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('kernel-maps tests skipped: loading BPF programs needs root (CAP_BPF + CAP_SYS_ADMIN)');

describe.skipIf(!isRoot)('sources over real kernel maps', () => {
  let fixture: CountingFixture;
  beforeAll(async () => {
    fixture = await CountingFixture.load();
  });
  afterAll(async () => {
    await fixture?.close();
  });

  const statsSource = () =>
    xdpStatsSource({ map: fixture.statsMap, decode: decodeFixtureStats, sizeBucketLimits: FIXTURE_SIZE_LIMITS });

  it('counts exactly the packets sent per verdict, summed over both CPUs, with the frame-size histogram', async () => {
    const before = await statsSource().collect();
    if (!before.available) throw new Error(before.reason);
    await fixture.runPacket({ counterIndex: 0 }, 7, 0);
    await fixture.runPacket({ counterIndex: 5 }, 13, 1);
    await fixture.runPacket({ counterIndex: 11, length: 1500 }, 1, 0);
    const perCpu = await fixture.statsMap.lookupPerCpu(Buffer.alloc(4));
    expect(perCpu.length).toBeGreaterThanOrEqual(2);
    // the 13 packets sent from CPU 1 sit in CPU 1's slot: the sum really spans CPUs
    expect(Number(perCpu[1]!.readBigUInt64LE(16 + 8 * 5))).toBe(13);

    const after = await statsSource().collect();
    if (!after.available) throw new Error(after.reason);
    const delta = (name: string) => after.data.counters[name]! - before.data.counters[name]!;
    expect(delta('counter_0')).toBe(7);
    expect(delta('counter_5')).toBe(13);
    expect(delta('counter_11')).toBe(1);
    for (const i of [1, 2, 3, 4, 6, 7, 8, 9, 10]) expect(delta(`counter_${i}`)).toBe(0);
    expect(delta('rx_packets')).toBe(21);
    expect(delta('rx_bytes')).toBe(20 * 80 + 1500);
    const bucket = (i: number) => after.data.sizeHistogram[i]! - before.data.sizeHistogram[i]!;
    expect(bucket(1)).toBe(20); // 80-byte frames: ≤128
    expect(bucket(5)).toBe(1); // 1500-byte frame: ≤1518
    expect(after.data.sizeBucketLimits).toEqual([...FIXTURE_SIZE_LIMITS, Infinity]);
  });

  it('rates match a known send rate per verdict over the sliding window (injected clock)', async () => {
    let nowNs = 1_000_000_000n;
    const collector = new MetricsCollector({ sources: { xdpStats: statsSource(), process: null }, windowMs: 3000, clock: () => nowNs });
    await collector.collect();
    const rates: (number | null)[] = [];
    for (let second = 0; second < 5; second++) {
      await fixture.runPacket({ counterIndex: 2 }, 500, 0);
      await fixture.runPacket({ counterIndex: 3, length: 200 }, 250, 1);
      nowNs += 1_000_000_000n;
      const snapshot = await collector.collect();
      rates.push(snapshot.rates!.packetsPerSecond);
      expect(snapshot.rates!.packetsPerSecond).toBeCloseTo(750, 6);
      expect(snapshot.rates!.bytesPerSecond).toBeCloseTo(500 * 80 + 250 * 200, 6);
      expect(snapshot.rates!.perVerdict['counter_2']).toBeCloseTo(500, 6);
      expect(snapshot.rates!.perVerdict['counter_3']).toBeCloseTo(250, 6);
      expect(snapshot.rates!.perVerdict['counter_0']).toBe(0);
    }
    // A quiet second halves nothing instantly: the 3 s window still holds 2 busy seconds.
    nowNs += 1_000_000_000n;
    const quiet = await collector.collect();
    expect(quiet.rates!.packetsPerSecond).toBeCloseTo((2 * 750) / 3, 6);
    const json = toEbpfMetrics(quiet);
    expect(json.packetMetrics.available && json.packetMetrics.bytesPerSecond).toBeCloseTo((2 * 90_000) / 3, 6);
  });

  it('counts conntrack entries per state as packets move peers initial → handshake → established', async () => {
    const source = conntrackSource({ map: fixture.conntrackMap, decode: decodeFixtureConntrack });
    const states = async () => {
      const reading = await source.collect();
      if (!reading.available) throw new Error(reading.reason);
      return reading.data;
    };
    expect((await states()).entries).toBe(0);
    for (const port of [1001, 1002, 1003]) await fixture.runPacket({ counterIndex: 9, conntrackState: 1, peerPort: port });
    expect((await states()).byState).toEqual({ initial: 3, handshake: 0, established: 0, closing: 0 });
    for (const port of [1002, 1003]) await fixture.runPacket({ counterIndex: 9, conntrackState: 2, peerPort: port });
    expect((await states()).byState).toEqual({ initial: 1, handshake: 2, established: 0, closing: 0 });
    await fixture.runPacket({ counterIndex: 9, conntrackState: 3, peerPort: 1003 }, 4);
    const last = await states();
    expect(last.byState).toEqual({ initial: 1, handshake: 1, established: 1, closing: 0 });
    expect(last.entries).toBe(3);
    expect(last.packets).toBe(3 + 2 + 4);
    expect(last.bytes).toBe(9 * 80);
  });

  it('turns real bpf_ktime_get_ns() stamps into latencies on the same clock as process.hrtime', async () => {
    const recorder = new LatencyRecorder();
    let longestWindowNs = 0n;
    for (let i = 0; i < 20; i++) {
      const startNs = process.hrtime.bigint();
      const out = await fixture.runPacket({ counterIndex: 1 });
      const endNs = process.hrtime.bigint();
      const stamp = out.readBigUInt64LE(24);
      // the kernel ran the program between our two reads: same clock, CLOCK_MONOTONIC
      expect(stamp).toBeGreaterThan(startNs);
      expect(stamp).toBeLessThan(endNs);
      recorder.recordLatencyNs(stamp, endNs);
      if (endNs - startNs > longestWindowNs) longestWindowNs = endNs - startNs;
    }
    const summary = recorder.summary()!;
    expect(recorder.futureStamps).toBe(0);
    expect(summary.count).toBe(20);
    expect(summary.minUs).toBeGreaterThan(0);
    expect(summary.minUs).toBeLessThanOrEqual(summary.p50Us);
    expect(summary.p50Us).toBeLessThanOrEqual(summary.p95Us);
    expect(summary.p95Us).toBeLessThanOrEqual(summary.p99Us);
    expect(summary.p99Us).toBeLessThanOrEqual(summary.maxUs);
    // HDR keeps 3 significant digits: allow 0.1 % above the longest observed window
    expect(summary.maxUs).toBeLessThanOrEqual((Number(longestWindowNs) / 1000) * 1.001);
  });

  it('a map that disappears makes its source unavailable with the error, counted, not zero', async () => {
    const doomed = await CountingFixture.load();
    const collector = new MetricsCollector({
      sources: {
        xdpStats: xdpStatsSource({ map: doomed.statsMap, decode: decodeFixtureStats, sizeBucketLimits: FIXTURE_SIZE_LIMITS }),
        process: null,
      },
    });
    expect((await collector.collect()).readings.xdpStats.available).toBe(true);
    await doomed.close();
    const snapshot = await collector.collect();
    expect(snapshot.readings.xdpStats).toMatchObject({ available: false, reason: expect.stringMatching(/collect failed: .*bpftool/) });
    expect(snapshot.sourceErrors).toEqual({ xdp_stats: 1 });
    expect(snapshot.rates).toBeNull();
    expect(toEbpfMetrics(snapshot).packetMetrics).toMatchObject({ available: false });
  });
});
