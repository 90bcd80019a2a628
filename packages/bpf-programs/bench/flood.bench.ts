// SPDX-License-Identifier: Apache-2.0
// XDP early drop: an IPv4 UDP flood (@stoq/pktgen's sendmmsg sender, in the lab's
// peer namespace) into a veth, dropped by stoq_xdp in native mode versus the same
// flood dropped by the kernel stack without XDP (no listener: UDP NoPorts). Phases
// alternate in one run; each is bounded by a packet count and seconds.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { createLab, type Lab } from '@stoq/netlab';
import type { XdpLink } from '@stoq/loader';
import { diffStats } from '../src/index.js';
import { LoadedStoqProgram, isRoot } from '../test/support/kernel.js';
import { backlogDrops, cpuTimes, diff, ifStat, snmp } from './host-counters.js';

const COUNT = Number(process.env.STOQ_FLOOD_COUNT ?? 2_000_000);
const SECONDS = Number(process.env.STOQ_FLOOD_SECONDS ?? 3);
const ROUNDS = 2;
const PORT = 9999; // nobody listens here
const PAYLOAD = 18; // 14 + 20 + 8 + 18 = a 60-byte frame, the smallest Ethernet carries

const flood = join(dirname(createRequire(import.meta.url).resolve('@stoq/pktgen/package.json')), 'build', 'udp6_flood');

interface Row {
  phase: string;
  sent: number;
  seconds: number;
  /** Packets the phase's drop point counted: stoq_xdp's ipv4_dropped, or the stack's UDP NoPorts. */
  dropped: number;
  busyMs: number;
  softirqMs: number;
  backlogDrops: number;
}

/** The mode the kernel reports for the interface, not the one we asked for. */
function observedMode(ifname: string): string {
  const show = execFileSync('ip', ['-d', 'link', 'show', 'dev', ifname], { encoding: 'utf8' });
  if (/\bxdpgeneric\b/.test(show)) return 'generic (skb)';
  if (/\bxdpoffload\b/.test(show)) return 'offload';
  if (/\bxdp\b/.test(show)) return 'native (driver)';
  return 'none';
}

async function phase(lab: Lab, prog: LoadedStoqProgram, withXdp: boolean): Promise<Row & { mode: string }> {
  let link: XdpLink | undefined;
  try {
    if (withXdp) link = prog.attachXdp(lab.a.ifname, 'native');
    const mode = observedMode(lab.a.ifname);
    const before = { stats: prog.readStats(), udp: snmp('Udp'), cpu: cpuTimes(), backlog: backlogDrops() };
    // The sender pins itself to CPU 0; on veth the receive side runs in softirq right behind it.
    const { stdout } = await lab.exec(lab.b, 'taskset', ['-c', '0', flood, `::ffff:${lab.a.address4!}`, String(PORT), String(PAYLOAD), String(COUNT), String(SECONDS)], (SECONDS + 20) * 1000);
    await new Promise((r) => setTimeout(r, 200)); // let queued softirq work finish
    const cpu = diff(before.cpu, cpuTimes());
    const sent = JSON.parse(stdout.trim().split('\n').pop()!) as { sent: number; seconds: number };
    const dropped = withXdp ? diffStats(before.stats, prog.readStats()).counters.ipv4_dropped : (snmp('Udp').NoPorts ?? 0) - (before.udp.NoPorts ?? 0);
    return { phase: withXdp ? 'stoq_xdp' : 'kernel stack', mode, sent: sent.sent, seconds: sent.seconds, dropped, busyMs: cpu.busyMs, softirqMs: cpu.softirqMs, backlogDrops: backlogDrops() - before.backlog };
  } finally {
    link?.detach();
  }
}


const perPacket = (ms: number, n: number) => (n ? (ms * 1e6) / n : NaN); // ns per packet
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

it('IPv4 UDP flood: stoq_xdp early drop vs the kernel stack', { ...skipUnless(isRoot && existsSync(flood), !isRoot ? 'needs root: veth lab and XDP attach' : `${flood} missing: pnpm --filter @stoq/pktgen build`), timeout: 180_000 }, async () => {
  const lab = await createLab({ hostSide: true, ipv4: true, timeoutMs: 120_000 });
  const prog = await LoadedStoqProgram.load();
  try {
    console.log(`flood: ${COUNT} IPv4 UDP datagrams (${PAYLOAD + 42}-byte frames) or ${SECONDS} s per phase, ${lab.b.ifname} → ${lab.a.ifname} (veth), sender pinned to CPU 0, ${ROUNDS} rounds alternating`);
    const rows: Array<Row & { mode: string }> = [];
    for (let r = 0; r < ROUNDS; r++) {
      rows.push(await phase(lab, prog, false));
      rows.push(await phase(lab, prog, true));
    }
    console.table(rows.map((r) => ({
      phase: r.phase,
      'XDP mode (observed)': r.mode,
      sent: r.sent,
      'sent/s': Math.round(r.sent / r.seconds),
      'dropped at drop point': r.dropped,
      'drop point/s': Math.round(r.dropped / r.seconds),
      'backlog drops': r.backlogDrops,
      'CPU ns/pkt (all CPUs busy)': perPacket(r.busyMs, r.sent).toFixed(0),
      'softirq ns/pkt': perPacket(r.softirqMs, r.sent).toFixed(0),
    })));
    const of = (name: string, f: (r: Row) => number) => median(rows.filter((r) => r.phase === name).map(f));
    const rate = (r: Row) => r.dropped / r.seconds;
    const cpu = (r: Row) => perPacket(r.busyMs, r.sent);
    const soft = (r: Row) => perPacket(r.softirqMs, r.sent);
    console.log([
      'ratios (median of rounds; stoq_xdp relative to the kernel stack):',
      `  drops handled per second: ${(of('stoq_xdp', rate) / of('kernel stack', rate)).toFixed(2)}x`,
      `  CPU per packet (whole machine, sender included): ${(of('stoq_xdp', cpu) / of('kernel stack', cpu)).toFixed(2)}x`,
      `  softirq CPU per packet: ${(of('stoq_xdp', soft) / of('kernel stack', soft)).toFixed(2)}x`,
      'CPU is /proc/stat for the whole (shared) machine: other load on it shows up in both phases alike.',
    ].join('\n'));
  } finally {
    prog.close();
    await lab.destroy();
  }
});
