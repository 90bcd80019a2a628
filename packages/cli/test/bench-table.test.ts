// SPDX-License-Identifier: Apache-2.0
// A one-column bench table (a per-packet cost, a ceiling) compares nothing: no ratio.
import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../src/bench/markdown.js';
import { offeredLabel } from '../src/bench/run-bench.js';
import { ratio, type BenchTable } from '../src/bench/table.js';

const table = (columns: string[], values: number[]): BenchTable => ({
  id: 't', title: 'T', unit: 'ns', higherIsBetter: false, columns, rows: [{ label: 'r', values }], modes: {},
});

describe('bench tables', () => {
  it('has no ratio column, and no 1.00x, with one column', () => {
    const one = table(['eBPF'], [42]);
    expect(ratio(one, [42])).toBeNull();
    const md = renderMarkdown([one], '');
    expect(md).toContain('| r | 42.0 |');
    expect(md).not.toMatch(/ratio|1\.00×/);
  });

  it('keeps the ratio of the last column to the baseline with two', () => {
    const two = table(['kernel', 'eBPF'], [40, 20]);
    expect(ratio(two, [40, 20])).toBe(2);
    expect(renderMarkdown([two], '')).toContain('| r | 40.0 | 20.0 | 2.00× |');
  });

  it('puts no ratio on a context row (what was sent, a loss %)', () => {
    const t: BenchTable = { ...table(['kernel', 'eBPF'], [0.14, 0.19]), higherIsBetter: true, rows: [{ label: 'sent', values: [0.14, 0.19], compared: false }, { label: 'discarded', values: [0.14, 0.19] }] };
    const md = renderMarkdown([t], '');
    expect(md).toContain('| sent | 0.14 | 0.19 | — |');
    expect(md).toContain('| discarded | 0.14 | 0.19 | 1.36× |');
  });

  it('labels a CPU row with both offered loads when they differ by more than 5 %', () => {
    expect(offeredLabel(100_000, 103_000)).toBe('offered ≈ 102 kpps');
    expect(offeredLabel(100_000, 120_000)).toBe('offered 100 / 120 kpps');
    expect(offeredLabel(undefined, 50_000)).toBe('offered ≈ 50 kpps');
  });
});
