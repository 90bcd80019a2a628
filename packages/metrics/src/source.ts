// SPDX-License-Identifier: Apache-2.0
/**
 * A source is one small pluggable reader (a kernel map, a set of sockets, the
 * process) that the collector asks for a reading on every collection. A source
 * that cannot read (no eBPF, dgram fallback, map gone) says so with a reason
 * instead of returning zeros that would look like real measurements.
 */
export type SourceReading<T> =
  | {
      /** The source could read. */
      readonly available: true;
      /** What it read. */
      readonly data: T;
    }
  | {
      /** The source could not read. */
      readonly available: false;
      /** Why, e.g. `no AF_XDP socket is open`. */
      readonly reason: string;
    };

/** A reader the collector asks for one reading per collection. */
export interface MetricSource<T> {
  /**
   * The source's name, e.g. `xdp_stats`: the `source` label of collection errors and the key of
   * MetricsSnapshot.sourceErrors.
   */
  readonly name: string;
  /** Reads once; may throw or reject, which the collector counts and reports as unavailable. */
  collect(): Promise<SourceReading<T>> | SourceReading<T>;
  /** Releases what the source holds (e.g. a kernel iterator); called by `MetricsCollector.close()`. */
  close?(): void;
}

/** A reading that succeeded with `data`. */
export function available<T>(data: T): SourceReading<T> {
  return { available: true, data };
}

/** A reading that could not be taken, and why. */
export function unavailable<T = never>(reason: string): SourceReading<T> {
  return { available: false, reason };
}

/** A source that is known to be absent from the start (e.g. the transport runs over dgram). */
export function absentSource<T>(name: string, reason: string): MetricSource<T> {
  return { name, collect: () => unavailable<T>(reason) };
}

/** Converts a counter read from the kernel or a native addon to a JS number. */
export function toNumber(value: number | bigint): number {
  return typeof value === 'bigint' ? Number(value) : value;
}
