// SPDX-License-Identifier: Apache-2.0
// Telling a path on a bpf filesystem from one elsewhere: outside bpffs the kernel refuses
// pinning with EPERM/EACCES, which is no privilege problem and must not be reported as one.
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';

/** statfs f_type of a bpf filesystem (BPF_FS_MAGIC, linux/magic.h). */
export const BPF_FS_MAGIC = 0xcafe4a11;

/**
 * Whether `path` (or, when it does not exist yet, its nearest existing parent) is on a
 * bpf filesystem; undefined when statfs cannot tell.
 */
export function onBpffs(path: string): boolean | undefined {
  for (let p = path; ; p = dirname(p)) {
    try {
      return statfsSync(p).type === BPF_FS_MAGIC;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || p === '/') return undefined;
    }
  }
}
