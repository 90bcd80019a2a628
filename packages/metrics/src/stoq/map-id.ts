// SPDX-License-Identifier: Apache-2.0
// A BPF map's kernel id, read from /proc/self/fdinfo of an fd that refers to it. The id
// is what `bpftool map show` prints; it tells apart maps that share a name.
import { readFileSync } from 'node:fs';

/** The kernel id of the BPF map behind `fd`, from /proc/self/fdinfo; throws if `fd` is not a BPF map. */
export function mapIdOfFd(fd: number): number {
  const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  const match = /^map_id:\s*(\d+)$/m.exec(info);
  if (!match) throw new Error(`fd ${fd} is not a BPF map (no map_id in /proc/self/fdinfo/${fd})`);
  return Number(match[1]);
}

/** The kernel id of a loader map (anything with an `fd`). */
export function mapIdOf(map: { readonly fd: number }): number {
  return mapIdOfFd(map.fd);
}
