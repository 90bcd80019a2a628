// SPDX-License-Identifier: Apache-2.0
// Kernel→user latency: the XDP program stamps bpf_ktime_get_ns() (CLOCK_MONOTONIC)
// into the frame's metadata, we subtract it from process.hrtime (the same clock) when
// the frame is handed to the endpoint. Keeps the last SAMPLES values for percentiles.
const SAMPLES = 8192;
/** A stamp older than this is not a latency but a frame without metadata. */
const PLAUSIBLE_NS = 10_000_000_000n;

/**
 * Kernel→user latency of received frames (XDP metadata timestamp to hand-off to the
 * endpoint), microseconds. min, avg and max cover every sample; the percentiles the
 * last 8192.
 */
export interface LatencySummary {
  /** Samples recorded so far. */
  count: number;
  /** Smallest latency, µs. */
  minUs: number;
  /** Mean latency, µs. */
  avgUs: number;
  /** Median of the recent samples, µs. */
  p50Us: number;
  /** 95th percentile of the recent samples, µs. */
  p95Us: number;
  /** 99th percentile of the recent samples, µs. */
  p99Us: number;
  /** Largest latency, µs. */
  maxUs: number;
}

export class LatencyRecorder {
  readonly #ring = new Float64Array(SAMPLES);
  #next = 0;
  #count = 0;
  #sumNs = 0;
  #minNs = Infinity;
  #maxNs = 0;
  /** Stamps that could not be latencies (zero, in the future, far in the past). */
  implausible = 0;

  record(stampNs: bigint, nowNs: bigint): void {
    const delta = nowNs - stampNs;
    if (stampNs === 0n || delta < 0n || delta > PLAUSIBLE_NS) {
      this.implausible++;
      return;
    }
    const ns = Number(delta);
    this.#ring[this.#next] = ns;
    this.#next = (this.#next + 1) % SAMPLES;
    this.#count++;
    this.#sumNs += ns;
    if (ns < this.#minNs) this.#minNs = ns;
    if (ns > this.#maxNs) this.#maxNs = ns;
  }

  summary(): LatencySummary | null {
    if (this.#count === 0) return null;
    const kept = this.#ring.slice(0, Math.min(this.#count, SAMPLES)).sort();
    const at = (q: number) => (kept[Math.min(kept.length - 1, Math.floor(q * kept.length))] ?? 0) / 1000;
    return {
      count: this.#count,
      minUs: this.#minNs / 1000,
      avgUs: this.#sumNs / this.#count / 1000,
      p50Us: at(0.5),
      p95Us: at(0.95),
      p99Us: at(0.99),
      maxUs: this.#maxNs / 1000,
    };
  }
}
