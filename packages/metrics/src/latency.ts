// SPDX-License-Identifier: Apache-2.0
import * as hdr from 'hdr-histogram-js';
import { monotonicNowNs, type MonotonicClock } from './clock.js';
import { invalidArgument } from './errors.js';

/** Kernel→user latency percentiles, in microseconds. */
export interface LatencySummary {
  /** Samples recorded since the last reset. */
  readonly count: number;
  /** Smallest sample, µs: exact (tracked apart from the histogram, whose buckets would give their bottom). */
  readonly minUs: number;
  /** Mean, µs: exact (a running sum of the samples), so minUs ≤ avgUs ≤ maxUs. */
  readonly avgUs: number;
  /** Median, µs (top of its HDR bucket, never above maxUs). */
  readonly p50Us: number;
  /** 95th percentile, µs (never above maxUs). */
  readonly p95Us: number;
  /** 99th percentile, µs (never above maxUs). */
  readonly p99Us: number;
  /** Largest sample, µs (clamped samples count as highestTrackableNs). */
  readonly maxUs: number;
}

/**
 * Anything that summarises kernel→user latency: this package's LatencyRecorder, or a
 * datapath that keeps its own (the transport's XDP datapath).
 */
export interface LatencySummarySource {
  /** The current summary, or null when nothing was recorded. */
  summary(): LatencySummary | null;
}

/** Options of `new LatencyRecorder()`. */
export interface LatencyRecorderOptions {
  /** Largest latency tracked (an integer ≥ 2); larger samples are clamped to it and counted in `clamped`. Default 10 s. */
  readonly highestTrackableNs?: number;
  /** Significant decimal digits kept by the HDR histogram. Default 3 (0.1 % error). */
  readonly significantDigits?: 1 | 2 | 3 | 4 | 5;
  /** CLOCK_MONOTONIC in ns, the `now` of recordLatencyNs(); injectable for tests. */
  readonly clock?: MonotonicClock;
}

/**
 * Kernel→user latency: the XDP program stamps `bpf_ktime_get_ns()` into the packet
 * metadata; userspace records `now - stamp` when it handles the frame. Values are kept
 * in nanoseconds in an HDR histogram (pure-JS backend, no WebAssembly start-up).
 */
export class LatencyRecorder {
  readonly #histogram: hdr.Histogram;
  readonly #highestNs: number;
  readonly #clock: MonotonicClock;
  #clamped = 0;
  #future = 0;
  // The histogram's own mean uses bucket midpoints, which can land above the exact maximum.
  #sumNs = 0;
  // Its minimum is the bottom of the smallest sample's bucket: up to 1 % low at 2 digits.
  #minNs = Infinity;

  /** Throws StoqMetricsError (STOQ_ERR_INVALID_ARGUMENT) for an option of the wrong type or out of range. */
  constructor(options: LatencyRecorderOptions = {}) {
    if (typeof options !== 'object' || options === null) throw invalidArgument('options', 'an object', options);
    const { highestTrackableNs = 10_000_000_000, significantDigits = 3, clock = monotonicNowNs } = options;
    if (!Number.isSafeInteger(highestTrackableNs) || highestTrackableNs < 2) {
      throw invalidArgument('highestTrackableNs', 'an integer number of nanoseconds >= 2', highestTrackableNs);
    }
    if (!Number.isInteger(significantDigits) || significantDigits < 1 || significantDigits > 5) {
      throw invalidArgument('significantDigits', 'an integer from 1 to 5', significantDigits);
    }
    if (typeof clock !== 'function') throw invalidArgument('clock', 'a function returning nanoseconds as a bigint', clock);
    this.#highestNs = highestTrackableNs;
    this.#clock = clock;
    this.#histogram = hdr.build({
      bitBucketSize: 64,
      highestTrackableValue: this.#highestNs,
      numberOfSignificantValueDigits: significantDigits,
      useWebAssembly: false,
    });
  }

  /**
   * Records the latency of a frame whose kernel timestamp (CLOCK_MONOTONIC ns) is given.
   * A stamp later than now cannot be a latency (wrong clock or garbage metadata): it is
   * counted in `futureStamps` and not recorded. A stamp that is not a bigint is a
   * StoqMetricsError (STOQ_ERR_INVALID_ARGUMENT).
   */
  recordLatencyNs(kernelTimestampNs: bigint, nowNs: bigint = this.#clock()): void {
    if (typeof kernelTimestampNs !== 'bigint') throw invalidArgument('kernelTimestampNs', 'a bigint', kernelTimestampNs);
    if (typeof nowNs !== 'bigint') throw invalidArgument('nowNs', 'a bigint', nowNs);
    const latency = nowNs - kernelTimestampNs;
    if (latency < 0n) {
      this.#future++;
      return;
    }
    this.recordNs(Number(latency));
  }

  /**
   * Records an already computed latency in nanoseconds. Throws StoqMetricsError
   * (STOQ_ERR_INVALID_ARGUMENT), recording nothing, unless it is a finite number ≥ 0.
   */
  recordNs(latencyNs: number): void {
    if (typeof latencyNs !== 'number' || !Number.isFinite(latencyNs) || latencyNs < 0) {
      throw invalidArgument('latencyNs', 'a finite number of nanoseconds >= 0', latencyNs);
    }
    if (latencyNs > this.#highestNs) {
      this.#clamped++;
      latencyNs = this.#highestNs;
    }
    const ns = Math.round(latencyNs);
    this.#histogram.recordValue(ns);
    this.#sumNs += ns;
    this.#minNs = Math.min(this.#minNs, ns);
  }

  /** Samples above highestTrackableNs, recorded as that value, since the last reset. */
  get clamped(): number {
    return this.#clamped;
  }

  /** Kernel stamps later than now (not recorded) since the last reset. */
  get futureStamps(): number {
    return this.#future;
  }

  /** Summary in microseconds, or null when nothing was recorded. */
  summary(): LatencySummary | null {
    const h = this.#histogram;
    if (h.totalCount === 0) return null;
    const us = (ns: number) => ns / 1000;
    // Percentiles come back as the top of their HDR bucket, which can sit just above the
    // exact maximum: clamp so that min ≤ p50 ≤ p95 ≤ p99 ≤ max always holds.
    const at = (percentile: number) => us(Math.min(h.getValueAtPercentile(percentile), h.maxValue));
    const minNs = this.#minNs;
    return {
      count: h.totalCount,
      minUs: us(minNs),
      // Clamped: a huge sum may round.
      avgUs: us(Math.min(h.maxValue, Math.max(minNs, this.#sumNs / h.totalCount))),
      p50Us: at(50),
      p95Us: at(95),
      p99Us: at(99),
      maxUs: us(h.maxValue),
    };
  }

  /**
   * Starts a new measurement interval. Nothing calls it for you: the collector only reads
   * summary(), so call reset() yourself (e.g. after each scrape) for per-interval figures.
   */
  reset(): void {
    this.#histogram.reset();
    this.#sumNs = 0;
    this.#minNs = Infinity;
    this.#clamped = 0;
    this.#future = 0;
  }
}
