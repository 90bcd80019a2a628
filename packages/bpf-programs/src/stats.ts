// SPDX-License-Identifier: Apache-2.0
// stoq_stats codec: one value per possible CPU, summed here.
import { StoqCodecError } from './errors.js';
import { COUNTER_NAMES, LITTLE_ENDIAN, SIZE_BUCKET_LIMITS, STATS_LAYOUT, type CounterName } from './layout.js';

/** The stoq_stats counters summed over every CPU. */
export interface StoqStats {
  /** Each counter of COUNTER_NAMES (frames, except rx_bytes). */
  counters: Record<CounterName, number>;
  /** Frame counts per bucket of SIZE_BUCKET_LIMITS. */
  sizeHistogram: number[];
}

/**
 * Sums the per-CPU stoq_stats values (BpfMap.lookupPerCpu of key 0). Throws StoqCodecError
 * STOQ_ERR_INVALID_LAYOUT if a value is too short.
 */
export function decodeStats(perCpuValues: readonly Uint8Array[]): StoqStats {
  const sums = new Array<bigint>(COUNTER_NAMES.length + SIZE_BUCKET_LIMITS.length).fill(0n);
  for (const [cpu, value] of perCpuValues.entries()) {
    if (value.byteLength < STATS_LAYOUT.size) {
      throw new StoqCodecError('STOQ_ERR_INVALID_LAYOUT', 'stoq_stats', `CPU ${cpu} value is ${value.byteLength} bytes, expected ${STATS_LAYOUT.size}`);
    }
    const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
    for (let i = 0; i < sums.length; i++) sums[i] = sums[i]! + view.getBigUint64(i * 8, LITTLE_ENDIAN);
  }
  const counters = Object.fromEntries(COUNTER_NAMES.map((name, i) => [name, Number(sums[i])])) as Record<CounterName, number>;
  return { counters, sizeHistogram: sums.slice(COUNTER_NAMES.length).map(Number) };
}

/** counters[after] - counters[before] for every counter and bucket. */
export function diffStats(before: StoqStats, after: StoqStats): StoqStats {
  const counters = Object.fromEntries(
    COUNTER_NAMES.map((name) => [name, after.counters[name] - before.counters[name]]),
  ) as Record<CounterName, number>;
  return { counters, sizeHistogram: after.sizeHistogram.map((n, i) => n - (before.sizeHistogram[i] ?? 0)) };
}

/** Index of the histogram bucket a frame of this length falls into. */
export function sizeBucketOf(frameLength: number): number {
  return SIZE_BUCKET_LIMITS.findIndex((limit) => frameLength <= limit);
}
