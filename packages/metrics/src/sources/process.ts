// SPDX-License-Identifier: Apache-2.0
import { readFile } from 'node:fs/promises';
import { available, unavailable, type MetricSource } from '../source.js';

/** What processSource() reads: this process's CPU time and memory, and each core's busy time. */
export interface ProcessData {
  /** CPU time of this process (user + system), seconds, from /proc/self/stat. */
  readonly processCpuSeconds: number;
  /** Busy and total time per online core, seconds, from /proc/stat (busy = total - idle - iowait). */
  readonly cores: readonly {
    /** The CPU number (N of `cpuN`; an offline CPU has no line, so this is not the position). */
    readonly cpu: number;
    /** Time the core spent busy, seconds since boot. */
    readonly busySeconds: number;
    /** All time the core accounted, seconds since boot. */
    readonly totalSeconds: number;
  }[];
  /** Resident set size, bytes (`process.memoryUsage.rss()`). */
  readonly rssBytes: number;
  /** UMEM bytes mapped by AF_XDP sockets, as told by the caller; null when none. */
  readonly umemBytes: number | null;
}

/** Options of processSource(). */
export interface ProcessSourceOptions {
  /** Bytes of UMEM the caller's AF_XDP sockets map (the metrics cannot see them otherwise). */
  readonly umemBytes?: () => number | null;
  /** Where procfs is mounted (e.g. /host/proc in a container). Default /proc. */
  readonly procRoot?: string;
}

/** USER_HZ: the unit of /proc/stat and /proc/self/stat times; 100 on every Linux ABI Node supports. */
const TICKS_PER_SECOND = 100;

/** Process and per-core CPU time and memory. Linux only: elsewhere it is unavailable. */
export function processSource(options: ProcessSourceOptions = {}): MetricSource<ProcessData> {
  const proc = options.procRoot ?? '/proc';
  return {
    name: 'process',
    async collect() {
      if (process.platform !== 'linux') return unavailable(`procfs is Linux-only (platform ${process.platform})`);
      const [selfStat, stat] = await Promise.all([readFile(`${proc}/self/stat`, 'utf8'), readFile(`${proc}/stat`, 'utf8')]);
      return available({
        processCpuSeconds: parseSelfCpuTicks(selfStat) / TICKS_PER_SECOND,
        cores: parseCoreTicks(stat).map((c) => ({ cpu: c.cpu, busySeconds: c.busy / TICKS_PER_SECOND, totalSeconds: c.total / TICKS_PER_SECOND })),
        rssBytes: process.memoryUsage.rss(),
        umemBytes: options.umemBytes?.() ?? null,
      });
    },
  };
}

/** utime + stime (fields 14 and 15). The command name may contain spaces: parse after its ')'. */
export function parseSelfCpuTicks(selfStat: string): number {
  const fields = selfStat.slice(selfStat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field N is fields[N - 3].
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unparseable /proc/self/stat: ${selfStat.slice(0, 80)}`);
  return utime + stime;
}

/**
 * One entry per `cpuN` line: the CPU number N, total ticks and busy ticks (total minus idle
 * and iowait). Offline CPUs have no line, so N is read from the line, not counted.
 */
export function parseCoreTicks(stat: string): { cpu: number; busy: number; total: number }[] {
  const cores: { cpu: number; busy: number; total: number }[] = [];
  for (const line of stat.split('\n')) {
    const cpu = /^cpu(\d+) /.exec(line)?.[1];
    if (cpu === undefined) continue;
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const idleAll = (idle ?? 0) + (iowait ?? 0);
    const total = [user, nice, system, irq, softirq, steal].reduce<number>((a, b) => a + (b ?? 0), idleAll);
    cores.push({ cpu: Number(cpu), busy: total - idleAll, total });
  }
  return cores;
}
