// SPDX-License-Identifier: Apache-2.0
// CPU usage derived from /proc between two collections reflects work this process
// really did (a bounded busy loop), within procfs's 10 ms tick resolution. On a shared
// machine the loop may not get a whole core: the reference is what the process really
// got (process.cpuUsage over the same interval), not an assumed 100 %.
import { describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { MetricsCollector, toEbpfMetrics } from '../src/index.js';

function spinFor(ms: number): void {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x += Math.sqrt(x + 1);
  if (Number.isNaN(x)) throw new Error('unreachable');
}

describe('process and per-core CPU', skipUnless(process.platform === 'linux', 'linux only: process and per-core CPU from /proc'), () => {
  it('reads null on the first collection (no interval yet), then shows the CPU a busy loop really got', async () => {
    const collector = new MetricsCollector();
    const cpuBefore = process.cpuUsage();
    const wallBefore = process.hrtime.bigint();
    const first = toEbpfMetrics(await collector.collect());
    if (!first.cpuMetrics.available) throw new Error(first.cpuMetrics.reason);
    expect(first.cpuMetrics.processPercent).toBeNull(); // no interval yet: no number
    spinFor(400);
    const second = toEbpfMetrics(await collector.collect());
    const used = process.cpuUsage(cpuBefore);
    const reference = (100 * (used.user + used.system)) / 1e3 / (Number(process.hrtime.bigint() - wallBefore) / 1e6);
    if (!second.cpuMetrics.available) throw new Error(second.cpuMetrics.reason);
    const { processPercent, perCorePercent } = second.cpuMetrics;
    // 10 ms ticks at both ends of a ~400 ms interval, plus the collections themselves: ±15 points
    expect(Math.abs(processPercent! - reference), `collector ${processPercent} %, process.cpuUsage ${reference} %`).toBeLessThan(15);
    expect(reference).toBeGreaterThan(10); // the loop ran at all (else the comparison says little)
    const coresBusy = perCorePercent.reduce<number>((sum, p) => sum + (p ?? 0), 0);
    expect(coresBusy).toBeGreaterThan(processPercent! - 15); // the cores were at least as busy as this process
    for (const p of perCorePercent) expect(p === null || (p >= 0 && p <= 100), JSON.stringify(perCorePercent)).toBe(true);
  });
});
