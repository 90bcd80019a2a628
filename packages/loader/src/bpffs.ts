// SPDX-License-Identifier: Apache-2.0
// Where bpffs is mounted, and mounting it where `ip netns exec` left a fresh /sys
// without one. Pinning needs it; nothing else in the loader does.
import { existsSync, readFileSync } from 'node:fs';
import { native } from './binding.js';

/** Where bpffs is conventionally mounted, and where ensureBpffs() mounts it. */
export const DEFAULT_BPFFS = '/sys/fs/bpf';

/** Where a bpffs is mounted in this mount namespace (from /proc/self/mounts), or null if none is. */
export function bpffsMountPoint(): string | null {
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n');
  const line = mounts.find((m) => m.split(' ')[2] === 'bpf');
  return line ? (line.split(' ')[1] ?? null) : null;
}

/** What ensureBpffs() found or did. */
export interface BpffsStatus {
  /** Where bpffs is mounted, or null if it is not and could not be mounted. */
  mountPoint: string | null;
  /** True when this call mounted it. */
  mounted: boolean;
  /** Why bpffs could not be mounted (mountPoint null). */
  reason?: string;
}

/** Makes sure bpffs is mounted (at /sys/fs/bpf) if it is not anywhere yet and we may mount it. */
export function ensureBpffs(): BpffsStatus {
  const existing = bpffsMountPoint();
  if (existing) return { mountPoint: existing, mounted: false };
  if (!existsSync(DEFAULT_BPFFS)) {
    return { mountPoint: null, mounted: false, reason: `${DEFAULT_BPFFS} does not exist (is /sys mounted?)` };
  }
  try {
    native.mountBpffs(DEFAULT_BPFFS);
    return { mountPoint: DEFAULT_BPFFS, mounted: true };
  } catch (error) {
    const e = error as { message: string };
    return { mountPoint: null, mounted: false, reason: `cannot mount bpffs: ${e.message} (needs CAP_SYS_ADMIN)` };
  }
}
