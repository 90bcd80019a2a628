// SPDX-License-Identifier: Apache-2.0
// The typed error of this package, branded with Symbol.for so instanceof holds across
// copies of the package. It extends RangeError: the checks it replaced threw RangeErrors.
const kStoqMetricsError = Symbol.for('@stoq/metrics.StoqMetricsError');

/**
 * Stable codes of StoqMetricsError: an option or argument of the wrong type or out of
 * range, a metric name already registered on the registry, a collector used after close()
 * (collect() or startPolling()).
 */
export type StoqMetricsErrorCode = 'STOQ_ERR_INVALID_ARGUMENT' | 'STOQ_ERR_METRIC_REGISTERED' | 'STOQ_ERR_CLOSED';

/**
 * What this package throws for bad input, e.g. `windowMs: 0` or `startPolling(Infinity)`.
 * `instanceof` works across copies of the package (Symbol.for brand).
 */
export class StoqMetricsError extends RangeError {
  /** The stable error code. */
  readonly code: StoqMetricsErrorCode;
  /** The option or argument that was rejected, e.g. `windowMs`. */
  readonly field: string;

  constructor(code: StoqMetricsErrorCode, field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'StoqMetricsError';
    this.code = code;
    this.field = field;
  }

  /** The brand `instanceof` checks (Symbol.for('@stoq/metrics.StoqMetricsError')). */
  get [kStoqMetricsError](): true {
    return true;
  }

  /** True for any StoqMetricsError, also one made by another copy of this package. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kStoqMetricsError] === true;
  }
}

/** The STOQ_ERR_CLOSED error of `operation` on a closed collector. */
export function collectorClosed(operation: string): StoqMetricsError {
  return new StoqMetricsError('STOQ_ERR_CLOSED', operation, 'the collector is closed');
}

/** A STOQ_ERR_INVALID_ARGUMENT error for `field`, quoting the value that was given. */
export function invalidArgument(field: string, expected: string, value: unknown): StoqMetricsError {
  let shown: string;
  try {
    shown = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'bigint' ? `${value}n` : String(value);
  } catch {
    shown = typeof value; // e.g. an object without a prototype
  }
  return new StoqMetricsError('STOQ_ERR_INVALID_ARGUMENT', field, `must be ${expected}, got ${shown}`);
}

/**
 * `windowMs` of a rate window: a number of milliseconds whose nanoseconds (the window is kept as a
 * bigint) round to 1 .. 2^53 - 1, about 104 days. A larger finite one would make BigInt() throw a
 * plain RangeError on every collection.
 */
export function checkWindowMs(windowMs: unknown, field = 'windowMs'): number {
  const ns = typeof windowMs === 'number' ? Math.round(windowMs * 1e6) : NaN;
  if (!Number.isSafeInteger(ns) || ns < 1) {
    throw invalidArgument(field, 'a number of milliseconds from 1e-6 (1 ns) to about 9.007e9 (2^53 - 1 ns, 104 days)', windowMs);
  }
  return windowMs as number;
}

/** `value` as an options object (`null`/`undefined` give `{}` when `optional`), else a typed error. */
export function checkOptions<T extends object>(field: string, value: unknown, optional = false): T {
  if (optional && value == null) return {} as T;
  if (typeof value !== 'object' || value === null) throw invalidArgument(field, 'an options object', value);
  return value as T;
}

/** A callback argument (`null` allowed when `nullable`), else a typed error at construction, not a TypeError at the first collection. */
export function checkFunction(field: string, value: unknown, nullable = false): void {
  if (nullable && value === null) return;
  if (typeof value !== 'function') throw invalidArgument(field, nullable ? 'a function or null' : 'a function', value);
}
