// SPDX-License-Identifier: Apache-2.0
// Builds and runs support/xsk_holder.c: a real copy-mode AF_XDP socket registered in
// the pinned stoq_xsks map, reporting each frame it receives.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface XskHolder {
  /** Lengths of the frames received so far. */
  readonly received: number[];
  /** The 8 bytes in front of each frame (XDP metadata when timestamp_meta is on). */
  readonly metadata: bigint[];
  /** Resolves when the process exits (after COUNT frames or its time limit). */
  readonly exited: Promise<number | null>;
  kill(): void;
}

export function buildXskHolder(): { path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'stoq-xsk-'));
  const src = fileURLToPath(new URL('./xsk_holder.c', import.meta.url));
  const path = join(dir, 'xsk_holder');
  execFileSync('clang', ['-O2', '-Wall', '-o', path, src, '-lxdp', '-lbpf'], { stdio: 'pipe' });
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts the holder and resolves once its socket is in the XSKMAP. */
export function startXskHolder(binary: string, ifname: string, queue: number, xskMap: string, count: number, seconds: number): Promise<XskHolder> {
  const child: ChildProcess = spawn(binary, [ifname, String(queue), xskMap, String(count), String(seconds)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const received: number[] = [];
  const metadata: bigint[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line === 'ready') resolve({ received, metadata, exited, kill: () => child.kill('SIGKILL') });
      else if (line.startsWith('rx ')) {
        const [, len, meta] = line.split(' ');
        received.push(Number(len));
        metadata.push(BigInt(meta ?? '0'));
      }
    });
    void exited.then((code) => reject(new Error(`xsk_holder exited (${code}) before it was ready: ${stderr.trim()}`)));
  });
}
