// SPDX-License-Identifier: Apache-2.0
/**
 * Loads test/fixtures/counting_xdp.bpf.c into the real kernel with clang + bpftool and
 * exposes its maps through the same small reader interfaces @stoq/loader's maps
 * satisfy. Used until @stoq/loader and the stoq_xdp object land; every value read
 * here comes from a real kernel map filled by real BPF_PROG_TEST_RUN runs.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BatchMapReader, MapEntry, PerCpuMapReader } from '../../src/index.js';

const run = promisify(execFile);
const FIXTURE_SOURCE = join(import.meta.dirname, '../fixtures/counting_xdp.bpf.c');

export const FIXTURE_COUNTERS = 12;
export const FIXTURE_SIZE_LIMITS = [64, 128, 256, 512, 1024, 1518, 4096];
export const FIXTURE_STATES = ['initial', 'handshake', 'established'] as const;

const toBuffer = (hex: readonly string[]) => Buffer.from(hex.map((h) => Number.parseInt(h, 16)));

export interface FixturePacket {
  counterIndex: number;
  /** 0 = no conntrack entry, 1 initial, 2 handshake, 3 established. */
  conntrackState?: number;
  peerPort?: number;
  length?: number;
}

export class CountingFixture {
  readonly statsMap: PerCpuMapReader;
  readonly conntrackMap: BatchMapReader;
  readonly #dir: string;
  readonly #pin: string;
  readonly #mapsPin: string;

  private constructor(dir: string, pin: string) {
    this.#dir = dir;
    this.#pin = pin;
    this.#mapsPin = `${pin}_maps`;
    const statsPath = join(this.#mapsPin, 'fixture_stats');
    const conntrackPath = join(this.#mapsPin, 'fixture_conntrack');
    this.statsMap = {
      async lookupPerCpu(key: Buffer) {
        const out = await bpftoolJson(['map', 'lookup', 'pinned', statsPath, 'key', ...[...key].map(String)]);
        return (out as { values: { value: string[] }[] }).values.map((v) => toBuffer(v.value));
      },
    };
    this.conntrackMap = {
      async entries(): Promise<MapEntry[]> {
        const out = (await bpftoolJson(['map', 'dump', 'pinned', conntrackPath])) as { key: string[]; value: string[] }[];
        return out.map((e) => [toBuffer(e.key), toBuffer(e.value)] as const);
      },
    };
  }

  /** Compiles and loads the fixture; pins live under /sys/fs/bpf/stoq_metrics_test_<pid>_<n>. */
  static async load(): Promise<CountingFixture> {
    const dir = await mkdtemp(join(tmpdir(), 'stoq-metrics-'));
    const object = join(dir, 'counting_xdp.bpf.o');
    const pin = `/sys/fs/bpf/stoq_metrics_test_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
    const fixture = new CountingFixture(dir, pin);
    try {
      await run('clang', ['-g', '-O2', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', FIXTURE_SOURCE, '-o', object]);
      await run('bpftool', ['prog', 'load', object, pin, 'pinmaps', `${pin}_maps`]);
    } catch (error) {
      await fixture.close();
      throw error;
    }
    return fixture;
  }

  /**
   * Runs one packet `repeat` times through the program with BPF_PROG_TEST_RUN, from a
   * bpftool process pinned to `cpu` (the per-CPU slot that gets the counts).
   * Returns the packet as the program left it (bytes 24..32 hold its bpf_ktime_get_ns()).
   */
  async runPacket(packet: FixturePacket, repeat = 1, cpu = 0): Promise<Buffer> {
    const data = Buffer.alloc(packet.length ?? 80);
    data[0] = packet.counterIndex;
    data[1] = packet.conntrackState ?? 0;
    data[2] = 0xfd; // peer address fd00::<port>, peer port, local port 9292
    data.writeUInt16BE(packet.peerPort ?? 0, 16);
    data.writeUInt16LE(packet.peerPort ?? 0, 18);
    data.writeUInt16LE(9292, 20);
    const name = `${Math.floor(Math.random() * 1e9)}`;
    const input = join(this.#dir, `in-${name}`);
    const output = join(this.#dir, `out-${name}`);
    await writeFile(input, data);
    await run('taskset', ['-c', String(cpu), 'bpftool', 'prog', 'run', 'pinned', this.#pin, 'data_in', input, 'data_out', output, 'repeat', String(repeat)]);
    const result = await readFile(output);
    await Promise.all([rm(input), rm(output)]);
    return result;
  }

  async close(): Promise<void> {
    await rm(this.#pin, { force: true });
    await rm(this.#mapsPin, { recursive: true, force: true });
    await rm(this.#dir, { recursive: true, force: true });
  }
}

async function bpftoolJson(args: string[]): Promise<unknown> {
  const { stdout } = await run('bpftool', ['-j', ...args], { maxBuffer: 256 * 1024 * 1024 });
  return JSON.parse(stdout);
}

/** Decodes the fixture's per-CPU stats the way @stoq/bpf-programs' decodeStats does for stoq_stats: summed over CPUs. */
export function decodeFixtureStats(perCpu: Buffer[]): { counters: Record<string, number>; sizeHistogram: number[] } {
  const counters: Record<string, number> = { rx_packets: 0, rx_bytes: 0 };
  for (let i = 0; i < FIXTURE_COUNTERS; i++) counters[`counter_${i}`] = 0;
  const sizeHistogram = new Array<number>(8).fill(0);
  for (const value of perCpu) {
    counters['rx_packets']! += Number(value.readBigUInt64LE(0));
    counters['rx_bytes']! += Number(value.readBigUInt64LE(8));
    for (let i = 0; i < FIXTURE_COUNTERS; i++) counters[`counter_${i}`]! += Number(value.readBigUInt64LE(16 + 8 * i));
    for (let i = 0; i < 8; i++) sizeHistogram[i]! += Number(value.readBigUInt64LE(16 + 8 * FIXTURE_COUNTERS + 8 * i));
  }
  return { counters, sizeHistogram };
}

/** Decodes a fixture conntrack value (u32 state, u32 pad, u64 first, u64 last, u64 packets, u64 bytes). */
export function decodeFixtureConntrack(_key: Buffer, value: Buffer): { state: string; packets: bigint; bytes: bigint } {
  const state = FIXTURE_STATES[value.readUInt32LE(0) - 1];
  if (state === undefined) throw new RangeError(`fixture conntrack state ${value.readUInt32LE(0)}`);
  return { state, packets: value.readBigUInt64LE(24), bytes: value.readBigUInt64LE(32) };
}
