// SPDX-License-Identifier: Apache-2.0
/**
 * The real stoq_xdp object (@stoq/bpf-programs) loaded with @stoq/loader, driven with
 * BPF_PROG_TEST_RUN (testRun) or attached to a lab interface through a bpf_link.
 */
import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { encodeConfig, MAP_NAMES, objectPath, PROGRAM_NAME, type StoqConfig } from '@stoq/bpf-programs';
import { BpfObject, possibleCpus, type BpfMap, type XdpLink, type XdpMode } from '@stoq/loader';

const KEY0 = Buffer.alloc(4);

/** This thread's id: affinity is per thread, and vitest may run the test in a worker. */
function threadId(): string {
  return readlinkSync('/proc/thread-self').split('/').at(-1)!;
}

/** Runs fn with this thread pinned to `cpu` (so a per-CPU map slot is chosen), then unpins it. */
function onCpu<T>(cpu: number, fn: () => T): T {
  const tid = threadId();
  execFileSync('taskset', ['-p', '-c', String(cpu), tid], { stdio: 'ignore' });
  try {
    return fn();
  } finally {
    execFileSync('taskset', ['-p', '-c', `0-${possibleCpus() - 1}`, tid], { stdio: 'ignore' });
  }
}

export interface TestRunResult {
  retval: number;
  /** The frame as the program left it, XDP metadata (if any) in front. */
  output: Buffer;
}

export class StoqXdp {
  readonly object: BpfObject;
  readonly statsMap: BpfMap;
  readonly conntrackMap: BpfMap;

  private constructor(object: BpfObject) {
    this.object = object;
    this.statsMap = object.map(MAP_NAMES.stats);
    this.conntrackMap = object.map(MAP_NAMES.conntrack);
  }

  static async load(): Promise<StoqXdp> {
    return new StoqXdp(await BpfObject.load(objectPath));
  }

  configure(config: Partial<StoqConfig>): void {
    this.object.map(MAP_NAMES.config).update(KEY0, encodeConfig(config));
  }

  /** BPF_PROG_TEST_RUN `repeat` times with this thread on `cpu`. */
  run(frame: Buffer, repeat = 1, cpu?: number): TestRunResult {
    const go = () => {
      const { retval, data } = this.object.program(PROGRAM_NAME).testRun(frame, { repeat, dataSizeOut: frame.length + 64 });
      return { retval, output: data };
    };
    return cpu === undefined ? go() : onCpu(cpu, go);
  }

  attach(ifname: string, mode: XdpMode = 'native'): XdpLink {
    return this.object.program(PROGRAM_NAME).attachXdp(ifname, { mode });
  }

  close(): void {
    this.object.close();
  }
}
