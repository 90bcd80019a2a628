// SPDX-License-Identifier: Apache-2.0
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MetricsCollector } from './collector.js';
import { StoqMetricsError } from './errors.js';
import { METRIC_CATALOG } from './metric-catalog.js';
import { available } from './source.js';
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

  it.skipIf(process.platform !== 'linux')('labels each core with its CPU number, not its line, with CPUs offline or plugged in', async () => {
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
