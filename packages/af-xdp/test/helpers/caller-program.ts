// SPDX-License-Identifier: Apache-2.0
// The caller-owned XDP program of the tests (fixtures/meta_timestamp.bpf.c: redirects to
// XSKMAP[rx_queue_index], writes an 8-byte metadata timestamp), built with clang, loaded
// and pinned with bpftool and attached in native mode, as an application would.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Lab } from '@stoq/netlab';

const run = promisify(execFile);
const fixture = fileURLToPath(new URL('../fixtures/meta_timestamp.bpf.c', import.meta.url));

export interface CallerProgram {
  /** The pinned XSKMAP, for openPinnedMap(). */
  xsksPath: string;
  /** Detaches the program and removes the pins and the build (safe to call after a failed attach). */
  remove(): Promise<void>;
}

/** Attaches the fixture program to `lab.a`; `name` keeps the pins of parallel test files apart. */
export async function attachCallerProgram(lab: Lab, name: string): Promise<CallerProgram> {
  const workDir = mkdtempSync(join(tmpdir(), `stoq-afxdp-${name}-`));
  const pinDir = `/sys/fs/bpf/stoq-afxdp-${name}-${lab.id}`;
  let attached = false;
  const remove = async (): Promise<void> => {
    if (attached) await run('bpftool', ['net', 'detach', 'xdpdrv', 'dev', lab.a.ifname]).catch((e: Error) => console.error(`detach: ${e.message}`));
    rmSync(pinDir, { recursive: true, force: true });
    rmSync(workDir, { recursive: true, force: true });
  };
  try {
    mkdirSync(pinDir);
    const object = join(workDir, 'meta_timestamp.o');
    await run('clang', ['-g', '-O2', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', fixture, '-o', object]);
    await run('bpftool', ['prog', 'load', object, `${pinDir}/prog`, 'type', 'xdp', 'pinmaps', `${pinDir}/maps`]);
    await run('bpftool', ['net', 'attach', 'xdpdrv', 'pinned', `${pinDir}/prog`, 'dev', lab.a.ifname]);
    attached = true;
  } catch (error) {
    await remove();
    throw error;
  }
  return { xsksPath: `${pinDir}/maps/test_xsks`, remove };
}
