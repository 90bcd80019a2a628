// SPDX-License-Identifier: Apache-2.0
import * as hdr from 'hdr-histogram-js';
import { monotonicNowNs, type MonotonicClock } from './clock.js';

/** Kernel→user latency percentiles, in microseconds. */
export interface LatencySummary {
  /** Samples recorded since the last reset. */
  readonly count: number;
  /** Smallest sample, µs. */
  readonly minUs: number;
  /** Mean, µs. */
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
  /** Largest latency tracked; larger samples are clamped to it and counted in `clamped`. Default 10 s. */
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

  constructor(options: LatencyRecorderOptions = {}) {
    this.#highestNs = options.highestTrackableNs ?? 10_000_000_000;
    this.#clock = options.clock ?? monotonicNowNs;
    this.#histogram = hdr.build({
      bitBucketSize: 64,
      highestTrackableValue: this.#highestNs,
      numberOfSignificantValueDigits: options.significantDigits ?? 3,
      useWebAssembly: false,
    });
  }

  /**
   * Records the latency of a frame whose kernel timestamp (CLOCK_MONOTONIC ns) is given.
   * A stamp later than now cannot be a latency (wrong clock or garbage metadata): it is
   * counted in `futureStamps` and not recorded.
   */
  recordLatencyNs(kernelTimestampNs: bigint, nowNs: bigint = this.#clock()): void {
    const latency = nowNs - kernelTimestampNs;
    if (latency < 0n) {
      this.#future++;
      return;
    }
    this.recordNs(Number(latency));
  }

  /** Records an already computed latency in nanoseconds. */
  recordNs(latencyNs: number): void {
    if (latencyNs > this.#highestNs) {
      this.#clamped++;
      latencyNs = this.#highestNs;
    }
    this.#histogram.recordValue(Math.max(0, Math.round(latencyNs)));
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
    return {
      count: h.totalCount,
      minUs: us(Math.min(h.minNonZeroValue, h.getValueAtPercentile(0))),
      avgUs: us(h.mean),
      p50Us: at(50),
      p95Us: at(95),
      p99Us: at(99),
      maxUs: us(h.maxValue),
    };
  }

  /** Starts a new measurement interval (the collector resets after each snapshot when asked to). */
  reset(): void {
    this.#histogram.reset();
    this.#clamped = 0;
    this.#future = 0;
  }
}
