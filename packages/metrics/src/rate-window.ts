// SPDX-License-Identifier: Apache-2.0
import { checkWindowMs, invalidArgument } from './errors.js';

/** True for what a rate window can take as a counter value: a finite number. The one such check. */
export function isCounterValue(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/**
 * The points of one counter's window, unchecked: RateWindow and KeyedRateWindows check their
 * input first, the collector checks its counters once when the stats source is read.
 */
class Points {
  readonly #windowNs: bigint;
  readonly #points: { atNs: bigint; value: number }[] = [];

  constructor(windowNs: bigint) {
    this.#windowNs = windowNs;
  }

  add(atNs: bigint, value: number): void {
    const last = this.#points.at(-1);
    if (last !== undefined && (value < last.value || atNs <= last.atNs)) this.#points.length = 0;
    this.#points.push({ atNs, value });
    // Keep one point at or beyond the window edge so the window stays fully covered.
    while (this.#points.length > 2 && atNs - this.#points[1]!.atNs >= this.#windowNs) this.#points.shift();
  }

  perSecond(): number | null {
    const first = this.#points[0];
    const last = this.#points.at(-1);
    if (first === undefined || last === undefined || first === last) return null;
    const seconds = Number(last.atNs - first.atNs) / 1e9;
    return (last.value - first.value) / seconds;
  }
}

/** A checked window in ms as whole ns, the unit of the readings' timestamps. */
const toNs = (windowMs: number): bigint => BigInt(Math.round(windowMs * 1e6));

/**
 * A Points per key, created on first sight of the key; unchecked (see Points). The collector's
 * windows: it has checked the window once in its constructor and each counter once when read.
 */
export class CounterWindows {
  readonly #windowNs: bigint;
  readonly #windows = new Map<string, Points>();

  /** `windowMs` already checked (checkWindowMs). */
  constructor(windowMs: number) {
    this.#windowNs = toNs(windowMs);
  }

  add(atNs: bigint, values: Readonly<Record<string, number>>): void {
    for (const [key, value] of Object.entries(values)) {
      let window = this.#windows.get(key);
      if (window === undefined) {
        window = new Points(this.#windowNs);
        this.#windows.set(key, window);
      }
      window.add(atNs, value);
    }
  }

  reset(): void {
    this.#windows.clear();
  }

  perSecond(): Record<string, number | null> {
    const rates: Record<string, number | null> = {};
    for (const [key, window] of this.#windows) rates[key] = window.perSecond();
    return rates;
  }
}

/**
 * Per-second rate of a monotonically increasing counter over a sliding window.
 * Keeps (time, cumulative value) points no older than the window and divides the
 * increase between the oldest and newest kept point by the time between them.
 */
export class RateWindow {
  readonly #points: Points;

  /** Throws StoqMetricsError (STOQ_ERR_INVALID_ARGUMENT) unless `windowMs` is from 1 ns to 2^53 - 1 ns (about 104 days). */
  constructor(windowMs: number) {
    this.#points = new Points(toNs(checkWindowMs(windowMs)));
  }

  /**
   * Adds a cumulative reading `value` (a finite number) taken at `atNs` (CLOCK_MONOTONIC ns, a
   * bigint); else throws StoqMetricsError (STOQ_ERR_INVALID_ARGUMENT), adding nothing. A decrease
   * means the counter restarted (map reloaded): the window starts over.
   */
  add(atNs: bigint, value: number): void {
    checkReading(atNs, value);
    this.#points.add(atNs, value);
  }

  /** Increase per second across the window; null until two readings exist. */
  perSecond(): number | null {
    return this.#points.perSecond();
  }
}

/** A RateWindow per key (per verdict), created on first sight of the key. */
export class KeyedRateWindows {
  readonly #windows: CounterWindows;

  /** Checked here, not when the first key arrives: a bad window must not fail every later add(). */
  constructor(windowMs: number) {
    this.#windows = new CounterWindows(checkWindowMs(windowMs));
  }

  /**
   * Adds one cumulative reading per key at `atNs` (CLOCK_MONOTONIC ns); a key seen for the first
   * time gets its own window.
   */
  add(atNs: bigint, values: Readonly<Record<string, number>>): void {
    if (typeof values !== 'object' || values === null) throw invalidArgument('values', 'an object of counter values by key', values);
    // Checked up front: one bad value must not leave the keys before it added and the rest not.
    for (const value of Object.values(values)) checkReading(atNs, value);
    this.#windows.add(atNs, values);
  }

  /** Forgets every reading: the counters that follow are another program's (restarted, or a different map). */
  reset(): void {
    this.#windows.reset();
  }

  /** Each key's increase per second across its window; null until a key has two readings. */
  perSecond(): Record<string, number | null> {
    return this.#windows.perSecond();
  }
}

function checkReading(atNs: unknown, value: unknown): void {
  if (typeof atNs !== 'bigint') throw invalidArgument('atNs', 'CLOCK_MONOTONIC nanoseconds as a bigint', atNs);
  if (!isCounterValue(value)) throw invalidArgument('value', 'a finite number', value);
}
