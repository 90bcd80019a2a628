import { stoqVitestConfig } from '../../vitest.shared.ts';

export default stoqVitestConfig(import.meta.dirname);
