// Runs bench/*.bench.ts as plain scripts under vitest (for its TypeScript support);
// no JSON test report, one file at a time so measurements do not overlap.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { include: ['bench/**/*.bench.ts'], testTimeout: 300_000, fileParallelism: false, reporters: ['default'] },
});
