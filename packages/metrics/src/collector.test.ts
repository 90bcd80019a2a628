// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { MetricsCollector } from './collector.js';
import { available } from './source.js';
import { datapathSource } from './sources/datapath.js';
import type { XdpStatsData } from './sources/xdp-stats.js';

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
});
