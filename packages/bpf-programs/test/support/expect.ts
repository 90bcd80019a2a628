// SPDX-License-Identifier: Apache-2.0
// Asserts what one frame did to the counters: rx_packets/rx_bytes, one histogram
// bucket and exactly one class counter.
import { expect } from 'vitest';
import { CLASS_COUNTER_NAMES, diffStats, sizeBucketOf, type CounterName, type StoqStats } from '../../src/index.js';

export function expectOneFrame(before: StoqStats, after: StoqStats, frameLength: number, counter: CounterName): void {
  const d = diffStats(before, after);
  expect(d.counters.rx_packets).toBe(1);
  expect(d.counters.rx_bytes).toBe(frameLength);
  const moved = Object.fromEntries(CLASS_COUNTER_NAMES.filter((n) => d.counters[n] !== 0).map((n) => [n, d.counters[n]]));
  expect(moved).toEqual({ [counter]: 1 });
  const hist = new Array<number>(8).fill(0);
  hist[sizeBucketOf(frameLength)] = 1;
  expect(d.sizeHistogram).toEqual(hist);
}
