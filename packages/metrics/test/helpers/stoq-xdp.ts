// SPDX-License-Identifier: Apache-2.0
/**
 * The real stoq_xdp object (@stoq/bpf-programs), loaded into the kernel with bpftool
 * and driven with BPF_PROG_TEST_RUN. Its maps are exposed through the same reader
 * interfaces @stoq/loader's maps satisfy; bpftool stands in for @stoq/loader, which
 * has not landed yet.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodeConfig, MAP_NAMES, objectPath, type StoqConfig } from '@stoq/bpf-programs';
import type { BatchMapReader, MapEntry, PerCpuMapReader } from '../../src/index.js';

const run = promisify(execFile);
const toBuffer = (hex: readonly string[]) => Buffer.from(hex.map((h) => Number.parseInt(h, 16)));
const hexArgs = (bytes: Buffer) => [...bytes].map((b) => `0x${b.toString(16).padStart(2, '0')}`);

async function bpftoolJson(args: readonly string[]): Promise<unknown> {
  try {
    const { stdout } = await run('bpftool', ['-j', ...args], { maxBuffer: 1 << 28 });
    return JSON.parse(stdout);
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string };
    throw new Error(`bpftool ${args.slice(0, 2).join(' ')} failed: ${e.stdout || e.stderr || String(error)}`, { cause: error });
  }
}

export interface TestRunResult {
  retval: number;
  /** The frame as the program left it, XDP metadata (if any) in front. */
  output: Buffer;
}

export class StoqXdp {
  readonly statsMap: PerCpuMapReader;
  readonly conntrackMap: BatchMapReader;
  readonly pinDir: string;
  readonly #tmp: string;

  private constructor(pinDir: string, tmp: string) {
    this.pinDir = pinDir;
    this.#tmp = tmp;
    const statsPath = this.mapPath(MAP_NAMES.stats);
    const conntrackPath = this.mapPath(MAP_NAMES.conntrack);
    this.statsMap = {
      async lookupPerCpu(key: Buffer) {
        const out = (await bpftoolJson(['map', 'lookup', 'pinned', statsPath, 'key', ...hexArgs(key)])) as { values: { value: string[] }[] };
        return out.values.map((v) => toBuffer(v.value));
      },
    };
    this.conntrackMap = {
      async entries(): Promise<MapEntry[]> {
        const out = (await bpftoolJson(['map', 'dump', 'pinned', conntrackPath])) as { key: string[]; value: string[] }[];
        return out.map((e) => [toBuffer(e.key), toBuffer(e.value)] as const);
      },
    };
  }

  /** Loads stoq_xdp and pins it and its maps under a fresh /sys/fs/bpf directory. */
  static async load(): Promise<StoqXdp> {
    const pinDir = `/sys/fs/bpf/stoq_metrics_test_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
    const prog = new StoqXdp(pinDir, await mkdtemp(join(tmpdir(), 'stoq-metrics-')));
    try {
      await mkdir(pinDir);
      await bpftoolJson(['prog', 'load', objectPath, join(pinDir, 'prog'), 'type', 'xdp', 'pinmaps', pinDir]);
    } catch (error) {
      await prog.close();
      throw error;
    }
    return prog;
  }

  mapPath(name: string): string {
    return join(this.pinDir, name);
  }

  async configure(config: Partial<StoqConfig>): Promise<void> {
    await bpftoolJson(['map', 'update', 'pinned', this.mapPath(MAP_NAMES.config), 'key', ...hexArgs(Buffer.alloc(4)), 'value', ...hexArgs(encodeConfig(config))]);
  }

  /** BPF_PROG_TEST_RUN `repeat` times from a bpftool process pinned to `cpu`. */
  async run(frame: Buffer, repeat = 1, cpu = 0): Promise<TestRunResult> {
    const name = `${Math.floor(Math.random() * 1e9)}`;
    const input = join(this.#tmp, `in-${name}`);
    const output = join(this.#tmp, `out-${name}`);
    await writeFile(input, frame);
    const { stdout } = await run('taskset', ['-c', String(cpu), 'bpftool', '-j', 'prog', 'run', 'pinned', join(this.pinDir, 'prog'), 'data_in', input, 'data_out', output, 'repeat', String(repeat)]);
    const result = { retval: (JSON.parse(stdout) as { retval: number }).retval, output: await readFile(output) };
    await Promise.all([rm(input), rm(output)]);
    return result;
  }

  /**
   * Attaches the program in native (driver) mode only, so an interface without native
   * XDP fails loudly. iproute2 attaches over netlink: the returned detach must run
   * (the lab's veth going away also removes it).
   */
  async attachNative(ifname: string): Promise<() => Promise<void>> {
    await run('ip', ['link', 'set', 'dev', ifname, 'xdpdrv', 'pinned', join(this.pinDir, 'prog')]);
    return async () => {
      await run('ip', ['link', 'set', 'dev', ifname, 'xdpdrv', 'off']);
    };
  }

  /** Writes a conntrack value, as the transport does when a connection closes (state `closing`). */
  async updateConntrack(key: Buffer, value: Buffer): Promise<void> {
    await bpftoolJson(['map', 'update', 'pinned', this.mapPath(MAP_NAMES.conntrack), 'key', ...hexArgs(key), 'value', ...hexArgs(value)]);
  }

  async close(): Promise<void> {
    await rm(this.pinDir, { recursive: true, force: true });
    await rm(this.#tmp, { recursive: true, force: true });
  }
}
