// SPDX-License-Identifier: Apache-2.0
import { monotonicNowNs, type MonotonicClock } from './clock.js';
import { checkWindowMs, collectorClosed, invalidArgument } from './errors.js';
import type { LatencySummary, LatencySummarySource } from './latency.js';
import { CounterWindows, isCounterValue } from './rate-window.js';
import { available, unavailable, type MetricSource, type SourceReading } from './source.js';
import type { AfXdpData } from './sources/af-xdp.js';
import type { ConntrackData } from './sources/conntrack.js';
import type { DatapathData } from './sources/datapath.js';
import type { ProcessData } from './sources/process.js';
import { processSource } from './sources/process.js';
import type { QuicData } from './sources/quic.js';
import type { XdpStatsData } from './sources/xdp-stats.js';

/** The sources a MetricsCollector reads; an absent one reads as unavailable ("source not configured"). */
export interface CollectorSources {
  /** stoq_stats counters and frame sizes (xdpStatsSource); also the input of the rates. */
  readonly xdpStats?: MetricSource<XdpStatsData>;
  /** stoq_conntrack entries per state (conntrackSource). */
  readonly conntrack?: MetricSource<ConntrackData>;
  /** AF_XDP socket statistics (afXdpSource). */
  readonly afXdp?: MetricSource<AfXdpData>;
  /** QUIC connection stats (quicSource). */
  readonly quic?: MetricSource<QuicData>;
  /** The transport datapaths' own counts (datapathSource). */
  readonly datapath?: MetricSource<DatapathData>;
  /** Defaults to `processSource()`; pass `null` to leave process metrics out. */
  readonly process?: MetricSource<ProcessData> | null;
}

/** A source's key in CollectorSources and in MetricsSnapshot.readings. */
export type SourceKey = keyof CollectorSources;
/** Every SourceKey, in the order the collector reads them. */
export const SOURCE_KEYS: readonly SourceKey[] = ['xdpStats', 'conntrack', 'afXdp', 'quic', 'datapath', 'process'];

/** Options of `new MetricsCollector()`. */
export interface CollectorOptions {
  /** The sources to read; process metrics are on unless `process: null`. */
  readonly sources?: CollectorSources;
  /** Kernel→user latency recorder fed by the receive path (or its summary); absent = latency unavailable. */
  readonly latency?: LatencySummarySource;
  /** Sliding window for rates, ms: from 1 ns to 2^53 - 1 ns, about 104 days (else the constructor throws StoqMetricsError). Default 10 000. */
  readonly windowMs?: number;
  /** Injectable CLOCK_MONOTONIC (ns, a bigint) for deterministic window maths in tests. */
  readonly clock?: MonotonicClock;
}

/**
 * Rates from the stoq_stats counters over the collector's sliding window; each is null until the
 * window holds two collections.
 */
export interface Rates {
  /** Frames per second seen by the XDP program (rx_packets). */
  readonly packetsPerSecond: number | null;
  /** Frame bytes per second (rx_bytes). */
  readonly bytesPerSecond: number | null;
  /** Per XDP verdict counter (every counter except rx_packets/rx_bytes). */
  readonly perVerdict: Readonly<Record<string, number | null>>;
}

/** CPU use between two consecutive collections; null values on the first one. */
export interface CpuUsage {
  /** This process's CPU time over the last collection interval, % of one core. */
  readonly processPercent: number | null;
  /**
   * Busy share of each core over the last collection interval, %, indexed by CPU number (N of
   * `cpuN` in /proc/stat): null for a CPU that was offline at either collection, and on the first.
   */
  readonly perCorePercent: readonly (number | null)[];
}

