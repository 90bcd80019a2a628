// SPDX-License-Identifier: Apache-2.0
// Drives fuzz frames through the real program (one BPF_PROG_TEST_RUN each, no
// repeat) and checks every one against the reference classifier; after each batch
// the kernel's counters must have moved exactly as the reference says. Batches
// rotate through configurations, and every batch has its own seed, so any failure
// can be replayed from (seed, batch).
import {
  CLASS_COUNTER_NAMES, COUNTER_NAMES, HOST_ADDR_VALUE, MAP_NAMES, diffStats, encodeHostAddrKey, normalizeConfig, sizeBucketOf, type CounterName, type StoqConfig, type StoqStats,
} from '../../src/index.js';
import { Rng, fuzzFrame } from './fuzz-frames.js';
import type { LoadedStoqProgram, RunOptions } from './kernel.js';
import { NoRefillBuckets, classifyReference } from './reference-classifier.js';

/**
 * What stoq_host_addrs holds in the phases with checkLocalAddrs: the frames' usual
 * destination (fd00:1::1) and ::1; the generator's second destination (fd00:1::5, 1 in
 * 10 frames) plays traffic the host only forwards, and so does any mutated destination.
 * fd00:9::9 is never a destination (an entry that matches nothing).
 */
export const FUZZ_HOST_ADDRS: readonly string[] = ['fd00:1::1', '::1', 'fd00:9::9'];

export interface FuzzPhase {
  name: string;
  config: Partial<StoqConfig>;
  /** stoq_host_addrs' contents for this phase (empty when absent). */
  hostAddrs?: readonly string[];
}

export const FUZZ_PHASES: ReadonlyArray<FuzzPhase> = [
  { name: 'defaults', config: {} },
  { name: 'IPv4 pass, ports 9292/4433/443, no Initial minimum', config: { ipv4Policy: 'pass', quicPorts: [9292, 4433, 443], initialMinSize: 0 } },
  { name: 'redirect off, timestamp metadata, ports 9292/53, Initial minimum 1250', config: { redirect: false, timestampMeta: true, quicPorts: [9292, 53], initialMinSize: 1250 } },
  { name: 'Initial bucket of 3 per /64, no refill', config: { initialRate: 0, initialBurst: 3 } },
  { name: 'max_redirect_payload 600 (longer QUIC goes to the kernel)', config: { maxRedirectPayload: 600 } },
  { name: 'local_addr fd00:1::1 (QUIC to another destination goes to the kernel)', config: { localAddress: 'fd00:1::1' } },
  { name: 'check_local_addrs, host addresses fd00:1::1 ::1 fd00:9::9 (QUIC to any other destination goes to the kernel)', config: { checkLocalAddrs: true }, hostAddrs: FUZZ_HOST_ADDRS },
  { name: 'host addresses filled, check_local_addrs off (the map is not read)', config: {}, hostAddrs: FUZZ_HOST_ADDRS },
  { name: 'check_local_addrs with local_addr fd00:1::5, missing from the map (local_addr decides)', config: { checkLocalAddrs: true, localAddress: 'fd00:1::5' }, hostAddrs: FUZZ_HOST_ADDRS },
];

export interface FuzzFailure {
  seed: number;
  batch: number;
  index: number;
  phase: string;
  problem: string;
  frameHex: string;
}

export interface FuzzReport {
  frames: number;
  batches: number;
  elapsedMs: number;
  framesPerSecond: number;
  byCounter: Record<string, number>;
  failures: FuzzFailure[];
}

const META_CLASSES = new Set<CounterName>(['quic_passed', 'quic_redirected']);
const MAX_FAILURES = 10;

export function batchSeed(seed: number, batch: number): number {
  return (seed ^ Math.imul(batch + 1, 0x9e3779b9)) >>> 0;
}

export interface FuzzOptions {
  seed: number;
  frames: number;
  batchSize?: number;
  deadlineMs?: number;
  /** Tell the reference something the kernel was not told: proves the checks can fail. */
  referenceOverride?: Partial<StoqConfig>;
  /** Test-run context (interface and queue); with an AF_XDP socket there, say so. */
  run?: RunOptions;
  socketOnQueue?: boolean;
}

export function runFuzz(prog: LoadedStoqProgram, opts: FuzzOptions): FuzzReport {
  const batchSize = opts.batchSize ?? 5000;
  const deadline = Date.now() + (opts.deadlineMs ?? 600_000);
  const failures: FuzzFailure[] = [];
  const byCounter: Record<string, number> = {};
  const start = process.hrtime.bigint();
  let frames = 0;
  let batch = 0;
  for (; frames < opts.frames && failures.length < MAX_FAILURES; batch++) {
    if (Date.now() > deadline) throw new Error(`fuzz: deadline passed after ${frames} frames`);
    const n = Math.min(batchSize, opts.frames - frames);
    const phase = FUZZ_PHASES[batch % FUZZ_PHASES.length]!;
    const fail = (index: number, problem: string, frame: Uint8Array) =>
      failures.push({ seed: opts.seed, batch, index, phase: phase.name, problem, frameHex: Buffer.from(frame).toString('hex') });
    const expected = runBatch(prog, phase, batchSeed(opts.seed, batch), n, fail, opts);
    for (const [k, v] of Object.entries(expected.counters)) if (v) byCounter[k] = (byCounter[k] ?? 0) + v;
    const problem = compareStats(expected, expected.actual);
    if (problem) locate(prog, phase, batchSeed(opts.seed, batch), n, problem, fail, opts);
    frames += n;
  }
  const elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
  return { frames, batches: batch, elapsedMs, framesPerSecond: Math.round(frames / (elapsedMs / 1000)), byCounter, failures };
}

