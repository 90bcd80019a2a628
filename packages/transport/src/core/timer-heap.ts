// SPDX-License-Identifier: Apache-2.0
// A min-heap of deadlines, one entry per connection. Rescheduling pushes a new entry
// and bumps the key's generation; stale entries are skipped when they surface
// (lazy deletion), so every operation is O(log n) and no timer is allocated per packet.

interface Entry<K> {
  at: number;
  key: K;
  generation: number;
}

export class TimerHeap<K> {
  readonly #heap: Entry<K>[] = [];
  readonly #generation = new Map<K, number>();
  readonly #deadline = new Map<K, number>();
  #nextGeneration = 1;

  /** Sets (or replaces) the deadline for `key`; `null` cancels it. */
  set(key: K, at: number | null): void {
    if (at === null) {
      this.#generation.delete(key);
      this.#deadline.delete(key);
      return;
    }
    if (this.#deadline.get(key) === at) return; // unchanged: no new entry
    const generation = this.#nextGeneration++;
    this.#generation.set(key, generation);
    this.#deadline.set(key, at);
    this.#push({ at, key, generation });
    // Stale entries only leave when they surface; rebuild before they pile up.
    if (this.#heap.length > 4 * this.#generation.size + 1024) this.#compact();
  }

  /** Earliest live deadline, or null. */
  peek(): number | null {
    this.#dropStale();
    return this.#heap[0]?.at ?? null;
  }

  /** Removes and returns every key whose deadline is ≤ now. */
  popExpired(now: number): K[] {
    const expired: K[] = [];
    for (;;) {
      this.#dropStale();
      const top = this.#heap[0];
      if (!top || top.at > now) return expired;
      this.#pop();
      this.#generation.delete(top.key);
      this.#deadline.delete(top.key);
      expired.push(top.key);
    }
  }

  get size(): number {
    return this.#generation.size;
  }

  /** Size of the underlying array, stale entries included (for tests). */
  get entries(): number {
    return this.#heap.length;
  }

  #compact(): void {
    const live = this.#heap.filter((e) => this.#generation.get(e.key) === e.generation);
    this.#heap.length = 0;
    for (const e of live) this.#push(e);
  }

  #dropStale(): void {
    for (;;) {
      const top = this.#heap[0];
      if (!top || this.#generation.get(top.key) === top.generation) return;
      this.#pop();
    }
  }

  #push(entry: Entry<K>): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as Entry<K>).at <= entry.at) break;
      heap[i] = heap[parent] as Entry<K>;
      i = parent;
    }
    heap[i] = entry;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (!last || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && (heap[right] as Entry<K>).at < (heap[left] as Entry<K>).at ? right : left;
      if ((heap[child] as Entry<K>).at >= last.at) break;
      heap[i] = heap[child] as Entry<K>;
      i = child;
    }
    heap[i] = last;
  }
}
