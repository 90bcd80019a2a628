// SPDX-License-Identifier: Apache-2.0
import { available, unavailable, type MetricSource } from '../source.js';
import { checkFunction, checkOptions, invalidArgument } from '../errors.js';

/** The part of a loader map the stats source needs (`@stoq/loader`'s BpfMap satisfies it). */
export interface PerCpuMapReader {
  /** The value at `key` per possible CPU, or null if there is none. */
  lookupPerCpu(key: Buffer): Buffer[] | null | Promise<Buffer[] | null>;
}

/** Counters summed over CPUs plus the frame-size histogram (one count per bucket). */
export interface DecodedStats {
  /** Each stoq_stats counter by name (COUNTER_NAMES of `@stoq/bpf-programs`), summed over CPUs. */
  readonly counters: Readonly<Record<string, number>>;
  /** Frames per size bucket, summed over CPUs. */
  readonly sizeHistogram: readonly number[];
}

/** What xdpStatsSource() reads: the summed counters, the histogram and its bucket bounds. */
export interface XdpStatsData extends DecodedStats {
  /** Upper bound in bytes of each histogram bucket; the last bucket is open (Infinity). */
  readonly sizeBucketLimits: readonly number[];
  /**
   * Kernel id of the stoq_stats map read, when known (maps found by name): the collector starts its
   * rate windows over when it changes, as the counters are then another program's.
   */
  readonly mapId?: number;
}

/** Options of xdpStatsSource(). */
export interface XdpStatsSourceOptions {
  /** The `stoq_stats` per-CPU array (`obj.map('stoq_stats')`). */
  readonly map: PerCpuMapReader;
  /** Sums and decodes the per-CPU values: `decodeStats` from `@stoq/bpf-programs`. */
  readonly decode: (perCpuValues: Buffer[]) => DecodedStats;
  /** `SIZE_BUCKET_LIMITS` from `@stoq/bpf-programs` (bucket upper bounds, bytes). */
  readonly sizeBucketLimits: readonly number[];
  /** The map's kernel id, passed on as `mapId` in every reading. */
  readonly mapId?: number;
}

const STATS_KEY = Buffer.alloc(4); // one entry, at key 0

/** Reads the XDP program's counters: one per-CPU lookup per collection, summed by `decode`. */
export function xdpStatsSource(options: XdpStatsSourceOptions): MetricSource<XdpStatsData> {
  checkOptions('options', options);
  checkFunction('decode', options.decode);
  if (!Array.isArray(options.sizeBucketLimits)) throw invalidArgument('sizeBucketLimits', 'an array of bucket upper bounds (SIZE_BUCKET_LIMITS)', options.sizeBucketLimits);
  const limits = bucketLimitsWithOverflow(options.sizeBucketLimits);
  return {
    name: 'xdp_stats',
    async collect() {
      const perCpu = await options.map.lookupPerCpu(STATS_KEY);
      if (!perCpu || perCpu.length === 0) return unavailable('stoq_stats returned no per-CPU values');
      const decoded = options.decode(perCpu);
      if (decoded.sizeHistogram.length !== limits.length) {
        throw new RangeError(
          `frame-size histogram has ${decoded.sizeHistogram.length} buckets but ${limits.length} limits were given`,
        );
      }
      const data = { counters: decoded.counters, sizeHistogram: decoded.sizeHistogram, sizeBucketLimits: limits };
      return available(options.mapId === undefined ? data : { ...data, mapId: options.mapId });
    },
  };
}

/** The program's limits name the closed buckets; the last bucket ("larger") is open-ended. */
function bucketLimitsWithOverflow(limits: readonly number[]): readonly number[] {
  return limits.at(-1) === Infinity ? limits : [...limits, Infinity];
}
