// SPDX-License-Identifier: Apache-2.0
/**
 * Counter sums over a set of objects that changes (sockets and datapaths open and close)
 * go down when a member leaves, which Prometheus reads as a counter reset. This keeps
 * the last reading of every member; when a member leaves, or counts from a lower value
 * (it was replaced under the same key), its last reading moves into a retired
 * accumulator, so `retired + live` never decreases. A member that was only missing from
 * a collection (its key comes back) is taken back out of it: counted once, not twice.
 */
export class CumulativeTotals<K> {
  #last = new Map<K, Readonly<Record<string, number>>>();
  readonly #retired: Record<string, number> = {};
  readonly #departed = new Departed<K>();
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
   * summed over them plus what left before. Holds the keys until the next call, and
   * those that left after that (objects weakly) in case they come back.
   */
  update(readings: ReadonlyMap<K, Readonly<Record<string, number>>>): Record<string, number> {
    for (const [key, now] of readings) {
      if (this.#last.has(key)) continue;
      const before = this.#departed.take(key);
      // Back after a gap: as if it had never left, keep retired only what it would have retired then.
      if (before !== undefined) for (const [field, value] of Object.entries(before)) this.#add(field, this.#retirement(value, now[field] ?? 0) - value);
    }
    for (const [key, before] of this.#last) {
      const now = readings.get(key);
      const retired: Record<string, number> = {};
      for (const [field, value] of Object.entries(before)) {
        if (this.#gauges.has(field)) continue;
        if (now === undefined) retired[field] = value;
        this.#add(field, now === undefined ? value : this.#retirement(value, now[field] ?? 0));
      }
      if (now === undefined) this.#departed.set(key, retired);
    }
    this.#last = new Map(readings);
    const totals: Record<string, number> = { ...this.#retired };
    for (const reading of readings.values()) {
      for (const [field, value] of Object.entries(reading)) totals[field] = (totals[field] ?? 0) + value;
    }
    return totals;
  }

  /** What a live member whose field went from `before` to `current` retires: nothing while it grows. */
  #retirement(before: number, current: number): number {
    if (current >= before) return 0;
    return this.#retireDropOnly ? before - current : before;
  }

  #add(field: string, amount: number): void {
    if (amount !== 0) this.#retired[field] = (this.#retired[field] ?? 0) + amount;
  }
}

/** Keys that left, with what they retired then, until they return. */
class Departed<K> {
  // A closed socket must not be kept alive by its key: object keys are held weakly.
  readonly #objects = new WeakMap<object, Readonly<Record<string, number>>>();
  // Primitive keys (datapath ids) are small, but a long-lived process opens many: keep the latest.
  readonly #values = new Map<K, Readonly<Record<string, number>>>();

  set(key: K, retired: Readonly<Record<string, number>>): void {
    if (isObject(key)) {
      this.#objects.set(key, retired);
      return;
    }
    this.#values.set(key, retired);
    if (this.#values.size > MAX_DEPARTED) this.#values.delete(this.#values.keys().next().value as K);
  }

  /** What `key` retired when it left, forgotten now that it is back; undefined if it never left. */
  take(key: K): Readonly<Record<string, number>> | undefined {
    const retired = isObject(key) ? this.#objects.get(key) : this.#values.get(key);
    if (isObject(key)) this.#objects.delete(key);
    else this.#values.delete(key);
    return retired;
  }
}

/** Departed primitive keys remembered; one returning after this many others left is counted twice. */
const MAX_DEPARTED = 4096;

function isObject(key: unknown): key is object {
  return (typeof key === 'object' && key !== null) || typeof key === 'function';
}
