// SPDX-License-Identifier: Apache-2.0
// Loads dist/stoq_xdp.bpf.o into the real kernel for tests, pinned under a private
// bpffs directory, and drives it with bpftool: BPF_PROG_TEST_RUN for frames, map
// lookups/updates for config, stats and conntrack. (bpftool stands in for
// @stoq/loader, which was not buildable while this package was written.)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MAP_NAMES, decodeConntrack, decodeStats, encodeConfig, encodeConntrackKey, encodeConntrackValue, objectPath,
  type ConntrackEntry, type ConntrackKey, type ConntrackValue, type StoqConfig, type StoqStats,
} from '../../src/index.js';

const BPFFS = '/sys/fs/bpf';

function bpftool(args: readonly string[]): string {
  try {
    return execFileSync('bpftool', ['-j', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`bpftool ${args.slice(0, 2).join(' ')} failed: ${e.stderr || e.stdout || String(err)}`, { cause: err });
  }
}

function hexArgs(bytes: Uint8Array): string[] {
  return ['hex', ...Array.from(bytes, (b) => b.toString(16).padStart(2, '0'))];
}

function bytesOf(json: readonly string[]): Buffer {
  return Buffer.from(json.map((h) => parseInt(h, 16)));
}

export interface RunResult {
  retval: number;
  /** Output frame, including any XDP metadata the program put in front of it. */
  data: Buffer;
  durationNs: number;
}

export class LoadedStoqProgram {
  readonly pinDir: string;
  private readonly scratch: string;
  private closed = false;

  private constructor(pinDir: string, scratch: string) {
    this.pinDir = pinDir;
    this.scratch = scratch;
  }

  static load(): LoadedStoqProgram {
    const pinDir = mkdtempSync(join(BPFFS, 'stoq-test-'));
    const scratch = mkdtempSync(join(tmpdir(), 'stoq-frames-'));
    try {
      bpftool(['prog', 'load', objectPath, join(pinDir, 'prog'), 'type', 'xdp', 'pinmaps', pinDir]);
    } catch (err) {
      rmSync(pinDir, { recursive: true, force: true });
      rmSync(scratch, { recursive: true, force: true });
      throw err;
    }
    return new LoadedStoqProgram(pinDir, scratch);
  }

  get progPath(): string {
    return join(this.pinDir, 'prog');
  }

  mapPath(name: string): string {
    return join(this.pinDir, name);
  }

  /** BPF_PROG_TEST_RUN: one frame through the program in the kernel. */
  run(frame: Uint8Array, repeat = 1): RunResult {
    const input = join(this.scratch, 'in.bin');
    const output = join(this.scratch, 'out.bin');
    writeFileSync(input, frame);
    rmSync(output, { force: true });
    const args = ['prog', 'run', 'pinned', this.progPath, 'data_in', input, 'data_out', output];
    if (repeat > 1) args.push('repeat', String(repeat));
    const res = JSON.parse(bpftool(args)) as { retval: number; duration: number };
    return { retval: res.retval, durationNs: res.duration, data: readFileSync(output) };
  }

  writeConfig(partial: Partial<StoqConfig>): void {
    this.update(MAP_NAMES.config, Buffer.alloc(4), encodeConfig(partial));
  }

  clearConfig(): void {
    this.update(MAP_NAMES.config, Buffer.alloc(4), Buffer.alloc(36));
  }

  readStats(): StoqStats {
    const res = JSON.parse(bpftool(['map', 'lookup', 'pinned', this.mapPath(MAP_NAMES.stats), 'key', ...hexArgs(Buffer.alloc(4))])) as {
      values: Array<{ cpu: number; value: string[] }>;
    };
    return decodeStats(res.values.map((v) => bytesOf(v.value)));
  }

  conntrack(): ConntrackEntry[] {
    return this.dump(MAP_NAMES.conntrack).map(({ key, value }) => decodeConntrack(key, value));
  }

  writeConntrack(key: ConntrackKey, value: ConntrackValue): void {
    this.update(MAP_NAMES.conntrack, encodeConntrackKey(key), encodeConntrackValue(value));
  }

  clearMap(name: string): void {
    for (const { key } of this.dump(name)) {
      bpftool(['map', 'delete', 'pinned', this.mapPath(name), 'key', ...hexArgs(key)]);
    }
  }

  dump(name: string): Array<{ key: Buffer; value: Buffer }> {
    const rows = JSON.parse(bpftool(['map', 'dump', 'pinned', this.mapPath(name)])) as unknown;
    if (!Array.isArray(rows)) throw new Error(`bpftool map dump ${name}: ${JSON.stringify(rows)}`);
    return (rows as Array<{ key: string[]; value: string[] }>).map((r) => ({ key: bytesOf(r.key), value: bytesOf(r.value) }));
  }

  update(name: string, key: Uint8Array, value: Uint8Array): void {
    bpftool(['map', 'update', 'pinned', this.mapPath(name), 'key', ...hexArgs(key), 'value', ...hexArgs(value)]);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    rmSync(this.pinDir, { recursive: true, force: true });
    rmSync(this.scratch, { recursive: true, force: true });
  }
}

export const isRoot = process.getuid?.() === 0;
