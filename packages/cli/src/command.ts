// The shape every `stoq` sub-command has: its own options (util.parseArgs), help
// text, and a run() that returns the process exit code.
import type { ParseArgsConfig } from 'node:util';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: OptionSpec;
  /** Whether it takes positional arguments (connect's target); otherwise any is a usage error. */
  readonly positionals?: boolean;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
}

/** Exit codes: documented in the README, stable for scripts. */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  /** `doctor`: the fast path is not possible here (the fallback still works). */
  NO_FAST_PATH: 3,
} as const;
