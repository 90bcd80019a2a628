// The file a command writes its output to: checked at startup (a run must not end
// with nowhere to put what it produced), and for `serve --output`, written under a
// temporary name and put in place only once complete.
import { randomBytes } from 'node:crypto';
import { accessSync, chmodSync, chownSync, closeSync, constants as fsConstants, createWriteStream, lstatSync, openSync, readlinkSync, realpathSync, renameSync, statSync, unlinkSync, type WriteStream } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { drained } from './drained.js';
import { UsageError } from './net/options.js';

/**
 * Where a transfer is written until it is complete: a hidden name in FILE's directory
 * (so the rename over FILE is atomic). pid plus a random part: two serves can have the
 * same pid (each container's first process is pid 1), and the file is opened exclusively.
 */
function partialPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.partial`);
}

/**
 * What an output FILE names: a symlink is followed (the transfer replaces its target, the
 * link stays, also a dangling one); a device, FIFO or socket is written to directly
 * (renaming a file over /dev/null would replace the device).
 */
function resolveOutput(path: string): { target: string; direct: boolean } {
  try {
    // stat follows /proc's fd links, which realpath cannot: /dev/stdout on a pipe names
    // 'pipe:[N]', no path at all.
    const st = statSync(path);
    if (!st.isFile() && !st.isDirectory()) return { target: path, direct: true };
  } catch {
    // missing, or a dangling symlink: below
  }
  let target = path;
  try {
    target = realpathSync(path);
  } catch {
    // missing, or a dangling symlink: follow the links by hand to where FILE will be
    for (let hops = 0; hops < 40; hops++) {
      try {
        if (!lstatSync(target).isSymbolicLink()) break;
        target = resolve(dirname(target), readlinkSync(target));
      } catch {
        break;
      }
    }
  }
  let direct = false;
  try {
    const st = statSync(target);
    direct = !st.isFile() && !st.isDirectory();
  } catch {
    // missing: it will be created
  }
  return { target, direct };
}

/**
 * Checks at startup that `--option FILE` can be written, as a UsageError: FILE is not a
 * directory and a file can be created next to it (where a PartialFile goes before it is
 * renamed over FILE), or, for a device or FIFO, that it is writable (not opened: a FIFO
 * would block).
 */
export function checkOutputFile(option: string, path: string): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    // missing (it will be created) or unreachable: the probe below says why
  }
  if (isDirectory) throw new UsageError(`--${option} ${path}: EISDIR (a directory; give a file)`);
  try {
    const { target, direct } = resolveOutput(path);
    if (direct) accessSync(target, fsConstants.W_OK);
    else {
      const probe = partialPath(target);
      closeSync(openSync(probe, 'wx', 0o600));
      unlinkSync(probe);
    }
  } catch (error) {
    throw new UsageError(`--${option} ${path}: cannot write there (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/**
 * One transfer's file: written under a temporary name, renamed over FILE (a symlink's
 * target) once complete; a device or FIFO is written to directly.
 */
export class PartialFile {
  /** The file being written: the temporary name, or the device/FIFO itself. */
  readonly temp: string;
  private readonly target: string;
  private readonly direct: boolean;
  private readonly sink: WriteStream;
  private failure: Error | null = null;

  constructor(path: string) {
    ({ target: this.target, direct: this.direct } = resolveOutput(path));
    this.temp = this.direct ? this.target : partialPath(this.target);
    // 0600 until it gets FILE's mode in commit(): nobody else reads a transfer on its way.
    this.sink = this.direct ? createWriteStream(this.target, { flags: 'w' }) : createWriteStream(this.temp, { flags: 'wx', mode: 0o600 });
    // Without a listener an open or write failure (disk full, directory gone) would crash serve.
    this.sink.on('error', (error) => (this.failure ??= error));
  }

  async write(data: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.sink.write(data)) await drained(this.sink, 'the output');
  }

  /** Flushes and closes the file, then puts it in place of FILE. */
  async commit(): Promise<void> {
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve, reject) => this.sink.end((error?: Error | null) => (error ? reject(error) : resolve())));
    if (this.failure) throw this.failure;
    if (this.direct) return;
    let existing;
    try {
      existing = statSync(this.target);
    } catch {
      // a new FILE: it stays 0600
    }
    if (existing) {
      // FILE keeps its mode and (as root, who alone may give files away) its owner.
      chmodSync(this.temp, existing.mode & 0o7777);
      if (process.getuid?.() === 0) chownSync(this.temp, existing.uid, existing.gid);
    }
    renameSync(this.temp, this.target);
  }

  /** Closes the file (no fd left behind) and removes it: a failed transfer leaves nothing that looks complete. */
  discard(): void {
    this.sink.destroy();
    if (this.direct) return; // a device or FIFO: nothing to remove
    try {
      unlinkSync(this.temp);
    } catch {
      // never created, or already gone
    }
  }
}
