// The bench's headline statistic: the crossover estimate and its bootstrap interval.
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM module of the bench, no types
import { crossover, crossoverInterval } from '../bench/stats.mjs';

describe('bench crossover statistic', () => {
  it('is the geometric mean of the two halves\' medians', () => {
    // Medians 0.8 (first half) and 1.25 (second): the lab effect cancels to 1.
    expect(crossover([0.7, 0.8, 0.9, 1.2, 1.25, 1.3], 3)).toBeCloseTo(1, 10);
    expect(crossover([0.9, 0.9, 0.9, 0.9], 2)).toBeCloseTo(0.9, 10);
  });

  it('gives an interval that holds the estimate and collapses when the pairs agree', () => {
    const ratios = [0.86, 0.91, 0.88, 0.95, 0.79, 0.9, 0.93, 0.97, 0.89, 0.92, 1.01, 0.94];
    const [low, high] = crossoverInterval(ratios, 6);
    const estimate = crossover(ratios, 6);
    expect(low).toBeLessThan(estimate);
    expect(high).toBeGreaterThan(estimate);
    expect(low).toBeGreaterThanOrEqual(0.79);
    expect(high).toBeLessThanOrEqual(1.01);
    // Same input, same interval (seeded).
    expect(crossoverInterval(ratios, 6)).toEqual([low, high]);
    expect(crossoverInterval([0.9, 0.9, 0.9, 0.9], 2)).toEqual([0.9, 0.9].map((x) => expect.closeTo(x, 10)));
  });
});