/** One collection: every source's reading, rates, latency and CPU use. */
export interface MetricsSnapshot {
  /** Wall-clock time of the collection, ms since the epoch. */
  readonly takenAtMs: number;
  /** CLOCK_MONOTONIC (the collector's clock) at the collection, ns. */
  readonly monotonicNs: bigint;
  /** Each source's reading, available or with the reason it is not. */
  readonly readings: {
    /** stoq_stats counters and frame sizes. */
    readonly xdpStats: SourceReading<XdpStatsData>;
    /** stoq_conntrack entries per state. */
    readonly conntrack: SourceReading<ConntrackData>;
    /** AF_XDP socket statistics. */
    readonly afXdp: SourceReading<AfXdpData>;
    /** QUIC connection aggregates. */
    readonly quic: SourceReading<QuicData>;
    /** Datapath copy accounting. */
    readonly datapath: SourceReading<DatapathData>;
    /** Process CPU time and memory. */
    readonly process: SourceReading<ProcessData>;
  };
  /** Null while the stats source is unavailable. */
  readonly rates: Rates | null;
  /** Kernel→user latency summary; unavailable without a recorder or before the first timestamped frame. */
  readonly latency: SourceReading<LatencySummary>;
  /** CPU use since the previous collection; null while the process source is unavailable. */
  readonly cpu: CpuUsage | null;
  /**
   * Collections that failed, per configured source (by source name, and `latency` for a latency
   * source whose summary() threw), since the collector was created.
   */
  readonly sourceErrors: Readonly<Record<string, number>>;
}

const TOTAL_COUNTERS = new Set(['rx_packets', 'rx_bytes']);
/** The `source` of the latency summary in sourceErrors (and the Prometheus `source` label). */
const LATENCY = 'latency';
/** Polling bounds: below 10 ms the collections are the load; above 2^31 - 1 Node's timers fire every 1 ms. */
const MIN_POLL_MS = 10;
const MAX_POLL_MS = 2 ** 31 - 1;

/**
 * Asks every source for a reading, derives rates over a sliding window and CPU
 * percentages between consecutive collections. Concurrent callers (a Prometheus
 * scrape and a JSON request) share one in-flight collection.
 */
export class MetricsCollector {
  readonly #sources: Readonly<Record<SourceKey, MetricSource<unknown> | null>>;
  readonly #latency: LatencySummarySource | undefined;
  readonly #clock: MonotonicClock;
  /** Unchecked windows: each counter is checked once, when the stats source is read (#read). */
  readonly #windows: CounterWindows;
  readonly #errors: Record<string, number> = {};
  #previousProcess: { atNs: bigint; data: ProcessData } | null = null;
  /** The stoq_stats map id of the last stats reading: another id is another program's counters. */
  #statsMapId: number | undefined;
  #inFlight: Promise<MetricsSnapshot> | null = null;
  #last: MetricsSnapshot | null = null;
  readonly #pollers = new Set<ReturnType<typeof setInterval>>();
  #closed = false;

  /**
   * Throws StoqMetricsError (STOQ_ERR_INVALID_ARGUMENT) for a bad `windowMs`, a `clock` that is
   * not a function or a `latency` without summary(): checked now, not at every collect().
   */
  constructor(options: CollectorOptions = {}) {
    const { clock = monotonicNowNs, latency } = options;
    if (typeof clock !== 'function') throw invalidArgument('clock', 'a function returning nanoseconds as a bigint', clock);
    if (latency !== undefined && typeof (latency as Partial<LatencySummarySource> | null)?.summary !== 'function') {
      throw invalidArgument('latency', 'an object with a summary() method (e.g. a LatencyRecorder)', latency);
    }
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
    if (latency !== undefined) this.#errors[LATENCY] = 0;
    this.#latency = latency;
    this.#clock = clock;
    // Checked now: a bad window would otherwise reject every collect() and lose every source.
    this.#windows = new CounterWindows(checkWindowMs(options.windowMs ?? 10_000));
  }

  /** The latency recorder (or summary source) that was given, if any. */
  get latency(): LatencySummarySource | undefined {
    return this.#latency;
  }

