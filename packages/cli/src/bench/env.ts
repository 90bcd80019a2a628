// The facts a benchmark result needs to be read correctly: machine, kernel, Node,
// date, and how busy the host already was when the run started.
import { cpus, loadavg, release, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';

export interface BenchEnvironment {
  date: string;
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  loadAverageAtStart: number[];
  bpfJit: string;
}

export function environment(): BenchEnvironment {
  let jit = 'unknown';
  try {
    jit = `bpf_jit_enable=${readFileSync('/proc/sys/net/core/bpf_jit_enable', 'utf8').trim()}`;
  } catch {
    // not readable without privileges
  }
  return {
    date: new Date().toISOString(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    loadAverageAtStart: loadavg().map((v) => Math.round(v * 100) / 100),
    bpfJit: jit,
  };
}
