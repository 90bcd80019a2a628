import { stoqVitestConfig } from '../../vitest.shared.ts';

export default stoqVitestConfig(import.meta.dirname, { testTimeout: 120_000 });