  /** True once close() was called: collect() then rejects (STOQ_ERR_CLOSED). */
  get closed(): boolean {
    return this.#closed;
  }

  /** The most recent snapshot, or null before the first collection. */
  get lastSnapshot(): MetricsSnapshot | null {
    return this.#last;
  }

  /**
   * Collects every `intervalMs` so rates stay current and a synchronous reader (the
   * transport's `getEbpfMetrics()`) can use `lastSnapshot`. The timer is unref'd: it
   * never keeps the process alive. A failed collection goes to `onError`; returns stop().
   * `close()` stops it too. Throws StoqMetricsError: STOQ_ERR_INVALID_ARGUMENT unless
   * `intervalMs` is an integer from 10 to 2^31 - 1 (Node would run a larger one every 1 ms)
   * and `onError` a function, STOQ_ERR_CLOSED after close().
   */
  startPolling(intervalMs: number, onError: (error: unknown) => void): () => void {
    if (!Number.isInteger(intervalMs) || intervalMs < MIN_POLL_MS || intervalMs > MAX_POLL_MS) {
      throw invalidArgument('intervalMs', `an integer number of milliseconds from ${MIN_POLL_MS} to ${MAX_POLL_MS}`, intervalMs);
    }
    if (typeof onError !== 'function') throw invalidArgument('onError', 'a function', onError);
    if (this.#closed) throw collectorClosed('startPolling');
    const timer = setInterval(() => {
      this.collect().catch(onError);
    }, intervalMs);
    timer.unref();
    this.#pollers.add(timer);
    return () => {
      clearInterval(timer);
      this.#pollers.delete(timer);
    };
  }

  /**
   * Stops every poller startPolling() started and releases what the sources hold (the
   * conntrack iterator's program and link). Idempotent. Afterwards collect() rejects and
   * startPolling() throws (STOQ_ERR_CLOSED); lastSnapshot keeps the last snapshot taken.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#pollers) clearInterval(timer);
    this.#pollers.clear();
    for (const source of Object.values(this.#sources)) source?.close?.();
  }

  /**
   * Reads every source once and returns the snapshot (also kept as lastSnapshot). A failing source
   * is counted in sourceErrors and reads as unavailable; it never rejects the collection.
   * Concurrent calls share one collection. After close() it rejects with StoqMetricsError
   * (STOQ_ERR_CLOSED), reading nothing; a collection already under way then still settles (its
   * sources are all asked in collect()'s synchronous part, before close() could release them).
   */
  collect(): Promise<MetricsSnapshot> {
    // Else the sources would be read behind what close() released (conntrack would walk the map).
    if (this.#closed) return Promise.reject(collectorClosed('collect'));
    this.#inFlight ??= this.#collectOnce().finally(() => {
      this.#inFlight = null;
    });
    return this.#inFlight;
  }

