// The benchmark suite: every table measured side by side in one run on one lab,
// kernel path first, eBPF path second. A row that cannot be measured says why
// (null values + a note), never a made-up number.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab } from '@stoq/netlab';
import { environment, type BenchEnvironment } from './env.js';
import { inMemoryGbps } from './ceiling.js';
import { clearLeftoverXdp, measureRx, type RxSample } from './packet-rate.js';
import { measureQuic, type QuicResult } from './quic.js';
import type { BenchTable } from './table.js';
import { measureEarlyDrop, measureProgramCost, type CostSample, type DropSample } from './xdp-costs.js';

export interface BenchOptions { quick: boolean; log: (line: string) => void }

export interface BenchResult {
  environment: BenchEnvironment;
  quick: boolean;
  durationSeconds: number;
  tables: BenchTable[];
  raw: Record<string, unknown>;
}

const KERNEL = 'kernel (node:dgram)';
const EBPF = 'eBPF (XDP + AF_XDP)';
const pct = (s: number[], p: number) => { const v = [...s].sort((a, b) => a - b); return v[Math.min(v.length - 1, Math.floor((p / 100) * v.length))] ?? 0; };

async function attempt<T>(what: string, log: (l: string) => void, fn: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (error) {
    log(`  ${what}: not measured: ${(error as Error).message}`);
    return { error: (error as Error).message };
  }
}
const failed = (x: unknown): x is { error: string } => typeof x === 'object' && x !== null && 'error' in x;

export async function runBench(options: BenchOptions): Promise<BenchResult> {
  if (process.getuid?.() !== 0) throw Object.assign(new Error('stoq bench needs root: it builds a network namespace lab and attaches XDP'), { code: 'STOQ_ERR_PERMISSION', hint: 'sudo stoq bench --quick' });
  const started = performance.now();
  const env = environment();
  const q = options.quick;
  const log = options.log;
  const certDir = mkdtempSync(join(tmpdir(), 'stoq-bench-'));
  const lab = await createLab({ hostSide: true, staticNeighbours: true, ipv4: true, timeoutMs: 15 * 60_000 });
  const raw: Record<string, unknown> = {};
  try {
    const floodSeconds = q ? 1 : 3;
    log('packet rate: C sendmmsg flood from the peer namespace → receiver in Node');
    const rx: RxSample[] = [];
    for (const payload of [64, 256]) {
      for (const receiver of ['dgram', 'xsk'] as const) {
        const r = await attempt(`${payload} B ${receiver}`, log, () => measureRx(lab, receiver, payload, { seconds: floodSeconds, count: 50_000_000 }));
        if (!failed(r)) {
          rx.push(r);
          log(`  ${payload} B ${r.mode.padEnd(18)} sent ${(r.sentPps / 1e6).toFixed(3)} Mpps, received ${(r.rxPps / 1e6).toFixed(3)} Mpps, loss ${(r.loss * 100).toFixed(1)} %`);
        }
      }
    }
    raw['packetRate'] = rx;

    log('CPU at three offered loads (paced bursts, 64 B)');
    const cpu: RxSample[] = [];
    const senderMax = Math.max(0, ...rx.filter((r) => r.payload === 64).map((r) => r.sentPps));
    const fractions = [0.005, 0.025, 0.1];
    const bursts = q ? 3 : 12;
    for (const f of fractions) {
      for (const receiver of ['dgram', 'xsk'] as const) {
        const count = Math.max(1000, Math.round(senderMax * f));
        const r = await attempt(`load ${f} ${receiver}`, log, () => measureRx(lab, receiver, 64, { seconds: 1, count, bursts }));
        if (!failed(r)) {
          cpu.push(r);
          log(`  offered ${(r.sentPps / 1e3).toFixed(0)} kpps ${r.mode.padEnd(18)} CPU ${(r.cpu * 100).toFixed(1)} % of a core, loss ${(r.loss * 100).toFixed(1)} %`);
        }
      }
    }
    raw['cpu'] = cpu;

    log('QUIC over the lab: throughput per write size, echo latency idle and under load');
    const quicOpts = { sizes: [1024, 4096, 16384, 65536], bytesPerSize: (q ? 4 : 64) * 2 ** 20, rounds: q ? 200 : 2000, maxPhaseMs: q ? 3000 : 20_000, certDir };
    const quic: QuicResult[] = [];
    for (const datapath of ['dgram', 'xdp'] as const) {
      clearLeftoverXdp(lab);
      const r = await measureQuic(lab, datapath, quicOpts);
      quic.push(r);
      if (r.unavailable) log(`  ${datapath}: not available: ${r.unavailable}`);
      else log(`  ${datapath}: ${r.throughput.map((t) => `${t.messageBytes} B ${t.gbps.toFixed(3)} Gbit/s${t.intact ? '' : ' (RECEIPT MISMATCH)'}`).join(', ')}`);
    }
    raw['quic'] = quic;

    log('XDP early drop and per-packet program cost');
    const drop = await attempt('early drop', log, () => measureEarlyDrop(lab, floodSeconds));
    raw['earlyDrop'] = drop;
    const cost = await attempt('program cost', log, () => measureProgramCost(q ? 20_000 : 200_000));
    raw['programCost'] = cost;
    const ceiling = await attempt('in-memory ceiling', log, () => inMemoryGbps((q ? 32 : 256) * 2 ** 20));
    raw['inMemoryGbps'] = ceiling;

    const tables = buildTables({ rx, cpu, quic, drop: failed(drop) ? null : drop, cost: failed(cost) ? null : cost, ceiling: failed(ceiling) ? null : ceiling, ceilingError: failed(ceiling) ? ceiling.error : undefined });
    return { environment: env, quick: q, durationSeconds: (performance.now() - started) / 1000, tables, raw };
  } finally {
    await lab.destroy();
    rmSync(certDir, { recursive: true, force: true });
  }
}

