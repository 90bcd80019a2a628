// SPDX-License-Identifier: Apache-2.0
// Host-side counters a flood benchmark reads before and after each phase: CPU time
// from /proc/stat, the IPv4/UDP MIB of this namespace, per-CPU backlog drops and an
// interface's own statistics.
import { readFileSync } from 'node:fs';

const USER_HZ = 100; // /proc/stat unit on Linux (sysconf(_SC_CLK_TCK))

export type CpuTimes = {
  /** Milliseconds every CPU spent not idle (user+nice+system+irq+softirq+steal). */
  busyMs: number;
  softirqMs: number;
  systemMs: number;
  userMs: number;
};

export function cpuTimes(): CpuTimes {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith('cpu '))!;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  const ms = (ticks: number) => (ticks * 1000) / USER_HZ;
  return {
    busyMs: ms(user! + nice! + system! + irq! + softirq! + steal!),
    softirqMs: ms(softirq!),
    systemMs: ms(system!),
    userMs: ms(user! + nice!),
  };
}

/** One row of /proc/net/snmp ("Ip", "Udp", …) as name → value. */
export function snmp(section: string): Record<string, number> {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith(`${section}: `));
  const [names, values] = lines.map((l) => l.split(/\s+/).slice(1));
  return Object.fromEntries(names!.map((n, i) => [n, Number(values![i])]));
}

/** Packets dropped because a CPU's input backlog was full (2nd column of softnet_stat). */
export function backlogDrops(): number {
  return readFileSync('/proc/net/softnet_stat', 'utf8').trim().split('\n').reduce((n, l) => n + parseInt(l.split(/\s+/)[1]!, 16), 0);
}

export function ifStat(ifname: string, name: 'rx_packets' | 'rx_dropped' | 'tx_packets' | 'tx_dropped'): number {
  return Number(readFileSync(`/sys/class/net/${ifname}/statistics/${name}`, 'utf8'));
}

export function diff<T extends Record<string, number>>(before: T, after: T): T {
  return Object.fromEntries(Object.keys(before).map((k) => [k, after[k]! - before[k]!])) as T;
}
