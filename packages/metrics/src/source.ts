// SPDX-License-Identifier: Apache-2.0
/**
 * A source is one small pluggable reader (a kernel map, a set of sockets, the
 * process) that the collector asks for a reading on every collection. A source
 * that cannot read (no eBPF, dgram fallback, map gone) says so with a reason
 * instead of returning zeros that would look like real measurements.
 */
export type SourceReading<T> =
  | { readonly available: true; readonly data: T }
  | { readonly available: false; readonly reason: string };

export interface MetricSource<T> {
  readonly name: string;
  collect(): Promise<SourceReading<T>> | SourceReading<T>;
  /** Releases what the source holds (e.g. a kernel iterator); called by `MetricsCollector.close()`. */
  close?(): void;
}

export function available<T>(data: T): SourceReading<T> {
  return { available: true, data };
}

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
