// SPDX-License-Identifier: Apache-2.0
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { MetricsCollector, type CollectorOptions } from './collector.js';
import { StoqMetricsError } from './errors.js';
import { METRIC_CATALOG } from './metric-catalog.js';
import { available, unavailable, type SourceReading } from './source.js';
import { datapathSource } from './sources/datapath.js';
import { processSource } from './sources/process.js';
import type { XdpStatsData } from './sources/xdp-stats.js';
import { thrown } from '../test/helpers/thrown.js';

describe('MetricsCollector', () => {
  it('derives per-verdict rates from successive stats readings on the injected clock', async () => {
    let nowNs = 0n;
    let packets = 0;
    const collector = new MetricsCollector({
      clock: () => nowNs,
      windowMs: 60_000,
      sources: {
        process: null,
        xdpStats: {
          name: 'xdp_stats',
          collect: () =>
            available<XdpStatsData>({
              counters: { rx_packets: packets, rx_bytes: packets * 100, quic_passed: packets },
              sizeHistogram: [packets],
              sizeBucketLimits: [Infinity],
            }),
        },
      },
    });
    expect((await collector.collect()).rates).toEqual({ packetsPerSecond: null, bytesPerSecond: null, perVerdict: { quic_passed: null } });
    nowNs += 2_000_000_000n;
    packets += 300;
    expect((await collector.collect()).rates).toEqual({ packetsPerSecond: 150, bytesPerSecond: 15_000, perVerdict: { quic_passed: 150 } });
  });

  it('polls on an unref’d timer until stopped, keeping lastSnapshot fresh', async () => {
    let reads = 0;
    const datapaths = () => {
      reads++;
      return [];
    };
    const collector = new MetricsCollector({ sources: { process: null, datapath: datapathSource(datapaths) } });
    const errors: unknown[] = [];
    const stop = collector.startPolling(10, (e) => errors.push(e));
    for (let i = 0; i < 100 && reads < 3; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    stop();
    const seen = reads;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toBeGreaterThanOrEqual(3);
    expect(reads).toBe(seen);
    expect(collector.lastSnapshot).not.toBeNull();
    expect(errors).toEqual([]);
    expect(() => collector.startPolling(0, () => {})).toThrow(RangeError);
  });

  it('refuses a bad windowMs in the constructor, with a typed error, instead of failing every collect()', async () => {
    for (const windowMs of [0, -5, NaN, Infinity, '1000' as unknown as number]) {
      const error = thrown(() => new MetricsCollector({ sources: { process: null }, windowMs }));
      expect(error, String(windowMs)).toBeInstanceOf(StoqMetricsError);
      expect(error).toMatchObject({ code: 'STOQ_ERR_INVALID_ARGUMENT', field: 'windowMs' });
    }
    const collector = new MetricsCollector({ sources: { process: null, xdpStats: statsSource() }, windowMs: 0.5 });
    expect((await collector.collect()).readings.xdpStats.available).toBe(true);
  });

  it('refuses a finite windowMs too large for nanoseconds (1e303 rejected every collect() with a plain RangeError)', () => {
    for (const windowMs of [1e303, Number.MAX_VALUE, 2 ** 53, 1e-7]) {
      const error = thrown(() => new MetricsCollector({ sources: { process: null, xdpStats: statsSource() }, windowMs }));
      expect(error, String(windowMs)).toBeInstanceOf(StoqMetricsError);
      expect(error).toMatchObject({ code: 'STOQ_ERR_INVALID_ARGUMENT', field: 'windowMs' });
    }
  });

  it('refuses a clock that is not a function, or a latency source without summary(), in the constructor', async () => {
    for (const options of [{ clock: 5 }, { latency: 5 }, { latency: {} }, { latency: null }] as unknown as CollectorOptions[]) {
      const error = thrown(() => new MetricsCollector({ sources: { process: null }, ...options }));
      expect(error, JSON.stringify(options)).toBeInstanceOf(StoqMetricsError);
      expect(error).toMatchObject({ code: 'STOQ_ERR_INVALID_ARGUMENT', field: Object.keys(options)[0] });
    }
    const numberClock = new MetricsCollector({ sources: { process: null }, clock: (() => 5) as never });
    await expect(numberClock.collect()).rejects.toMatchObject({ code: 'STOQ_ERR_INVALID_ARGUMENT', field: 'clock' });
  });

  it('reports a throwing latency summary() as unavailable and counts it, without failing the collection', async () => {
    const latency = {
      summary(): never {
        throw new Error('recorder broke');
      },
    };
    const collector = new MetricsCollector({ sources: { process: null, xdpStats: statsSource() }, latency });
    expect(collector.lastSnapshot).toBeNull();
    for (const errors of [1, 2]) {
      const snapshot = await collector.collect();
      expect(snapshot.readings.xdpStats.available).toBe(true);
      expect(snapshot.latency).toEqual({ available: false, reason: 'collect failed: recorder broke' });
      expect(snapshot.sourceErrors).toEqual({ xdp_stats: 0, latency: errors });
    }
    const counted = METRIC_CATALOG.find((m) => m.name === 'stoq_source_collect_errors_total')!.read(collector.lastSnapshot!);
    expect(counted).toContainEqual({ labels: { source: 'latency' }, value: 2 });
  });

  it('stamps the rates when stoq_stats is read, not after a slow sibling source', async () => {
    let nowNs = 0n;
    let quicTakesNs = 0n;
    const collector = new MetricsCollector({
      clock: () => nowNs,
      sources: {
        process: null,
        // One frame per ms of the injected clock, read when collect() is called.
        xdpStats: { name: 'xdp_stats', collect: () => stats(Number(nowNs / 1_000_000n)) },
        quic: {
          name: 'quic',
          collect: () => {
            nowNs += quicTakesNs; // a source that is slow to answer
            return available({ connections: 0, rttUs: null, cwndBytes: 0, lostPackets: 0, retransmittedPackets: 0, sentPackets: 0, receivedPackets: 0 });
          },
        },
      },
    });
    quicTakesNs = 400_000_000n; // counters read at 0 ms, the collection ends at 400 ms
    await collector.collect();
    nowNs = 1_000_000_000n;
    quicTakesNs = 0n; // read and ended at 1000 ms: 1000 frames in 1 s, not in 0.6 s
    expect((await collector.collect()).rates!.packetsPerSecond).toBe(1000);
  });

  it('stamps CPU time when the process source answers, not after a slow sibling source', async () => {
    let nowNs = 0n;
    let quicTakesNs = 0n;
    const collector = new MetricsCollector({
      clock: () => nowNs,
      sources: {
        // Half a core of CPU time per second of the injected clock, read when collect() is called.
        process: { name: 'process', collect: () => available({ processCpuSeconds: Number(nowNs) / 2e9, cores: [], rssBytes: 1, umemBytes: null }) },
        quic: {
          name: 'quic',
          collect: async () => {
            await new Promise((resolve) => setTimeout(resolve, 5)); // answers after the process source
            nowNs += quicTakesNs;
            return available({ connections: 0, rttUs: null, cwndBytes: 0, lostPackets: 0, retransmittedPackets: 0, sentPackets: 0, receivedPackets: 0 });
          },
        },
      },
    });
    quicTakesNs = 400_000_000n; // CPU read at 0 ms, the collection ends at 400 ms
    await collector.collect();
    nowNs = 1_000_000_000n;
    quicTakesNs = 0n; // 0.5 s of CPU over 1 s, not over 0.6 s
    expect((await collector.collect()).cpu!.processPercent).toBeCloseTo(50, 6);
  });

  it('starts the rate windows over when stoq_stats was unavailable or its map id changed (a restarted program)', async () => {
    let nowNs = 0n;
    let reading: SourceReading<XdpStatsData> = stats(0);
    const collector = new MetricsCollector({ clock: () => nowNs, windowMs: 10_000, sources: { process: null, xdpStats: { name: 'xdp_stats', collect: () => reading } } });
    const rateAt = async (seconds: number, next: SourceReading<XdpStatsData>) => {
      nowNs = BigInt(seconds) * 1_000_000_000n;
      reading = next;
      return (await collector.collect()).rates?.packetsPerSecond;
    };
    // Found by name: program A counts 100/s; it is unloaded; program B, loaded later, counts 3000/s.
    expect(await rateAt(0, stats(1000, 5))).toBeNull();
    expect(await rateAt(1, stats(1100, 5))).toBe(100);
    expect(await rateAt(2, unavailable('no map named stoq_stats on this host'))).toBeUndefined();
    expect(await rateAt(10, stats(3000, 9))).toBeNull(); // not (3000 - 1100) / 9 s
    expect(await rateAt(11, stats(6000, 9))).toBe(3000);
    // Restarted between two collections: only the map id tells.
    expect(await rateAt(12, stats(7000, 12))).toBeNull(); // not (7000 - 3000) / 2 s
    expect(await rateAt(13, stats(7050, 12))).toBe(50);
  });

  it('fails the stats reading, not the collection, on a counter that is not a finite number, and starts the rates over', async () => {
    let nowNs = 0n;
    let reading = stats(0);
    const collector = new MetricsCollector({ clock: () => nowNs, sources: { process: null, xdpStats: { name: 'xdp_stats', collect: () => reading }, datapath: datapathSource(() => []) } });
    await collector.collect();
    for (const [bad, shown] of [[NaN, 'NaN'], [Infinity, 'Infinity'], ['5', '5'], [5n, '5']] as const) {
      nowNs += 1_000_000_000n;
      reading = available<XdpStatsData>({ counters: { rx_packets: 10, rx_bytes: bad as number }, sizeHistogram: [10], sizeBucketLimits: [Infinity] });
      const snapshot = await collector.collect();
      expect(snapshot.readings.xdpStats).toEqual({ available: false, reason: `collect failed: counter rx_bytes is ${shown}, not a finite number` });
      expect(snapshot.rates).toBeNull();
    }
    expect(collector.lastSnapshot!.sourceErrors).toEqual({ xdp_stats: 4, datapath: 0 });
    nowNs += 1_000_000_000n;
    reading = stats(500);
    expect((await collector.collect()).rates!.packetsPerSecond).toBeNull(); // the window started over
    nowNs += 1_000_000_000n;
    reading = stats(600);
    expect((await collector.collect()).rates!.packetsPerSecond).toBe(100);
  });

  it('polls only at an integer interval from 10 ms to 2^31 - 1 (Node runs larger ones every 1 ms)', () => {
    const collector = new MetricsCollector({ sources: { process: null } });
    for (const intervalMs of [Infinity, 2 ** 31, 1e12, 9, -1, 10.5, NaN, '100' as unknown as number]) {
      const error = thrown(() => collector.startPolling(intervalMs, () => {}));
      expect(error, String(intervalMs)).toBeInstanceOf(StoqMetricsError);
      expect(error).toMatchObject({ code: 'STOQ_ERR_INVALID_ARGUMENT', field: 'intervalMs' });
    }
    expect(thrown(() => collector.startPolling(1000, 'log' as never))).toMatchObject({ code: 'STOQ_ERR_INVALID_ARGUMENT', field: 'onError' });
    collector.startPolling(2 ** 31 - 1, () => {})();
    collector.close();
  });

  it('close() stops every poller, and polling cannot start again', async () => {
    let reads = 0;
    const collector = new MetricsCollector({ sources: { process: null, datapath: datapathSource(() => (reads++, [])) } });
    collector.startPolling(10, () => {});
    collector.startPolling(15, () => {});
    for (let i = 0; i < 100 && reads < 4; i++) await sleep(10);
    expect(reads).toBeGreaterThanOrEqual(4);
    collector.close();
    await sleep(20); // a collection already under way may finish
    const seen = reads;
    await sleep(80);
    expect(reads).toBe(seen);
    expect(thrown(() => collector.startPolling(10, () => {}))).toMatchObject({ code: 'STOQ_ERR_CLOSED' });
    collector.close(); // idempotent
  });

  it('collect() after close() rejects with STOQ_ERR_CLOSED and reads no source (it walked the map behind a released iterator)', async () => {
    let reads = 0;
    let closed = 0;
    const conntrack = {
      name: 'conntrack',
      collect: () => (reads++, available({ entries: 0, byState: { initial: 0, handshake: 0, established: 0, closing: 0 }, readMethod: 'batch' as const })),
      close: () => void closed++,
    };
    const collector = new MetricsCollector({ sources: { process: null, conntrack } });
    const before = await collector.collect();
    // A collection already under way when close() is called settles: its sources were read before.
    const underWay = collector.collect();
    collector.close();
    expect(await underWay).toMatchObject({ readings: { conntrack: { available: true } } });
    expect({ reads, closed }).toEqual({ reads: 2, closed: 1 });
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await collector.collect().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoqMetricsError);
      expect(error).toMatchObject({ code: 'STOQ_ERR_CLOSED', field: 'collect' });
    }
    expect(reads).toBe(2);
    expect(collector.lastSnapshot).not.toBe(before); // the last snapshot taken, from before close()
    expect(collector.lastSnapshot).toBe(await underWay);
  });

  it('labels each core with its CPU number, not its line, with CPUs offline or plugged in', skipUnless(process.platform === 'linux', 'linux only: per-core CPU numbers from /proc/stat and /sys/devices/system/cpu'), async () => {
    const proc = mkdtempSync(join(tmpdir(), 'stoq-metrics-proc-'));
    try {
      mkdirSync(join(proc, 'self'));
      writeFileSync(join(proc, 'self/stat'), '1 (node) S 1 1 1 0 -1 0 0 0 0 0 10 5 0 0 20 0 1 0 1 1 1');
      // user nice system idle …: `busy` busy ticks of 100 since the previous reading
      const line = (cpu: number, busy: number, idle: number) => `cpu${cpu} ${busy} 0 0 ${idle} 0 0 0 0 0 0`;
      const stat = (...lines: string[]) => writeFileSync(join(proc, 'stat'), ['cpu  0 0 0 0 0 0 0 0 0 0', ...lines, 'intr 0', ''].join('\n'));
      let nowNs = 0n;
      const collector = new MetricsCollector({ sources: { process: processSource({ procRoot: proc }) }, clock: () => (nowNs += 1_000_000_000n) });
      const busy = async () =>
        METRIC_CATALOG.find((m) => m.name === 'stoq_cpu_core_busy_ratio')!
          .read(await collector.collect())
          .map(({ labels, value }) => ({ labels, value: Number(value.toFixed(9)) })); // ticks → seconds → ratio rounds
      stat(line(0, 0, 0), line(2, 0, 0)); // cpu1 offline
      expect(await busy()).toEqual([]);
      stat(line(0, 10, 90), line(2, 90, 10));
      expect(await busy()).toEqual([
        { labels: { core: '0' }, value: 0.1 },
        { labels: { core: '2' }, value: 0.9 },
      ]);
      stat(line(0, 30, 170), line(1, 500, 500), line(2, 150, 50)); // cpu1 plugged back in: no interval of its own yet
      expect(await busy()).toEqual([
        { labels: { core: '0' }, value: 0.2 },
        { labels: { core: '2' }, value: 0.6 },
      ]);
      expect(collector.lastSnapshot!.cpu!.perCorePercent.map((p) => (p === null ? p : Number(p.toFixed(9))))).toEqual([20, null, 60]);
    } finally {
      rmSync(proc, { recursive: true, force: true });
    }
  });
});

function statsSource() {
  return {
    name: 'xdp_stats',
    collect: () => available<XdpStatsData>({ counters: { rx_packets: 1, rx_bytes: 60 }, sizeHistogram: [1], sizeBucketLimits: [Infinity] }),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function stats(packets: number, mapId?: number): SourceReading<XdpStatsData> {
  return available<XdpStatsData>({
    counters: { rx_packets: packets, rx_bytes: packets * 100 },
    sizeHistogram: [packets],
    sizeBucketLimits: [Infinity],
    ...(mapId === undefined ? {} : { mapId }),
  });
}
