// Base vitest config for every package: a JSON report per package so the root test
// command can print one summary line, generous timeouts for kernel work, and no
// file parallelism beyond the machine's two cores.
import { basename, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

export function stoqVitestConfig(packageDir: string, overrides: { testTimeout?: number } = {}) {
  const name = basename(packageDir);
  return defineConfig({
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: overrides.testTimeout ?? 60_000,
      hookTimeout: 60_000,
      pool: 'forks',
      maxWorkers: 2,
      reporters: ['default', ['json', { outputFile: resolve(packageDir, '../../test-results', `${name}.json`) }]],
    },
  });
}
