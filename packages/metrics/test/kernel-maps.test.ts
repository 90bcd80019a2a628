// SPDX-License-Identifier: Apache-2.0
// The real stoq_xdp object in the real kernel, real frames through BPF_PROG_TEST_RUN,
// loaded and read through @stoq/loader, as createStoqCollector({ object }) wires it.
import { COUNTER_NAMES, sizeBucketOf, SIZE_BUCKET_LIMITS } from '@stoq/bpf-programs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { createStoqCollector, LatencyRecorder, MetricsCollector, toEbpfMetrics, type XdpStatsData } from '../src/index.js';
import { StoqXdp } from './helpers/stoq-xdp.js';
import { conntrackSourceOf, quicFrame, statsSourceOf, VERDICT_FRAMES } from './helpers/traffic.js';

const isRoot = process.getuid?.() === 0;

async function read(prog: StoqXdp): Promise<XdpStatsData> {
  const reading = await statsSourceOf(prog).collect();
  if (!reading.available) throw new Error(reading.reason);
  return reading.data;
}

describe('sources over the real stoq_xdp maps', skipUnless(isRoot, 'needs root: loading BPF programs (CAP_BPF, CAP_SYS_ADMIN)'), () => {
  let prog: StoqXdp;
  beforeAll(async () => {
    prog = await StoqXdp.load();
  });
  afterAll(() => {
    prog?.close();
  });

  it('counts exactly the frames sent per verdict, summed over both CPUs, with the frame-size histogram', async () => {
    const before = await read(prog);
    const sent = Object.entries(VERDICT_FRAMES).map(([counter, frame], i) => ({ counter, frame, repeat: 3 + 2 * i, cpu: i % 2 }));
    for (const { frame, repeat, cpu } of sent) await prog.run(frame, repeat, cpu);
    const after = await read(prog);
    const delta = (name: string) => after.counters[name]! - before.counters[name]!;

    for (const name of COUNTER_NAMES.slice(2)) {
      const expected = sent.find((s) => s.counter === name)?.repeat ?? 0;
      expect(delta(name), name).toBe(expected);
    }
    expect(delta('rx_packets')).toBe(sent.reduce((n, s) => n + s.repeat, 0));
    expect(delta('rx_bytes')).toBe(sent.reduce((n, s) => n + s.repeat * s.frame.length, 0));
    const buckets = new Array<number>(SIZE_BUCKET_LIMITS.length).fill(0);
    for (const s of sent) buckets[sizeBucketOf(s.frame.length)]! += s.repeat;
    expect(after.sizeHistogram.map((n, i) => n - before.sizeHistogram[i]!)).toEqual(buckets);
    expect(after.sizeBucketLimits).toEqual(SIZE_BUCKET_LIMITS);
    // frames sent from CPU 1 sit in CPU 1's slot: the sum really spans CPUs
    const perCpu = prog.statsMap.lookupPerCpu(Buffer.alloc(4))!;
    expect(perCpu.length).toBeGreaterThanOrEqual(2);
    expect(perCpu[1]!.readBigUInt64LE(0)).toBeGreaterThan(0n);
  });

  it('rates match a known send rate per verdict over the sliding window (injected clock)', async () => {
    let nowNs = 1_000_000_000n;
    const collector = new MetricsCollector({ sources: { xdpStats: statsSourceOf(prog), process: null }, windowMs: 3000, clock: () => nowNs });
    await collector.collect();
    const quic = VERDICT_FRAMES.quic_passed;
    const ipv4 = VERDICT_FRAMES.ipv4_dropped;
    for (let second = 0; second < 5; second++) {
      await prog.run(quic, 500, 0);
      await prog.run(ipv4, 250, 1);
      nowNs += 1_000_000_000n;
      const { rates } = await collector.collect();
      expect(rates!.packetsPerSecond).toBeCloseTo(750, 6);
      expect(rates!.bytesPerSecond).toBeCloseTo(500 * quic.length + 250 * ipv4.length, 6);
      expect(rates!.perVerdict['quic_passed']).toBeCloseTo(500, 6);
      expect(rates!.perVerdict['ipv4_dropped']).toBeCloseTo(250, 6);
      expect(rates!.perVerdict['non_ip_passed']).toBe(0);
    }
    // A quiet second: the 3 s window still holds two busy seconds out of three.
    nowNs += 1_000_000_000n;
    const quiet = await collector.collect();
    expect(quiet.rates!.packetsPerSecond).toBeCloseTo((2 * 750) / 3, 6);
    const json = toEbpfMetrics(quiet);
    if (!json.packetMetrics.available) throw new Error(json.packetMetrics.reason);
    expect(json.packetMetrics.bytesPerSecond).toBeCloseTo((2 * (500 * quic.length + 250 * ipv4.length)) / 3, 6);
    expect(json.packetMetrics.verdicts['quic_passed']!.perSecond).toBeCloseTo((2 * 500) / 3, 6);
  });

  it('counts conntrack entries per state as real QUIC packets move peers initial → handshake → established', async () => {
    const source = conntrackSourceOf(prog);
    const states = async () => {
      const reading = await source.collect();
      if (!reading.available) throw new Error(reading.reason);
      return reading.data;
    };
    const base = await states();
    const grown = async () => {
      const now = await states();
      return Object.fromEntries(Object.entries(now.byState).map(([state, n]) => [state, n - base.byState[state as keyof typeof base.byState]]));
    };
    for (const peer of [0x201, 0x202, 0x203]) await prog.run(quicFrame('initial', peer));
    expect(await grown()).toEqual({ initial: 3, handshake: 0, established: 0, closing: 0 });
    for (const peer of [0x202, 0x203]) await prog.run(quicFrame('handshake', peer));
    expect(await grown()).toEqual({ initial: 1, handshake: 2, established: 0, closing: 0 });
    await prog.run(quicFrame('short', 0x203), 4);
    expect(await grown()).toEqual({ initial: 1, handshake: 1, established: 1, closing: 0 });
    const final = await states();
    expect(final.entries - base.entries).toBe(3);
    expect(final.readMethod).toBe('batch'); // BPF_MAP_LOOKUP_BATCH on an LRU hash, kernel 5.6+
  });

  it('createStoqCollector({ object }) reads the same maps: counters, conntrack by batch, absent sources say why', async () => {
    const collector = await createStoqCollector({ object: prog.object, process: false });
    const before = toEbpfMetrics(await collector.collect());
    prog.run(VERDICT_FRAMES.quic_passed, 7);
    prog.run(quicFrame('initial', 0x400), 1);
    const after = toEbpfMetrics(await collector.collect());
    if (!before.packetMetrics.available || !after.packetMetrics.available) throw new Error('stats unavailable');
    expect(after.packetMetrics.verdicts['quic_passed']!.total - before.packetMetrics.verdicts['quic_passed']!.total).toBe(8);
    expect(after.packetMetrics.packetsTotal - before.packetMetrics.packetsTotal).toBe(8);
    const ct = after.connectionMetrics.conntrack;
    const ct0 = before.connectionMetrics.conntrack;
    if (!ct.available || !ct0.available) throw new Error('conntrack unavailable');
    expect(ct.byState['initial']! - ct0.byState['initial']!).toBe(1);
    expect(after.memoryMetrics).toMatchObject({ available: false, reason: expect.stringContaining('no AF_XDP sockets were given') });
    expect(after.connectionMetrics.quic).toEqual({ available: false, reason: 'no QUIC endpoint was given' });
  });

  it('counts conntrack in the kernel (stoq_ct_states) exactly as walking the map does, and says which it used', async () => {
    for (const peer of [0x601, 0x602, 0x603, 0x604]) prog.run(quicFrame('initial', peer));
    for (const peer of [0x603, 0x604]) prog.run(quicFrame('handshake', peer));
    prog.run(quicFrame('short', 0x604), 2);
    const viaIterator = await createStoqCollector({ object: prog.object, process: false });
    const viaBatch = await createStoqCollector({ object: prog.object, process: false, conntrackIterator: false });
    try {
      for (let pass = 0; pass < 2; pass++) { // twice: the kernel-side accumulator must start from zero each pass
        const it = (await viaIterator.collect()).readings.conntrack;
        const batch = (await viaBatch.collect()).readings.conntrack;
        if (!it.available || !batch.available) throw new Error('conntrack unavailable');
        expect(it.data).toEqual({ entries: batch.data.entries, byState: batch.data.byState, readMethod: 'iterator' });
        expect(batch.data).toMatchObject({ readMethod: 'batch', iteratorUnavailable: 'conntrackIterator: false was given' });
        expect(it.data.entries).toBeGreaterThanOrEqual(4);
      }
    } finally {
      viaIterator.close();
      viaBatch.close();
    }
  });

  it('turns real XDP metadata timestamps into latencies on the same clock as process.hrtime', async () => {
    prog.configure({ timestampMeta: true });
    try {
      const recorder = new LatencyRecorder();
      const frame = quicFrame('short', 0x300);
      let longestNs = 0n;
      for (let i = 0; i < 20; i++) {
        const startNs = process.hrtime.bigint();
        const { output } = await prog.run(frame);
        const endNs = process.hrtime.bigint();
        expect(output.length).toBe(frame.length + 8); // 8 bytes of metadata in front
        const stamp = output.readBigUInt64LE(0);
        // the program ran between our two reads: bpf_ktime_get_ns and hrtime share CLOCK_MONOTONIC
        expect(stamp).toBeGreaterThan(startNs);
        expect(stamp).toBeLessThan(endNs);
        recorder.recordLatencyNs(stamp, endNs);
        if (endNs - startNs > longestNs) longestNs = endNs - startNs;
      }
      const s = recorder.summary()!;
      expect(recorder.futureStamps).toBe(0);
      expect(s.count).toBe(20);
      expect(s.minUs).toBeGreaterThan(0);
      expect([s.minUs, s.p50Us, s.p95Us, s.p99Us, s.maxUs]).toEqual([s.minUs, s.p50Us, s.p95Us, s.p99Us, s.maxUs].sort((a, b) => a - b));
      // HDR keeps 3 significant digits: allow 0.1 % above the longest observed window
      expect(s.maxUs).toBeLessThanOrEqual((Number(longestNs) / 1000) * 1.001);
    } finally {
      prog.configure({});
    }
  });

  it('a map that disappears makes its source unavailable with the error, counted, not zero', async () => {
    const doomed = await StoqXdp.load();
    const collector = new MetricsCollector({ sources: { xdpStats: statsSourceOf(doomed), process: null } });
    expect((await collector.collect()).readings.xdpStats.available).toBe(true);
    doomed.close();
    const snapshot = await collector.collect();
    expect(snapshot.readings.xdpStats).toMatchObject({ available: false, reason: expect.stringMatching(/^collect failed: .*closed/i) });
    expect(snapshot.sourceErrors).toEqual({ xdp_stats: 1 });
    expect(snapshot.rates).toBeNull();
    expect(toEbpfMetrics(snapshot).packetMetrics).toMatchObject({ available: false });
  });
});
