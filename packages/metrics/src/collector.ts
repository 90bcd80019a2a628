// SPDX-License-Identifier: Apache-2.0
import { monotonicNowNs, type MonotonicClock } from './clock.js';
import type { LatencySummary, LatencySummarySource } from './latency.js';
import { KeyedRateWindows } from './rate-window.js';
import { unavailable, type MetricSource, type SourceReading } from './source.js';
import type { AfXdpData } from './sources/af-xdp.js';
import type { ConntrackData } from './sources/conntrack.js';
import type { DatapathData } from './sources/datapath.js';
import type { ProcessData } from './sources/process.js';
import { processSource } from './sources/process.js';
import type { QuicData } from './sources/quic.js';
import type { XdpStatsData } from './sources/xdp-stats.js';

export interface CollectorSources {
  readonly xdpStats?: MetricSource<XdpStatsData>;
  readonly conntrack?: MetricSource<ConntrackData>;
  readonly afXdp?: MetricSource<AfXdpData>;
  readonly quic?: MetricSource<QuicData>;
  readonly datapath?: MetricSource<DatapathData>;
  /** Defaults to `processSource()`; pass `null` to leave process metrics out. */
  readonly process?: MetricSource<ProcessData> | null;
}

export type SourceKey = keyof CollectorSources;
export const SOURCE_KEYS: readonly SourceKey[] = ['xdpStats', 'conntrack', 'afXdp', 'quic', 'datapath', 'process'];

export interface CollectorOptions {
  readonly sources?: CollectorSources;
  /** Kernel→user latency recorder fed by the receive path (or its summary); absent = latency unavailable. */
  readonly latency?: LatencySummarySource;
  /** Sliding window for rates, ms. Default 10 000. */
  readonly windowMs?: number;
  /** Injectable CLOCK_MONOTONIC (ns) for deterministic window maths in tests. */
  readonly clock?: MonotonicClock;
}

export interface Rates {
  readonly packetsPerSecond: number | null;
  readonly bytesPerSecond: number | null;
  /** Per XDP verdict counter (every counter except rx_packets/rx_bytes). */
  readonly perVerdict: Readonly<Record<string, number | null>>;
}

export interface CpuUsage {
  /** This process's CPU time over the last collection interval, % of one core. */
  readonly processPercent: number | null;
  /** Busy share of each core over the last collection interval, %. */
  readonly perCorePercent: readonly (number | null)[];
}

export interface MetricsSnapshot {
  /** Wall-clock time of the collection, ms since the epoch. */
  readonly takenAtMs: number;
  readonly monotonicNs: bigint;
  readonly readings: {
    readonly xdpStats: SourceReading<XdpStatsData>;
    readonly conntrack: SourceReading<ConntrackData>;
    readonly afXdp: SourceReading<AfXdpData>;
    readonly quic: SourceReading<QuicData>;
    readonly datapath: SourceReading<DatapathData>;
    readonly process: SourceReading<ProcessData>;
  };
  /** Null while the stats source is unavailable. */
  readonly rates: Rates | null;
  readonly latency: SourceReading<LatencySummary>;
  readonly cpu: CpuUsage | null;
  /** Collections that failed, per configured source (by source name), since the collector was created. */
  readonly sourceErrors: Readonly<Record<string, number>>;
}

const TOTAL_COUNTERS = new Set(['rx_packets', 'rx_bytes']);

/**
 * Asks every source for a reading, derives rates over a sliding window and CPU
 * percentages between consecutive collections. Concurrent callers (a Prometheus
 * scrape and a JSON request) share one in-flight collection.
 */
export class MetricsCollector {
  readonly #sources: Readonly<Record<SourceKey, MetricSource<unknown> | null>>;
  readonly #latency: LatencySummarySource | undefined;
  readonly #clock: MonotonicClock;
  readonly #windows: KeyedRateWindows;
  readonly #errors: Record<string, number> = {};
  #previousProcess: { atNs: bigint; data: ProcessData } | null = null;
  #inFlight: Promise<MetricsSnapshot> | null = null;
  #last: MetricsSnapshot | null = null;