interface Measured { rx: RxSample[]; cpu: RxSample[]; quic: QuicResult[]; drop: DropSample[] | null; cost: CostSample[] | null; ceiling: number | null; ceilingError: string | undefined }

/**
 * The CPU rows' label. Each receiver had its own run of the paced sender, so the loads
 * differ a little; past 5 % both are shown, as the CPU figures are not for one load.
 */
export function offeredLabel(kernelPps: number | undefined, ebpfPps: number | undefined): string {
  const kpps = (pps: number) => (pps / 1e3).toFixed(0);
  if (kernelPps === undefined || ebpfPps === undefined) return `offered ≈ ${kpps(kernelPps ?? ebpfPps ?? 0)} kpps`;
  const spread = Math.abs(kernelPps - ebpfPps) / Math.max(kernelPps, ebpfPps, 1);
  return spread > 0.05 ? `offered ${kpps(kernelPps)} / ${kpps(ebpfPps)} kpps` : `offered ≈ ${kpps((kernelPps + ebpfPps) / 2)} kpps`;
}

function buildTables(m: Measured): BenchTable[] {
  const rxOf = (payload: number, receiver: string) => m.rx.find((r) => r.payload === payload && r.receiver === receiver);
  const xsk = m.rx.find((r) => r.receiver === 'xsk');
  const rxModes: Record<string, string> = { sender: 'tools/pktgen udp6_flood (sendmmsg) pinned to CPU 0 in the peer namespace; receivers pinned to CPU 1', interface: 'veth (one queue)' };
  if (xsk) rxModes['eBPF path'] = `${xsk.xdpMode} → ${xsk.mode} (zero-copy does not exist on veth)`;
  const tables: BenchTable[] = [{
    id: 'packet-rate', title: 'Packet rate received', unit: 'Mpps', higherIsBetter: true, columns: [KERNEL, EBPF],
    rows: [64, 256].flatMap((p) => [
      { label: `${p} B received`, values: [rxOf(p, 'dgram'), rxOf(p, 'xsk')].map((r) => (r ? r.rxPps / 1e6 : null)) },
      { label: `${p} B loss %`, values: [rxOf(p, 'dgram'), rxOf(p, 'xsk')].map((r) => (r ? r.loss * 100 : null)), compared: false },
    ]),
    modes: rxModes,
    notes: ['Loss % rows: lower is better (the ratio column is for the received rows). Sender rate per run is in the JSON.'],
  }];

  const [dgram, xdp] = [m.quic.find((r) => r.datapath === 'dgram'), m.quic.find((r) => r.datapath === 'xdp')];
  const quicNote = xdp?.unavailable ? [`eBPF path not measured: ${xdp.unavailable}`] : [];
  const quicModes = (r: QuicResult | undefined) => {
    const s = r?.clientStatus as { datapath?: string; xdpMode?: string; afXdpMode?: string } | undefined;
    return s ? `${s.datapath}${s.xdpMode ? `, ${s.xdpMode} XDP` : ''}${s.afXdpMode ? `, ${s.afXdpMode} AF_XDP` : ''}` : 'not run';
  };
  const gbps = (r: QuicResult | undefined, size: number) => r?.throughput.find((t) => t.messageBytes === size && t.intact)?.gbps ?? null;
  tables.push({
    id: 'quic-throughput', title: 'QUIC throughput, one stream (stoq connect → stoq serve)', unit: 'Gbit/s', higherIsBetter: true, columns: [KERNEL, EBPF],
    rows: [1024, 4096, 16384, 65536].map((size) => ({ label: `${size} B writes`, values: [gbps(dgram, size), gbps(xdp, size)] })),
    modes: { 'kernel path': quicModes(dgram), 'eBPF path': quicModes(xdp), interface: 'veth lab, both ends in Node' },
    notes: ['Each value is bytes acknowledged by the server\'s sha256 receipt over the wall time, TLS 1.3 included.', ...quicNote],
  });
  const lat = (r: QuicResult | undefined, key: 'idleUs' | 'loadedUs', p: number) => (r?.latency ? pct(r.latency[key], p) : null);
  tables.push({
    id: 'latency', title: 'Request/response latency, 64 B echo on one stream', unit: 'µs', higherIsBetter: false, columns: [KERNEL, EBPF],
    rows: (['idleUs', 'loadedUs'] as const).flatMap((key) => [50, 95, 99].map((p) => ({ label: `${key === 'idleUs' ? 'idle' : 'under load'} p${p}`, values: [lat(dgram, key, p), lat(xdp, key, p)] }))),
    modes: { 'kernel path': quicModes(dgram), 'eBPF path': quicModes(xdp), load: dgram?.latency ? `a second connection streaming 64 KiB writes (${dgram.latency.loadGbps.toFixed(2)} Gbit/s on the kernel path)` : 'n/a' },
    notes: ['Each phase is bounded in time as well as rounds: sample counts are in the JSON.', ...quicNote],
  });
  const cpuOf = (i: number, receiver: string) => m.cpu.filter((r) => r.receiver === receiver)[i];
  tables.push({
    id: 'cpu', title: 'Receiver CPU at three offered loads (64 B)', unit: '% of one core', higherIsBetter: false, columns: [KERNEL, EBPF],
    rows: [0, 1, 2].map((i) => {
      const [d, x] = [cpuOf(i, 'dgram'), cpuOf(i, 'xsk')];
      return { label: offeredLabel(d?.sentPps, x?.sentPps), values: [d ? d.cpu * 100 : null, x ? x.cpu * 100 : null] };
    }),
    modes: rxModes,
    notes: ['CPU of the receiving Node process (user + system) while packets flowed; softirq work the kernel does on the sender\'s CPU for veth is not in it.', 'Loads are paced as bursts with 50 ms pauses, scaled to what the sender reached in the packet-rate table; each path gets its own run, so a label shows both loads (kernel / eBPF) when they differ by more than 5 %.'],
  });
  if (m.drop) {
    const [k, x] = [m.drop.find((d) => d.path === 'kernel'), m.drop.find((d) => d.path === 'xdp')];
    tables.push({
      id: 'early-drop', title: 'Discarding an IPv4 UDP flood (1200 B, to the QUIC port)', unit: 'Mpps', higherIsBetter: true, columns: ['kernel stack (no listener)', 'stoq_xdp at the driver'],
      rows: [{ label: 'sent', values: [k ? k.sentPps / 1e6 : null, x ? x.sentPps / 1e6 : null], compared: false }, { label: 'discarded', values: [k ? k.discardPps / 1e6 : null, x ? x.discardPps / 1e6 : null] }],
      modes: { xdp: `${x?.xdpMode ?? '?'} XDP, counted by stoq_stats.ipv4_dropped`, kernel: 'counted by Udp NoPorts', sender: 'node:dgram flood (the demo\'s), one process on CPU 0' },
      notes: ['The Node sender is the limit here, not the drop path: the per-packet cost table gives the program\'s own ceiling (1000 / ns per packet = Mpps per core).'],
    });
  }
  if (m.cost) {
    tables.push({
      id: 'program-cost', title: 'stoq_xdp per-packet cost (BPF_PROG_TEST_RUN, median of 3)', unit: 'ns/packet', higherIsBetter: false, columns: ['stoq_xdp'],
      rows: m.cost.map((c) => ({ label: `${c.name} → ${c.verdict ?? '?'}`, values: [c.ns] })),
      modes: { measured: 'by the kernel, in this process, JIT as configured' },
    });
  }
  const best = Math.max(0, ...(dgram?.throughput ?? []).filter((t) => t.intact).map((t) => t.gbps));
  tables.push({
    id: 'ceiling', title: 'Throughput ceilings, one stream', unit: 'Gbit/s', higherIsBetter: true, columns: ['measured'],
    rows: [{ label: 'quiche in memory (no sockets)', values: [m.ceiling] }, { label: 'best over the lab (kernel path)', values: [best || null] }],
    modes: {},
    ...(m.ceilingError ? { notes: [`in-memory ceiling not measured: ${m.ceilingError}`] } : {}),
  });
  return tables;
}
