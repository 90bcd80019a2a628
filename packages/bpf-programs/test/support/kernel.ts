// SPDX-License-Identifier: Apache-2.0
// Loads dist/stoq_xdp.bpf.o into the real kernel for tests with @stoq/loader and
// drives it: BPF_PROG_TEST_RUN for frames, map lookups/updates for config, stats
// and conntrack, XDP attach through a bpf_link for lab tests.
import { BpfObject, type BpfMap, type BpfProgram, type XdpLink } from '@stoq/loader';
import {
  MAP_NAMES, PROGRAM_NAME, decodeConntrack, decodeStats, encodeConfig, encodeConntrackKey, encodeConntrackValue, objectPath,
  type ConntrackEntry, type ConntrackKey, type ConntrackValue, type StoqConfig, type StoqStats,
} from '../../src/index.js';

export interface RunResult {
  retval: number;
  /** Output frame, including any XDP metadata the program put in front of it. */
  data: Buffer;
  durationNs: number;
}

export interface RunOptions {
  repeat?: number;
  rxQueueIndex?: number;
  ingressIfindex?: number;
}

const KEY0 = Buffer.alloc(4);

export class LoadedStoqProgram {
  readonly object: BpfObject;
  readonly program: BpfProgram;

  private constructor(object: BpfObject) {
    this.object = object;
    this.program = object.program(PROGRAM_NAME);
  }

  static async load(path = objectPath): Promise<LoadedStoqProgram> {
    const object = await BpfObject.load(path);
    try {
      return new LoadedStoqProgram(object);
    } catch (err) {
      object.close();
      throw err;
    }
  }

  map(name: string): BpfMap {
    return this.object.map(name);
  }

  /** BPF_PROG_TEST_RUN: one frame through the program in the kernel. */
  run(frame: Uint8Array, options: RunOptions | number = {}): RunResult {
    const o = typeof options === 'number' ? { repeat: options } : options;
    const { retval, data, durationNs } = this.program.testRun(frame, o);
    return { retval, data, durationNs };
  }

  /** Attaches in exactly this mode (no fallback), so a driver without native XDP fails loudly. */
  attachXdp(ifname: string, mode: 'native' | 'generic'): XdpLink {
    return this.program.attachXdp(ifname, { mode });
  }

  writeConfig(partial: Partial<StoqConfig>): void {
    this.map(MAP_NAMES.config).update(KEY0, encodeConfig(partial));
  }

  clearConfig(): void {
    const config = this.map(MAP_NAMES.config);
    config.update(KEY0, Buffer.alloc(config.valueSize));
  }

  readStats(): StoqStats {
    const perCpu = this.map(MAP_NAMES.stats).lookupPerCpu(KEY0);
    if (!perCpu) throw new Error(`${MAP_NAMES.stats}: no entry at key 0`);
    return decodeStats(perCpu);
  }

  conntrack(): ConntrackEntry[] {
    return this.dump(MAP_NAMES.conntrack).map(({ key, value }) => decodeConntrack(key, value));
  }

  writeConntrack(key: ConntrackKey, value: ConntrackValue): void {
    this.map(MAP_NAMES.conntrack).update(encodeConntrackKey(key), encodeConntrackValue(value));
  }

  clearMap(name: string): void {
    const map = this.map(name);
    for (const key of [...map.keys()]) map.delete(key);
  }

  dump(name: string): Array<{ key: Buffer; value: Buffer }> {
    return [...this.map(name).entries()].map(([key, value]) => ({ key, value }));
  }

  close(): void {
    this.object.close();
  }
}

export const isRoot = process.getuid?.() === 0;
