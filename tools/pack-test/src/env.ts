// SPDX-License-Identifier: Apache-2.0
import { resolve } from 'node:path';

/** The README examples of the kernel-facing packages need root (BPF, AF_XDP, namespaces). */
export const isRoot = process.getuid?.() === 0;

/** The monorepo root (for test fixtures built by the packages' own builds). */
export const repoRoot = resolve(import.meta.dirname, '../../..');

/**
 * Runs `node -e code` in a private mount namespace where `library` is replaced by an
 * empty file, as on a host without the runtime package. Needs root.
 */
export function withoutLibraryArgs(library: string, code: string): [string, string[]] {
  return withoutLibraryCommand(library, process.execPath, ['--input-type=module', '-e', code]);
}

/** Runs `command args…` in a private mount namespace where `library` is an empty file. Needs root. */
export function withoutLibraryCommand(library: string, command: string, args: readonly string[]): [string, string[]] {
  const path = `/lib/x86_64-linux-gnu/${library}`;
  return ['unshare', ['-m', 'sh', '-c', `mount --bind /dev/null ${path} && exec "$@"`, 'sh', command, ...args]];
}
