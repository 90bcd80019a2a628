// SPDX-License-Identifier: Apache-2.0
// "Report the first failure of each kind": a failure retried on a timer or per
// destination would otherwise be reported on every try. A kind is the caller's label and
// the error's code (else its errno); errors with neither share one kind per label, so a
// message that names an address or a count cannot make every occurrence new.
//
// When to forget (reset()) is the caller's: next-hop.ts never does (its lookups fail per
// destination, and one destination's success says nothing of another's failure: forgetting
// on success would report again at every alternation); the stoq_host_addrs refresh is one
// periodic operation, so its success ends the failure and re-arms the report.

export class FirstErrors {
  readonly #seen = new Set<string>();

  /** True the first time a failure of this kind (`label`, the error's code or errno) is seen since the last reset(). */
  first(label: string, error: unknown): boolean {
    const e = error as { code?: unknown; errno?: unknown } | null | undefined;
    const kind = `${label}:${String(e?.code ?? e?.errno ?? '')}`;
    if (this.#seen.has(kind)) return false;
    this.#seen.add(kind);
    return true;
  }

  /** Forgets what was reported: the next failure of each kind is reported again. */
  reset(): void {
    this.#seen.clear();
  }
}
