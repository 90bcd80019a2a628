// stdout whose reader went away (`stoq top | head -1`: write EPIPE) must not crash
// `stoq` with an unhandled 'error' event. main.ts installs one listener for the
// whole process; commands that write to stdout for long watch `stdoutClosed` and
// stop quietly (closing what they opened) instead of writing into nothing.
import { drained } from './drained.js';

const controller = new AbortController();

/** Aborted (with the error) once a write to stdout failed, e.g. EPIPE: nobody reads it any more. */
export const stdoutClosed: AbortSignal = controller.signal;

let failed = false;

/**
 * Whether stdout failed for a reason other than its reader going away (ENOSPC, EIO):
 * the message is already on stderr; main.ts then exits 1 whatever the command returned.
 */
export function stdoutFailed(): boolean {
  return failed;
}

/** Installs the process-wide listeners; called once by main.ts before any command runs. */
export function watchStdout(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (stdoutClosed.aborted) return; // the first error said it all
    // EPIPE: the reader went away, a quiet stop. Anything else (disk full, I/O error) is a failure.
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') {
      failed = true;
      process.stderr.write(`stoq: cannot write to stdout: ${error.code ?? error.message}\n`);
    }
    controller.abort(error);
  });
  // Progress and messages go to stderr; a closed stderr must not crash us either.
  process.stderr.on('error', () => undefined);
}

/** Thrown by writers to stdout once it is closed, so a command can tell it apart from real failures. */
export class StdoutClosedError extends Error {
  constructor() {
    super('stdout was closed by its reader');
  }
}

/**
 * Writes to stdout and waits until it can take more (drain). Rejects with
 * StdoutClosedError if stdout is closed before or while waiting.
 */
export async function writeStdout(data: Buffer | string): Promise<void> {
  if (stdoutClosed.aborted) throw new StdoutClosedError();
  if (process.stdout.write(data)) return;
  try {
    await drained(process.stdout, 'stdout');
  } catch {
    // the listener installed by watchStdout() has already said why, if it was not EPIPE
    throw new StdoutClosedError();
  }
}
