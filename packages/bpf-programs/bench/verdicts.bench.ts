// SPDX-License-Identifier: Apache-2.0
// Per-packet cost of each verdict class, measured by the kernel itself
// (BPF_PROG_TEST_RUN with repeat: average ns per run), next to a baseline program
// that only returns XDP_PASS, loaded and run the same way in the same process.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { BpfObject } from '@stoq/loader';
import { HOST_ADDR_VALUE, MAP_NAMES, encodeHostAddrKey, type CounterName, type StoqConfig } from '../src/index.js';
import { ETH_P, SERVER, ethernet, ipv4Udp, quicLong, quicShort, tcpSyn, udp6Frame, ipv6, IPPROTO } from '../test/support/frames.js';
import { LoadedStoqProgram, isRoot } from '../test/support/kernel.js';

const REPEAT = Number(process.env.STOQ_BENCH_REPEAT ?? 200_000);
const ROUNDS = 3;

interface Case { name: string; counter: CounterName; frame: Buffer; config?: Partial<StoqConfig>; hostAddrs?: string[] }

/** stoq_host_addrs for the check_local_addrs cases: SERVER among a few other host addresses. */
const HOST_ADDRS = [SERVER, '::1', 'fe80::1', 'fd00:2::1', '2001:db8::1'];

const CASES: Case[] = [
  { name: 'ARP', counter: 'non_ip_passed', frame: ethernet(ETH_P.ARP, Buffer.alloc(46)) },
  { name: 'IPv4 UDP', counter: 'ipv4_dropped', frame: ethernet(ETH_P.IPV4, ipv4Udp(9292)) },
  { name: 'IPv4 UDP, ipv4_policy pass', counter: 'ipv4_passed', frame: ethernet(ETH_P.IPV4, ipv4Udp(9292)), config: { ipv4Policy: 'pass' } },
  { name: 'TCP/IPv6', counter: 'ipv6_non_udp_passed', frame: ethernet(ETH_P.IPV6, ipv6({ nextHeader: IPPROTO.TCP, payload: tcpSyn(9292) })) },
  { name: 'IPv6 non-first fragment', counter: 'ipv6_fragment_passed', frame: ethernet(ETH_P.IPV6, ipv6({ nextHeader: IPPROTO.UDP, payload: Buffer.alloc(600), ext: [{ type: IPPROTO.FRAGMENT, fragmentOffset: 75 }] })) },
  { name: 'UDP to port 53', counter: 'udp_non_quic_passed', frame: udp6Frame({ dport: 53, payload: Buffer.alloc(64) }) },
  { name: 'empty UDP to 9292', counter: 'malformed_dropped', frame: udp6Frame({ payload: Buffer.alloc(0) }) },
  { name: 'Initial, 1000 B', counter: 'initial_too_small_dropped', frame: udp6Frame({ payload: quicLong({ type: 'initial', size: 1000 }) }) },
  { name: 'Initial over rate', counter: 'initial_rate_limited_dropped', frame: udp6Frame({ payload: quicLong({ type: 'initial', size: 1200 }) }), config: { initialRate: 1, initialBurst: 1 } },
  { name: 'Initial, 1200 B (conntrack)', counter: 'quic_passed', frame: udp6Frame({ payload: quicLong({ type: 'initial', size: 1200 }) }) },
  { name: 'short header (conntrack)', counter: 'quic_passed', frame: udp6Frame({ payload: quicShort(1200) }) },
  { name: 'short header, local_addr ours (conntrack)', counter: 'quic_passed', frame: udp6Frame({ payload: quicShort(1200) }), config: { localAddress: SERVER } },
  { name: 'short header to another local_addr', counter: 'quic_passed', frame: udp6Frame({ dst: 'fd00:1::3', payload: quicShort(1200) }), config: { localAddress: SERVER } },
  { name: 'short header, check_local_addrs, host address (conntrack)', counter: 'quic_passed', frame: udp6Frame({ payload: quicShort(1200) }), config: { checkLocalAddrs: true }, hostAddrs: HOST_ADDRS },
  { name: 'short header, check_local_addrs, forwarded', counter: 'quic_passed', frame: udp6Frame({ dst: 'fd00:c::2', payload: quicShort(1200) }), config: { checkLocalAddrs: true }, hostAddrs: HOST_ADDRS },
];

function jitState(): string {
  const v = readFileSync('/proc/sys/net/core/bpf_jit_enable', 'utf8').trim();
  return v === '0' ? 'interpreter (bpf_jit_enable=0)' : `JIT on (bpf_jit_enable=${v})`;
}

/** An XDP program that only returns XDP_PASS, compiled and loaded the same way. */
async function loadBaseline(): Promise<{ run(frame: Buffer): number; close(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'stoq-bench-'));
  try {
    const obj = join(dir, 'baseline.o');
    const src = fileURLToPath(new URL('./baseline_pass.bpf.c', import.meta.url));
    execFileSync('clang', ['-g', '-O2', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', src, '-o', obj]);
    const object = await BpfObject.load(obj);
    const [program] = object.programs();
    return { run: (frame) => program!.testRun(frame, { repeat: REPEAT }).durationNs, close: () => object.close() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

it('stoq_xdp per-verdict cost (BPF_PROG_TEST_RUN)', skipUnless(isRoot, 'needs root: loading BPF programs and BPF_PROG_TEST_RUN (CAP_BPF, CAP_SYS_ADMIN)'), async () => {
  const prog = await LoadedStoqProgram.load();
  const baseline = await loadBaseline();
  try {
    console.log(`mode: BPF_PROG_TEST_RUN (program run by the kernel on a test buffer; no driver, so neither native nor generic XDP), ${jitState()}`);
    console.log(`repeat ${REPEAT} per round, median of ${ROUNDS} rounds; baseline = an XDP program that only returns XDP_PASS, same frame, same run`);
    const rows = CASES.map((c) => {
      prog.clearConfig();
      prog.clearMap(MAP_NAMES.hostAddrs);
      for (const a of c.hostAddrs ?? []) prog.map(MAP_NAMES.hostAddrs).update(encodeHostAddrKey(a), HOST_ADDR_VALUE);
      if (c.config) prog.writeConfig(c.config);
      const before = prog.readStats();
      const stoq = median(Array.from({ length: ROUNDS }, () => prog.run(c.frame, REPEAT).durationNs));
      const after = prog.readStats();
      const moved = after.counters[c.counter] - before.counters[c.counter];
      const base = median(Array.from({ length: ROUNDS }, () => baseline.run(c.frame)));
      return {
        case: c.name,
        class: c.counter,
        frame: c.frame.length,
        'stoq ns/pkt': stoq,
        'baseline ns/pkt': base,
        ratio: (stoq / Math.max(1, base)).toFixed(2),
        'class share': `${((moved / (REPEAT * ROUNDS)) * 100).toFixed(1)}%`,
      };
    });
    console.table(rows);
  } finally {
    baseline.close();
    prog.close();
  }
});