type Fail = (index: number, problem: string, frame: Uint8Array) => void;
type Context = Pick<FuzzOptions, 'referenceOverride' | 'run' | 'socketOnQueue'>;

/** Runs one batch from a fresh config and empty buckets; returns what the counters should have done. */
function runBatch(
  prog: LoadedStoqProgram, phase: FuzzPhase, seed: number, n: number, fail: Fail,
  context: Context, perFrame?: (i: number, frame: Buffer, counter: CounterName) => boolean,
): StoqStats & { actual: StoqStats } {
  const cfg = { ...prepare(prog, phase), ...context.referenceOverride };
  const buckets = new NoRefillBuckets(cfg.initialBurst);
  const ctx = {
    socketOnQueue: context.socketOnQueue ?? false, allowInitial: (p: string) => buckets.allow(p), offLoopback: (context.run?.ingressIfindex ?? 1) !== 1,
    hostAddrs: phase.hostAddrs ?? [],
  };
  const runOptions = context.run ?? {};
  const counters = Object.fromEntries(COUNTER_NAMES.map((c) => [c, 0])) as Record<CounterName, number>;
  const sizeHistogram = new Array<number>(8).fill(0);
  const rng = new Rng(seed);
  const before = prog.readStats();
  for (let i = 0; i < n; i++) {
    const frame = fuzzFrame(rng);
    const want = classifyReference(frame, cfg, ctx);
    const got = prog.run(frame, runOptions);
    counters.rx_packets++;
    counters.rx_bytes += frame.length;
    counters[want.counter]++;
    sizeHistogram[sizeBucketOf(frame.length)]!++;
    if (got.retval === 0) fail(i, 'XDP_ABORTED', frame);
    else if (got.retval !== want.verdict) fail(i, `verdict ${got.retval}, reference says ${want.verdict} (${want.counter})`, frame);
    else if (!outputAsExpected(frame, got.data, cfg.timestampMeta && META_CLASSES.has(want.counter))) fail(i, `output frame changed (${got.data.length} bytes back)`, frame);
    if (perFrame && !perFrame(i, frame, want.counter)) return { counters, sizeHistogram, actual: prog.readStats() };
  }
  return { counters, sizeHistogram, actual: diffStats(before, prog.readStats()) };
}

function prepare(prog: LoadedStoqProgram, phase: FuzzPhase): StoqConfig {
  prog.writeConfig(phase.config);
  prog.clearMap(MAP_NAMES.initialBuckets);
  prog.clearMap(MAP_NAMES.hostAddrs);
  for (const address of phase.hostAddrs ?? []) prog.map(MAP_NAMES.hostAddrs).update(encodeHostAddrKey(address), HOST_ADDR_VALUE);
  return normalizeConfig(phase.config);
}

/** The program never rewrites a frame; with timestamp_meta, QUIC frames come back behind 8 bytes of metadata. */
function outputAsExpected(frame: Buffer, out: Buffer, withMeta: boolean): boolean {
  return withMeta ? out.length === frame.length + 8 && out.subarray(8).equals(frame) : out.equals(frame);
}

function compareStats(want: StoqStats, got: StoqStats): string | undefined {
  const moved = CLASS_COUNTER_NAMES.reduce((n, c) => n + got.counters[c], 0);
  if (moved !== got.counters.rx_packets) return `class counters add up to ${moved}, rx_packets is ${got.counters.rx_packets}`;
  for (const c of COUNTER_NAMES) if (got.counters[c] !== want.counters[c]) return `${c}: kernel ${got.counters[c]}, reference ${want.counters[c]}`;
  if (got.sizeHistogram.join() !== want.sizeHistogram.join()) return `size histogram: kernel ${got.sizeHistogram.join()}, reference ${want.sizeHistogram.join()}`;
  return undefined;
}

/** Replays a batch whose counters disagreed, reading the counters after every frame, to name the frame. */
function locate(prog: LoadedStoqProgram, phase: FuzzPhase, seed: number, n: number, problem: string, fail: Fail, context: Context): void {
  let last = prog.readStats();
  let found = false;
  runBatch(prog, phase, seed, n, () => {}, context, (i, frame, counter) => {
    const now = prog.readStats();
    const d = diffStats(last, now);
    last = now;
    const moved = CLASS_COUNTER_NAMES.filter((c) => d.counters[c] !== 0);
    if (d.counters.rx_packets !== 1 || d.counters.rx_bytes !== frame.length || moved.length !== 1 || moved[0] !== counter) {
      fail(i, `counters moved ${JSON.stringify(moved)} (rx_packets +${d.counters.rx_packets}), reference says ${counter}; batch: ${problem}`, frame);
      found = true;
      return false;
    }
    return true;
  });
  if (!found) fail(-1, `batch counters disagreed (${problem}) but no single frame did on replay`, Buffer.alloc(0));
}
