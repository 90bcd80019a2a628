// SPDX-License-Identifier: Apache-2.0
/**
 * Counter sums over a set of objects that changes (sockets and datapaths open and close)
 * go down when a member leaves, which Prometheus reads as a counter reset. This keeps
 * the last reading of every member; when a member leaves, or counts from a lower value
 * (it was replaced under the same key), its last reading moves into a retired
 * accumulator, so `retired + live` never decreases.
 */
export class CumulativeTotals<K> {
  #last = new Map<K, Readonly<Record<string, number>>>();
  readonly #retired: Record<string, number> = {};
  readonly #gauges: ReadonlySet<string>;

  /** `gauges`: fields that are levels, not counts (e.g. free frames): summed over live members only. */
  constructor(gauges: Iterable<string> = []) {
    this.#gauges = new Set(gauges);
  }

  /**
   * Takes this collection's reading of every live member, by key, and returns each field
   * summed over them plus what left before. Holds the keys until the next call only.
   */
  update(readings: ReadonlyMap<K, Readonly<Record<string, number>>>): Record<string, number> {
    for (const [key, before] of this.#last) {
      const now = readings.get(key);
      for (const [field, value] of Object.entries(before)) {
        if (this.#gauges.has(field)) continue;
        if (now === undefined || !((now[field] ?? 0) >= value)) this.#retired[field] = (this.#retired[field] ?? 0) + value;
      }
    }
    this.#last = new Map(readings);
    const totals: Record<string, number> = { ...this.#retired };
    for (const reading of readings.values()) {
      for (const [field, value] of Object.entries(reading)) totals[field] = (totals[field] ?? 0) + value;
    }
    return totals;
  }
}
