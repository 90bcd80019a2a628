// SPDX-License-Identifier: Apache-2.0
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { skipUnless } from '../../../../vitest.skip.ts';
import { parseCoreTicks, parseSelfCpuTicks, processSource } from './process.js';

describe('procfs parsing', () => {
  it('reads utime+stime even when the command name has spaces and parentheses', () => {
    const line = '1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 1000 10';
    expect(parseSelfCpuTicks(line)).toBe(300);
  });

  it('reads one entry per core from /proc/stat, idle and iowait not busy', () => {
    // cpu1 is offline (no line): cpu2 is CPU 2, not the second core.
    const stat = 'cpu  10 0 10 100 5 0 0 0 0 0\ncpu0 4 1 3 50 2 1 1 0 0 0\ncpu2 6 0 7 50 3 0 0 0 0 0\nintr 1\n';
    expect(parseCoreTicks(stat)).toEqual([
      { cpu: 0, busy: 10, total: 62 },
      { cpu: 2, busy: 13, total: 66 },
    ]);
  });

  it('reads this process and every core of this machine', skipUnless(process.platform === 'linux', 'linux only: reads /proc/self/stat and /proc/stat'), async () => {
    const reading = await processSource({ umemBytes: () => 4096 }).collect();
    if (!reading.available) throw new Error(reading.reason);
    const cores = readFileSync('/proc/stat', 'utf8').split('\n').filter((l) => /^cpu\d+ /.test(l)).length;
    expect(reading.data.cores).toHaveLength(cores);
    expect(reading.data.processCpuSeconds).toBeGreaterThan(0);
    expect(reading.data.rssBytes).toBeGreaterThan(1 << 20);
    expect(reading.data.umemBytes).toBe(4096);
  });
});
