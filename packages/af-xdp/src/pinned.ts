// SPDX-License-Identifier: Apache-2.0
// Opening a pinned XSKMAP, for sockets whose XDP program belongs to someone else.
import { native } from './binding.js';
import { fromNative, invalidArgument } from './errors.js';

/**
 * Returns an fd for the BPF object pinned at `path` (e.g. `/sys/fs/bpf/stoq/stoq_xsks`),
 * to pass to `socket.updateXskMap(fd)`. Close it with `fs.closeSync(fd)` when done.
 */
export function openPinnedMap(path: string): number {
  if (typeof path !== 'string' || !path.startsWith('/')) throw invalidArgument('openPinnedMap', `openPinnedMap: absolute bpffs path required, got ${JSON.stringify(path)}`);
  try {
    return native.openPinned(path);
  } catch (error) {
    throw fromNative(error);
  }
}
