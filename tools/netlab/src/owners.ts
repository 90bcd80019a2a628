// SPDX-License-Identifier: Apache-2.0
// Owner records: a process killed by SIGKILL or a crash (e.g. a segfault in a native
// addon) never runs its exit hooks, so its lab would stay forever. Each lab writes
// { pid, namespaces, hostLinks } under /run/stoq-netlab; every new lab first removes
// labs whose owner process is gone.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { destroySync } from './cleanup.js';

/** Where owner records live (tmpfs: cleared on reboot, like the namespaces). */
export const OWNERS_DIR = '/run/stoq-netlab';

interface OwnerRecord {
  pid: number;
  namespaces: string[];
  hostLinks: string[];
}

export function recordOwner(id: string, namespaces: readonly string[], hostLinks: readonly string[]): void {
  mkdirSync(OWNERS_DIR, { recursive: true, mode: 0o700 });
  const record: OwnerRecord = { pid: process.pid, namespaces: [...namespaces], hostLinks: [...hostLinks] };
  writeFileSync(join(OWNERS_DIR, `${id}.json`), JSON.stringify(record), { mode: 0o600 });
}

export function forgetOwner(id: string): void {
  rmSync(join(OWNERS_DIR, `${id}.json`), { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** Tears down labs whose owner died without tearing them down. Returns their ids. */
export function reapOrphanLabs(): string[] {
  let files: string[];
  try {
    files = readdirSync(OWNERS_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const reaped: string[] = [];
  for (const file of files) {
    const id = file.slice(0, -'.json'.length);
    let record: OwnerRecord;
    try {
      record = JSON.parse(readFileSync(join(OWNERS_DIR, file), 'utf8')) as OwnerRecord;
    } catch {
      continue; // being written right now, or not ours: leave it
    }
    if (alive(record.pid)) continue;
    destroySync(record.namespaces, record.hostLinks);
    forgetOwner(id);
    reaped.push(id);
  }
  return reaped;
}