  constructor(options: CollectorOptions = {}) {
    const s = options.sources ?? {};
    this.#sources = {
      xdpStats: s.xdpStats ?? null,
      conntrack: s.conntrack ?? null,
      afXdp: s.afXdp ?? null,
      quic: s.quic ?? null,
      datapath: s.datapath ?? null,
      process: s.process === undefined ? processSource() : s.process,
    };
    // A configured source starts at 0 errors: a real count, exported for every source.
    for (const source of Object.values(this.#sources)) if (source !== null) this.#errors[source.name] = 0;
    this.#latency = options.latency;
    this.#clock = options.clock ?? monotonicNowNs;
    this.#windows = new KeyedRateWindows(options.windowMs ?? 10_000);
  }

  /** The latency recorder (or summary source) that was given, if any. */
  get latency(): LatencySummarySource | undefined {
    return this.#latency;
  }

  /** The most recent snapshot, or null before the first collection. */
  get lastSnapshot(): MetricsSnapshot | null {
    return this.#last;
  }

  /**
   * Collects every `intervalMs` so rates stay current and a synchronous reader (the
   * transport's `getEbpfMetrics()`) can use `lastSnapshot`. The timer is unref'd: it
   * never keeps the process alive. A failed collection goes to `onError`; returns stop().
   */
  startPolling(intervalMs: number, onError: (error: unknown) => void): () => void {
    if (!(intervalMs >= 10)) throw new RangeError(`intervalMs must be >= 10, got ${intervalMs}`);
    const timer = setInterval(() => {
      this.collect().catch(onError);
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Releases what the sources hold (the conntrack iterator's program and link). Idempotent. */
  close(): void {
    for (const source of Object.values(this.#sources)) source?.close?.();
  }

  collect(): Promise<MetricsSnapshot> {
    this.#inFlight ??= this.#collectOnce().finally(() => {
      this.#inFlight = null;
    });
    return this.#inFlight;
  }

  async #collectOnce(): Promise<MetricsSnapshot> {
    const entries = await Promise.all(SOURCE_KEYS.map(async (key) => [key, await this.#read(key)] as const));
    const readings = Object.fromEntries(entries) as unknown as MetricsSnapshot['readings'];
    const atNs = this.#clock();
    const latencySummary = this.#latency?.summary();
    const snapshot: MetricsSnapshot = {
      takenAtMs: Date.now(),
      monotonicNs: atNs,
      readings,
      rates: readings.xdpStats.available ? this.#rates(atNs, readings.xdpStats.data) : null,
      latency:
        this.#latency === undefined
          ? unavailable('no latency recorder (timestamp_meta off or no AF_XDP receive path)')
          : latencySummary == null
            ? unavailable('no timestamped frame received yet')
            : { available: true, data: latencySummary },
      cpu: readings.process.available ? this.#cpu(atNs, readings.process.data) : null,
      sourceErrors: { ...this.#errors },
    };
    this.#last = snapshot;
    return snapshot;
  }

  /** A failing source becomes unavailable with the error as the reason and is counted, never hidden. */
  async #read(key: SourceKey): Promise<SourceReading<unknown>> {
    const source = this.#sources[key];
    if (source === null) return unavailable('source not configured');
    try {
      return await source.collect();
    } catch (error) {
      this.#errors[source.name] = (this.#errors[source.name] ?? 0) + 1;
      const message = error instanceof Error ? error.message : String(error);
      return unavailable(`collect failed: ${message}`);
    }
  }

  #rates(atNs: bigint, stats: XdpStatsData): Rates {
    this.#windows.add(atNs, stats.counters);
    const all = this.#windows.perSecond();
    const perVerdict: Record<string, number | null> = {};
    for (const [name, rate] of Object.entries(all)) if (!TOTAL_COUNTERS.has(name)) perVerdict[name] = rate;
    return { packetsPerSecond: all['rx_packets'] ?? null, bytesPerSecond: all['rx_bytes'] ?? null, perVerdict };
  }

  #cpu(atNs: bigint, data: ProcessData): CpuUsage {
    const previous = this.#previousProcess;
    this.#previousProcess = { atNs, data };
    if (previous === null) return { processPercent: null, perCorePercent: data.cores.map(() => null) };
    const wallSeconds = Number(atNs - previous.atNs) / 1e9;
    const processPercent = wallSeconds > 0 ? (100 * (data.processCpuSeconds - previous.data.processCpuSeconds)) / wallSeconds : null;
    const perCorePercent = data.cores.map((core, i) => {
      const before = previous.data.cores[i];
      const total = before === undefined ? 0 : core.totalSeconds - before.totalSeconds;
      if (before === undefined || total <= 0) return null;
      // Clamped: tick→second rounding and iowait (which the kernel may step backwards) can nudge it past the bounds.
      return Math.min(100, Math.max(0, (100 * (core.busySeconds - before.busySeconds)) / total));
    });
    return { processPercent, perCorePercent };
  }
}
