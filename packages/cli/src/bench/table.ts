// The result format every benchmark of the suite produces: one table of measured
// values, side by side per path, plus the modes that were really in use.
export interface BenchTable {
  /** Stable id, e.g. 'packet-rate'. */
  readonly id: string;
  readonly title: string;
  /** Unit of every value in the table, e.g. 'Mpps', 'Gbit/s', 'µs', '% of one core'. */
  readonly unit: string;
  readonly higherIsBetter: boolean;
  /** Column headers: the paths compared, baseline first (e.g. 'kernel (dgram)', 'eBPF (XDP + AF_XDP)'). */
  readonly columns: readonly string[];
  /**
   * `compared: false` marks a context row (what the sender offered, a loss %): its
   * values differ by noise or point the other way, so a ratio there would mislead.
   */
  readonly rows: ReadonlyArray<{ readonly label: string; readonly values: ReadonlyArray<number | null>; readonly compared?: boolean }>;
  /** What was measured, as observed: XDP mode, AF_XDP bind mode, interface, … */
  readonly modes: Readonly<Record<string, string>>;
  readonly notes?: readonly string[];
}

/** Ratio of the last column to the baseline (first), oriented so > 1 means better. */
export function ratio(table: BenchTable, values: ReadonlyArray<number | null>): number | null {
  // A one-column table (a cost, a ceiling) compares nothing: no "1.00×".
  if (values.length < 2) return null;
  const base = values[0];
  const last = values[values.length - 1];
  if (base == null || last == null || base === 0 || last === 0) return null;
  return table.higherIsBetter ? last / base : base / last;
}
