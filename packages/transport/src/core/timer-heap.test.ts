// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TimerHeap } from './timer-heap.js';

describe('TimerHeap', () => {
  it('pops exactly the keys whose latest deadline has passed, earliest first', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.option(fc.integer({ min: 0, max: 1000 }), { nil: null })), { maxLength: 200 }),
        fc.integer({ min: 0, max: 1000 }),
        (ops, now) => {
          const heap = new TimerHeap<number>();
          const model = new Map<number, number>();
          for (const [key, at] of ops) {
            heap.set(key, at);
            if (at === null) model.delete(key);
            else model.set(key, at);
          }
          const expected = [...model].filter(([, at]) => at <= now).sort((a, b) => a[1] - b[1]);
          const popped = heap.popExpired(now);
          expect(new Set(popped)).toEqual(new Set(expected.map(([k]) => k)));
          expect(popped.map((k) => model.get(k))).toEqual(expected.map(([, at]) => at));
          const remaining = [...model.values()].filter((at) => at > now);
          expect(heap.peek()).toBe(remaining.length ? Math.min(...remaining) : null);
          expect(heap.size).toBe(remaining.length);
        },
      ),
    );
  });

  it('does not grow without bound when one key is rescheduled over and over', () => {
    const heap = new TimerHeap<string>();
    for (let i = 0; i < 100_000; i++) heap.set('conn', 30_000 + i);
    expect(heap.size).toBe(1);
    expect(heap.entries).toBeLessThan(2000);
    expect(heap.popExpired(1e9)).toEqual(['conn']);
  });
});
