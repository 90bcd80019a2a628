// Skipping a describe()/it() with the reason recorded: tests import this by a relative
// path, like each package's vitest.config.ts imports ./vitest.shared.ts (kept apart from
// it so that a test worker does not load vitest/config).
declare module 'vitest' {
  interface TaskMeta {
    /** Why the test was skipped: in the JSON report, listed by the root test command's summary. */
    skipReason?: string;
  }
}

const printed = new Set<string>();

/**
 * Options for describe(name, options, fn) / it(name, options, fn): skipped unless
 * `condition`, with `reason` printed (once per reason and file) and recorded in the JSON
 * report as `meta.skipReason` for the summary of the test command (scripts/summarize-tests.mjs).
 */
export function skipUnless(condition: boolean, reason: string): { skip: boolean; meta?: { skipReason: string } } {
  if (condition) return { skip: false };
  if (!printed.has(reason)) {
    printed.add(reason);
    console.warn(`skipped: ${reason}`);
  }
  return { skip: true, meta: { skipReason: reason } };
}
