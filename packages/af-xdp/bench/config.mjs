// SPDX-License-Identifier: Apache-2.0
// The bench's settings (BENCH_* environment variables) and the paths of its tools.
import { fileURLToPath } from 'node:url';

export const PAYLOADS = (process.env.BENCH_PAYLOADS ?? '64,256').split(',').map(Number);
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
export const COUNT = Number(process.env.BENCH_COUNT ?? 20_000_000);
export const PORT = 9292;
// Drain: AF_XDP queue depth (frames = fill ring = RX ring), dgram queue depth in
// packets, its SO_RCVBUF request (rmem_max is raised to it for the run), cycles.
export const DRAIN_FRAMES = Number(process.env.BENCH_DRAIN_FRAMES ?? 65536);
export const DGRAM_DEPTH = Number(process.env.BENCH_DGRAM_DEPTH ?? 65536);
export const DGRAM_RCVBUF = Number(process.env.BENCH_DGRAM_RCVBUF ?? 256 << 20);
export const DRAIN_CYCLES = Number(process.env.BENCH_DRAIN_CYCLES ?? 24);
// Cycles run first and left out of the figures (printed apart): V8 optimises the
// Node receive loops during them; a long-running receiver is past that point.
export const DRAIN_WARMUP = Number(process.env.BENCH_DRAIN_WARMUP ?? 3);
// AF_XDP fills leave this many frames spare, so a stray packet on the veth (MLD,
// router solicitation) never empties the fill ring.
export const XSK_SPARE = 256;
export const DRAIN_MAX_SECONDS = 120;
// RX batch of the Node AF_XDP receiver (the package's default, 256).
export const XSK_BATCH = Number(process.env.BENCH_XSK_BATCH ?? 256);
// RX batch of the C receiver: the Node one's unless BENCH_C_BATCH says otherwise
// (its batch hardly matters: 64 vs 256 drained 38.5/38.3 vs 40.6/38.8 Mpps in
// sequential runs, 43.8 vs 42.7 in paired ones).
export const C_BATCH = Number(process.env.BENCH_C_BATCH ?? XSK_BATCH);
// BENCH_HUGEPAGES=1: both AF_XDP receivers put their UMEM on transparent huge pages.
export const HUGEPAGES = process.env.BENCH_HUGEPAGES === '1';
// BENCH_LAYOUT=staggered|aligned (default staggered): the frame layout of both AF_XDP
// receivers' UMEMs (Umem.create({ layout }), xsk_count's "stagger"). Staggered is the
// layout for this package's copy-mode receive loop: on the VM's first host it was
// faster for both receivers (64 B, means of full runs: Node ~+15 %, C ~+40 %); on the
// current one Node drains 74-100 Mpps staggered against 63 aligned, and C 75-83 against
// 86 (bench/README.md, "Second host"). Aligned is the kernel's default layout.
export const LAYOUT = process.env.BENCH_LAYOUT ?? 'staggered';
if (LAYOUT !== 'staggered' && LAYOUT !== 'aligned') throw new Error(`BENCH_LAYOUT must be staggered or aligned, got ${LAYOUT}`);
/** xsk_count's trailing UMEM options, matching what the Node receivers get. */
export const UMEM_ARGS = [...(HUGEPAGES ? ['thp'] : []), ...(LAYOUT === 'staggered' ? ['stagger'] : [])];
// Extra node flags for the Node receivers, e.g. --perf-basic-prof for perf.
export const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
// The drain protocol blocks the Node receiver on stdin between drains; V8's memory
// reducer reads that as idleness and starts up to three major GCs in the first
// seconds, whose concurrent marking then shares the receiver's pinned CPU with a
// drain (--trace-gc: "Mark-Compact (reduce)", 330-370 ms of marking; those drains
// ran 2-3x slower with 3-31 involuntary context switches). A receiver busy with
// traffic is not idle, so the drain receivers run without it; BENCH_NODE_ARGS
// comes after and can turn it back on (--memory-reducer).
export const DRAIN_NODE_ARGS = ['--no-memory-reducer', ...NODE_ARGS];
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
export const pktgen = here('../../../tools/pktgen/build/');
export const receiversScript = here('./receivers.mjs');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const median = (sorted) => (sorted[(sorted.length - 1) >> 1] + sorted[sorted.length >> 1]) / 2;

/** ", UMEM 96 MiB on THP" as the receiver observed it (only when huge pages were asked for). */
export const umemPages = (got) => (HUGEPAGES ? `, UMEM ${((got.hugePageBytes ?? 0) / 2 ** 20).toFixed(0)} MiB on THP` : '');
/** A receiver's datapath as observed: "kernel UDP", or the XDP attach mode read from the link and the AF_XDP bind mode the receiver reported. */
export const receiverMode = (name, xdp, got) => (name === 'dgram' ? 'kernel UDP' : `${xdp}, ${got.mode} AF_XDP, ${got.layout} UMEM${umemPages(got)}`);
