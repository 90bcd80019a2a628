// `pnpm fuzz`: the fuzz test alone, 1,000,000 frames from a fresh seed unless
// STOQ_FUZZ_SEED / STOQ_FUZZ_FRAMES say otherwise (the seed is printed to replay).
import { randomInt } from 'node:crypto';
import { defineConfig } from 'vitest/config';

process.env.STOQ_FUZZ_FRAMES ??= '1000000';
process.env.STOQ_FUZZ_SEED ??= String(randomInt(2 ** 32 - 1));

export default defineConfig({
  test: { include: ['test/fuzz.test.ts'], testTimeout: 900_000, reporters: ['default'] },
});
