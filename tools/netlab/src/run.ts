// Thin wrappers over child_process for `ip` and friends: every failure carries the
// command line and stderr, and every call is bounded in time.
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** The output of a command that exited with status 0. */
export interface RunResult {
  /** Everything the command wrote to stdout. */
  stdout: string;
  /** Everything the command wrote to stderr. */
  stderr: string;
}

/** A lab command that failed (non-zero exit, timeout or not found), with its command line and stderr. */
export class LabCommandError extends Error {
  /** The stable error code. */
  readonly code = 'STOQ_ERR_LAB_COMMAND';
  constructor(
    /** The command and its arguments. */
    readonly argv: readonly string[],
    /** The exit status, or null when it was killed (timeout) or could not start. */
    readonly exitCode: number | null,
    /** Its stderr (or the spawn error's message when it wrote none). */
    readonly stderr: string,
  ) {
    super(`lab command failed (exit ${exitCode}): ${argv.join(' ')}\n${stderr.trim()}`);
    this.name = 'LabCommandError';
  }
}

/**
 * Runs `cmd` with `args` (no shell) and collects its output; rejects with LabCommandError on a
 * non-zero exit or after `timeoutMs` (default 30 s).
 */
export function run(cmd: string, args: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // SIGKILL: a command that ignores SIGTERM would otherwise outlive its timeout.
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const code = typeof err.code === 'number' ? err.code : null;
        reject(new LabCommandError([cmd, ...args], code, String(stderr || err.message)));
      } else {
        resolve({ stdout: String(stdout), stderr: String(stderr) });
      }
    });
  });
}

/** Synchronous variant for exit/signal handlers, where no event loop turn is left. */
export function runSync(cmd: string, args: readonly string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000, killSignal: 'SIGKILL' });
    return true;
  } catch {
    return false;
  }
}

export function spawnTracked(cmd: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
}
