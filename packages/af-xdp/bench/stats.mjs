// SPDX-License-Identifier: Apache-2.0
// The paired drains' headline: the crossover estimate of Node/C and how far the pairs
// of one run leave it uncertain.
import { median } from './config.mjs';

export const sorted = (list) => [...list].sort((a, b) => a - b);

/** Median pair ratio of each half: pairs [0, first) and [first, end) (the halves swap labs). */
export const halfMedians = (ratios, first) => [ratios.slice(0, first), ratios.slice(first)].map((half) => median(sorted(half)));

/** Geometric mean of the two halves' median ratios. */
export function crossover(ratios, first) {
  const [a, b] = halfMedians(ratios, first);
  return Math.sqrt(a * b);
}

/** Small seeded generator (xorshift32): the same run prints the same interval. */
function generator(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

/**
 * 95 % percentile-bootstrap interval of the crossover estimate: each half's pairs are
 * resampled with replacement, within their half. It covers the pair-to-pair spread of
 * this run only, not the drift between runs (a few points on the development VM).
 */
export function crossoverInterval(ratios, first, resamples = 2000) {
  const halves = [ratios.slice(0, first), ratios.slice(first)];
  const random = generator(0x5eed);
  const draw = (half) => half.map(() => half[Math.floor(random() * half.length)]);
  const estimates = [];
  for (let k = 0; k < resamples; k++) {
    const [a, b] = halves.map((half) => median(sorted(draw(half))));
    estimates.push(Math.sqrt(a * b));
  }
  const all = sorted(estimates);
  return [all[Math.floor(0.025 * (resamples - 1))], all[Math.ceil(0.975 * (resamples - 1))]];
}
