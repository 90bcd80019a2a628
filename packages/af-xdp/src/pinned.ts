// SPDX-License-Identifier: Apache-2.0
// Opening a pinned XSKMAP, for sockets whose XDP program belongs to someone else.
import { constants } from 'node:os';
import { onBpffs } from '@stoq/native-support';
import { native } from './binding.js';
import { fromNative, invalidArgument, XskError } from './errors.js';

/**
 * Returns an fd for the BPF object pinned at `path` (e.g. `/sys/fs/bpf/stoq/stoq_xsks`),
 * to pass to `socket.updateXskMap(fd)`. Close it with `fs.closeSync(fd)` when done.
 * A path outside any bpf filesystem is `STOQ_ERR_XSK_NO_BPFFS` (the kernel answers
 * EACCES or EPERM there, which is no privilege problem).
 */
export function openPinnedMap(path: string): number {
  const op = 'openPinnedMap';
  if (typeof path !== 'string' || !path.startsWith('/')) throw invalidArgument(op, `${op}: absolute bpffs path required, got ${JSON.stringify(path)}`);
  try {
    return native.openPinned(path);
  } catch (error) {
    const errno = (error as { errno?: unknown }).errno;
    if (typeof errno === 'number' && onBpffs(path) === false) {
      throw new XskError('STOQ_ERR_XSK_NO_BPFFS', `${op}: ${path} is not on a bpf filesystem (bpf_obj_get: ${(error as Error).message.replace(/^bpf_obj_get failed: /, '')})`, {
        operation: 'bpf_obj_get',
        errno,
        cause: error,
        hint: 'pin paths must be on a bpf filesystem, e.g. /sys/fs/bpf/…; where none is mounted: mount -t bpf bpf /sys/fs/bpf',
      });
    }
    if (errno === constants.errno.ENOENT) {
      throw new XskError('STOQ_ERR_XSK_SYSCALL', `${op}: nothing is pinned at ${path}`, {
        operation: 'bpf_obj_get',
        errno,
        cause: error,
        hint: 'check the path (ls the bpffs directory); the program that owns the map pins it, and its pins go when it removes them',
      });
    }
    throw fromNative(error);
  }
}
