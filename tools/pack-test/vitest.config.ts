import { mergeConfig } from 'vitest/config';
import { stoqVitestConfig } from '../../vitest.shared.ts';

// The workspace packages are packed once for every test file (global setup).
export default mergeConfig(stoqVitestConfig(import.meta.dirname, { testTimeout: 120_000 }), {
  test: { globalSetup: ['src/global-setup.ts'], hookTimeout: 120_000 },
});
