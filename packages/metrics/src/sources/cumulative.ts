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
  readonly #retireDropOnly: boolean;

  /**
   * `gauges`: fields that are levels, not counts (e.g. free frames): summed over live
   * members only. `retireDropOnly`: a key may stand for several members (a sum), so when
   * its count drops only the drop is retired, not its whole last reading: the members
   * still open keep counting on top, and retiring it all would count them twice. The
   * total may then read low (growth of the others in that interval), never high.
   */
  constructor(gauges: Iterable<string> = [], options: { retireDropOnly?: boolean } = {}) {
    this.#gauges = new Set(gauges);
    this.#retireDropOnly = options.retireDropOnly ?? false;
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
        const current = now?.[field] ?? 0;
        if (now !== undefined && current >= value) continue;
        const retire = now !== undefined && this.#retireDropOnly ? value - current : value;
        this.#retired[field] = (this.#retired[field] ?? 0) + retire;
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
