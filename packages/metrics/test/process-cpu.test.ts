// SPDX-License-Identifier: Apache-2.0
// CPU usage derived from /proc between two collections reflects work this process
// really did (a bounded busy loop), within procfs's 10 ms tick resolution.
import { describe, expect, it } from 'vitest';
import { MetricsCollector, toEbpfMetrics } from '../src/index.js';

function spinFor(ms: number): void {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  if (Number.isNaN(x)) throw new Error('unreachable');
}

describe.skipIf(process.platform !== 'linux')('process and per-core CPU', () => {
  it('reads null on the first collection (no interval yet), then shows a busy loop as about one core', async () => {
    const collector = new MetricsCollector();
    const first = toEbpfMetrics(await collector.collect());
    if (!first.cpuMetrics.available) throw new Error(first.cpuMetrics.reason);
    expect(first.cpuMetrics.processPercent).toBeNull(); // no interval yet: no number
    spinFor(400);
    const second = toEbpfMetrics(await collector.collect());
    if (!second.cpuMetrics.available) throw new Error(second.cpuMetrics.reason);
    const { processPercent, perCorePercent } = second.cpuMetrics;
    expect(processPercent).toBeGreaterThan(60);
    expect(processPercent).toBeLessThan(150);
    const coresBusy = perCorePercent.reduce<number>((sum, p) => sum + (p ?? 0), 0);
    expect(coresBusy).toBeGreaterThan(50);
    for (const p of perCorePercent) expect(p === null || (p >= 0 && p <= 100), JSON.stringify(perCorePercent)).toBe(true);
  });
});
