// SPDX-License-Identifier: Apache-2.0
/**
 * Time in nanoseconds on CLOCK_MONOTONIC. On Linux `process.hrtime.bigint()` reads
 * CLOCK_MONOTONIC, the clock behind `bpf_ktime_get_ns()`, so kernel timestamps and
 * this clock can be subtracted directly (test/kernel-clock.test.ts checks it).
 * Injectable so the window and rate maths can be tested deterministically.
 */
export type MonotonicClock = () => bigint;

/** The real CLOCK_MONOTONIC in ns (`process.hrtime.bigint()`), comparable with bpf_ktime_get_ns(). */
export const monotonicNowNs: MonotonicClock = () => process.hrtime.bigint();