  async #collectOnce(): Promise<MetricsSnapshot> {
    const stats = this.#read('xdpStats');
    // The stats sources look stoq_stats up in collect()'s synchronous part: stamp the rates here,
    // before the other sources run, not after the slowest of them (which would skew every rate).
    const statsAtNs = this.#sources.xdpStats === null ? 0n : this.#now();
    // Likewise CPU time is stamped when the process source's reading arrives, not after the slowest source.
    let processAtNs = 0n;
    const others = SOURCE_KEYS.filter((key) => key !== 'xdpStats').map(async (key) => {
      const reading = await this.#read(key);
      if (key === 'process') processAtNs = this.#now();
      return [key, reading] as const;
    });
    const readings = Object.fromEntries([['xdpStats', await stats], ...(await Promise.all(others))]) as unknown as MetricsSnapshot['readings'];
    const atNs = this.#now();
    const snapshot: MetricsSnapshot = {
      takenAtMs: Date.now(),
      monotonicNs: atNs,
      readings,
      rates: this.#rates(statsAtNs, readings.xdpStats),
      latency: this.#readLatency(),
      cpu: readings.process.available ? this.#cpu(processAtNs, readings.process.data) : null,
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
      const reading = await source.collect();
      // A counter the rate windows cannot take fails this source's reading, not the whole collection:
      // the one check of these counters on the way to the windows.
      if (key === 'xdpStats' && reading.available) checkCounters(reading.data as XdpStatsData);
      return reading;
    } catch (error) {
      return this.#failed(source.name, error);
    }
  }

  #failed(name: string, error: unknown): SourceReading<never> {
    this.#errors[name] = (this.#errors[name] ?? 0) + 1;
    const message = error instanceof Error ? error.message : String(error);
    return unavailable(`collect failed: ${message}`);
  }

  /** The latency summary; like a source, a throwing summary() is counted and unavailable, never a failed collection. */
  #readLatency(): SourceReading<LatencySummary> {
    if (this.#latency === undefined) return unavailable('no latency recorder (timestamp_meta off or no AF_XDP receive path)');
    try {
      const summary = this.#latency.summary();
      return summary == null ? unavailable('no timestamped frame received yet') : available(summary);
    } catch (error) {
      return this.#failed(LATENCY, error);
    }
  }

  #now(): bigint {
    const ns = this.#clock();
    if (typeof ns !== 'bigint') throw invalidArgument('clock', 'a function returning nanoseconds as a bigint', ns);
    return ns;
  }

  #rates(atNs: bigint, reading: SourceReading<XdpStatsData>): Rates | null {
    // Counters of another program (the map was gone, or its id changed: a restart found by name)
    // must not share a window with the old ones: a higher count would pass as growth.
    const mapId = reading.available ? reading.data.mapId : undefined;
    if (!reading.available || mapId !== this.#statsMapId) this.#windows.reset();
    this.#statsMapId = mapId;
    if (!reading.available) return null;
    const stats = reading.data;
    this.#windows.add(atNs, stats.counters);
    const all = this.#windows.perSecond();
    const perVerdict: Record<string, number | null> = {};
    for (const [name, rate] of Object.entries(all)) if (!TOTAL_COUNTERS.has(name)) perVerdict[name] = rate;
    return { packetsPerSecond: all['rx_packets'] ?? null, bytesPerSecond: all['rx_bytes'] ?? null, perVerdict };
  }

  #cpu(atNs: bigint, data: ProcessData): CpuUsage {
    const previous = this.#previousProcess;
    this.#previousProcess = { atNs, data };
    // Indexed by CPU number, not line position: with a CPU offline the lines after it shift.
    const perCorePercent: (number | null)[] = new Array<null>(Math.max(0, ...data.cores.map((c) => c.cpu + 1))).fill(null);
    if (previous === null) return { processPercent: null, perCorePercent };
    const wallSeconds = Number(atNs - previous.atNs) / 1e9;
    const processPercent = wallSeconds > 0 ? (100 * (data.processCpuSeconds - previous.data.processCpuSeconds)) / wallSeconds : null;
    const before = new Map(previous.data.cores.map((c) => [c.cpu, c]));
    for (const core of data.cores) {
      const then = before.get(core.cpu);
      const total = then === undefined ? 0 : core.totalSeconds - then.totalSeconds;
      if (then === undefined || total <= 0) continue;
      // Clamped: tick→second rounding and iowait (which the kernel may step backwards) can nudge it past the bounds.
      perCorePercent[core.cpu] = Math.min(100, Math.max(0, (100 * (core.busySeconds - then.busySeconds)) / total));
    }
    return { processPercent, perCorePercent };
  }
}

function checkCounters(stats: XdpStatsData): void {
  for (const [name, value] of Object.entries(stats.counters)) {
    if (!isCounterValue(value)) throw new TypeError(`counter ${name} is ${String(value)}, not a finite number`);
  }
}
