// SPDX-License-Identifier: Apache-2.0
// Receive-rate benchmark on the veth lab: the same C sendmmsg flood (tools/pktgen,
// run in the peer namespace, bounded by count and time) against three receivers in
// one run — node:dgram, @stoq/af-xdp in Node, and the minimal C AF_XDP receiver —
// at 64 B and 256 B UDP payloads, measured two ways:
//  - live flood: receivers run while the sender floods (caps at the sender's rate);
//  - drain: each receiver looks away while the sender fills a deep queue (UMEM/RX
//    ring, or SO_RCVBUF), then empties it with no new arrivals: its own capacity.
//    The Node and C AF_XDP receivers drain in alternation, each on a lab of its own
//    (swapped halfway); the Node/C ratio is the geometric mean of the two halves'
//    median per-pair ratios, with a bootstrap interval (stats.mjs).
// Prints Mpps, loss, CPU, the XDP and AF_XDP modes read back, and the ratios the
// package targets. Needs root; build first (pnpm turbo build).
// Modules: config.mjs (settings), children.mjs (receiver processes), live.mjs and
// drain.mjs (the two measurements), stats.mjs (the paired ratio), system.mjs (XDP
// mode, rmem_max); receivers.mjs is the Node receivers' own script.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { withLab } from '@stoq/netlab';
import { C_BATCH, DGRAM_DEPTH, DGRAM_RCVBUF, DRAIN_CYCLES, DRAIN_FRAMES, DRAIN_WARMUP, NODE_ARGS, PAYLOADS, SECONDS, XSK_BATCH, XSK_SPARE, median, pktgen } from './config.mjs';
import { measureDrain, measureDrainPaired } from './drain.mjs';
import { crossover, crossoverInterval, halfMedians, sorted } from './stats.mjs';
import { measureLive } from './live.mjs';
import { raiseRmemMax } from './system.mjs';

if (process.getuid?.() !== 0) {
  console.error('bench: needs root (network namespaces, XDP, AF_XDP)');
  process.exit(1);
}
for (const tool of ['udp6_flood', 'xsk_count']) {
  if (!existsSync(pktgen + tool)) {
    console.error(`bench: ${pktgen + tool} missing; run: pnpm --filter @stoq/pktgen build`);
    process.exit(1);
  }
}

/**
 * "loss 0.12%", or "loss 0.00%, 2 extra" when more arrived than the sender sent: the
 * AF_XDP receivers get the whole queue, the fresh veth's own ICMPv6 (MLD, RS) too.
 */
function lossText(sent, received, digits) {
  const extra = received - sent;
  return extra > 0 ? `loss ${(0).toFixed(digits)}%, ${extra} extra` : `loss ${((1 - received / sent) * 100).toFixed(digits)}%`;
}

const ALL_NAMES = ['dgram', 'af-xdp (node)', 'C AF_XDP'];
// BENCH_RECEIVERS=node,c (any of dgram, node, c) and BENCH_METHODS=drain (live, drain)
// narrow a run for experiments; ratios print only where both sides ran.
const RECEIVER_KEYS = { dgram: 'dgram', node: 'af-xdp (node)', c: 'C AF_XDP' };
const NAMES = (process.env.BENCH_RECEIVERS ?? 'dgram,node,c').split(',').map((k) => {
  if (!RECEIVER_KEYS[k]) throw new Error(`BENCH_RECEIVERS: unknown receiver ${k} (dgram, node, c)`);
  return RECEIVER_KEYS[k];
});
const METHODS = new Set((process.env.BENCH_METHODS ?? 'live,drain').split(','));
const results = [];
const drains = [];
console.log(`load average before: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
const restoreRmem = raiseRmemMax(DGRAM_RCVBUF);
try {
  await withLab({ hostSide: true, staticNeighbours: true }, async (lab) => {
    const { stdout } = await lab.exec(lab.a, 'ethtool', ['-i', lab.a.ifname]);
    console.log(`lab veth ${lab.a.ifname} (driver ${/driver: (\S+)/.exec(stdout)?.[1]}), 1 queue, sender pinned to CPU 0, receivers to CPU 1; the Node AF_XDP receiver uses the package's standalone redirect program (bpf_link), the C one libxdp's default program; Node RX batch ${XSK_BATCH}, C RX batch ${C_BATCH}${NODE_ARGS.length ? `; node ${NODE_ARGS.join(' ')}` : ''}`);
    if (METHODS.has('live')) console.log(`\nlive flood (${SECONDS} s from the peer namespace):`);
    for (const payload of METHODS.has('live') ? PAYLOADS : []) {
      for (const name of NAMES) {
        const r = await measureLive(lab, name, payload);
        results.push(r);
        console.log(
          `${String(payload).padStart(4)} B  ${name.padEnd(14)} ${r.mode.padEnd(27)} sent ${r.sentMpps.toFixed(3)} Mpps  received ${r.rxMpps.toFixed(3)} Mpps  ${lossText(r.sent, r.received, 1)}  cpu ${(r.cpu * 100).toFixed(0)}% (${r.cpuNsPerPacket.toFixed(0)} ns/packet in the receiver process)`,
        );
      }
    }
    if (METHODS.has('drain')) console.log(
      `\ndrain (${DRAIN_CYCLES} cycles after ${DRAIN_WARMUP} warm-up: the sender queues ${DRAIN_FRAMES - XSK_SPARE} packets into ${DRAIN_FRAMES} AF_XDP frames / ${DGRAM_DEPTH} into the dgram socket, then the receiver empties the queue with no new arrivals):`,
    );
    // Node and C AF_XDP drain in alternation when both run, each on a lab of its own
    // (the second lab; they swap labs halfway, see measureDrainPaired).
    const paired = NAMES.includes('af-xdp (node)') && NAMES.includes('C AF_XDP');
    // Order: every AF_XDP drain (all payloads) before any dgram drain. Right after the
    // dgram receiver's 52-80 MiB socket queue the next receivers ran slower, Node more
    // than C: Node/C 88-89 % with the dgram drain first, 92-93 % with it last (three
    // alternating pairs of runs, 64 B); the cause was not pinned down.
    const runDrains = async (pairLab) => {
      const printDrain = (r) => {
        drains.push(r);
        const dgramInfo = r.receiver === 'dgram' ? `, rcvbuf ${r.rcvbuf} B, max queued ${(r.queueBytes / 2 ** 20).toFixed(1)} MiB` : '';
        console.log(
          `${String(r.payload).padStart(4)} B  ${r.receiver.padEnd(14)} ${r.mode.padEnd(27)} drained ${r.received}/${r.sent} (${lossText(r.sent, r.received, 2)}, min depth ${r.depth}${dgramInfo})  ` +
            `${r.wallMpps.toFixed(3)} Mpps wall (cycles ${r.cycleMpps.map((x) => x.toFixed(2)).join('–')})  ${r.cpuMpps.toFixed(3)} Mpps per CPU-second (${r.cpuNsPerPacket.toFixed(0)} ns/packet)  ${r.drops}` +
            `  warm-up ${r.warmupMpps.map((x) => x.toFixed(2)).join(', ')} Mpps wall` +
            (r.wakeupUs !== undefined ? `  wake-up before the clock starts: median ${r.wakeupUs.toFixed(0)} µs` : '') +
            (r.incomplete ? `  [${r.incomplete} cycle(s) ended idle short of the expected count]` : ''),
        );
      };
      const xdpNames = NAMES.filter((n) => n !== 'dgram');
      for (const payload of PAYLOADS) {
        if (paired) for (const r of await measureDrainPaired([lab, pairLab], payload)) printDrain(r);
        else for (const name of xdpNames) printDrain(await measureDrain(lab, name, payload));
      }
      if (NAMES.includes('dgram')) for (const payload of PAYLOADS) printDrain(await measureDrain(lab, 'dgram', payload));
    };
    if (METHODS.has('drain') && paired) await withLab({ hostSide: true, staticNeighbours: true }, runDrains);
    else if (METHODS.has('drain')) await runDrains(null);
  });
} finally {
  restoreRmem();
}
console.log(`load average after: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);

const pick = (list, payload, n) => list.find((r) => r.payload === payload && r.receiver === n);
const fmt = (x, digits, unit) => (Number.isFinite(x) ? `${x.toFixed(digits)}${unit}` : 'n/a');
console.log('\nratios, live flood (receive rate, same run):');
for (const payload of METHODS.has('live') ? PAYLOADS : []) {
  const [dg, node, c] = ALL_NAMES.map((n) => pick(results, payload, n) ?? { rxMpps: NaN, cpuNsPerPacket: NaN, loss: 1 });
  const limited = [node, c].every((r) => r.loss < 0.05) ? '  (sender-limited: both AF_XDP receivers kept up with the flood)' : '';
  console.log(
    `${String(payload).padStart(4)} B  af-xdp(node)/dgram = ${fmt(node.rxMpps / dg.rxMpps, 2, 'x')}   af-xdp(node)/C = ${fmt((node.rxMpps / c.rxMpps) * 100, 0, '%')}` +
      `   receiver CPU per packet node/C = ${fmt(node.cpuNsPerPacket / c.cpuNsPerPacket, 1, 'x')}${limited}`,
  );
}
console.log('ratios, drain (receiver capacity, same run; targets: ≥ 4x dgram, ≥ 90% of C at 64 B):');
for (const payload of METHODS.has('drain') ? PAYLOADS : []) {
  const [dg, node, c] = ALL_NAMES.map((n) => pick(drains, payload, n) ?? { wallMpps: NaN, cpuMpps: NaN });
  console.log(
    `${String(payload).padStart(4)} B  wall: af-xdp(node)/dgram = ${fmt(node.wallMpps / dg.wallMpps, 2, 'x')}  af-xdp(node)/C = ${fmt((node.wallMpps / c.wallMpps) * 100, 0, '%')}` +
      `   per CPU-second: af-xdp(node)/dgram = ${fmt(node.cpuMpps / dg.cpuMpps, 2, 'x')}  af-xdp(node)/C = ${fmt((node.cpuMpps / c.cpuMpps) * 100, 0, '%')}`,
  );
  // Interleaved pairs: drain k of Node against drain k of C, seconds apart.
  const ratios = node.cyclesCpuMpps && c.cyclesCpuMpps ? node.cyclesCpuMpps.map((x, k) => x / c.cyclesCpuMpps[k]) : [];
  if (ratios.length) {
    const pairs = sorted(ratios);
    const spread = `middle half ${fmt(pairs[Math.floor((pairs.length - 1) / 4)] * 100, 0, '%')}–${fmt(pairs[Math.ceil(((pairs.length - 1) * 3) / 4)] * 100, 0, '%')}, range ${fmt(pairs[0] * 100, 0, '%')}–${fmt(pairs.at(-1) * 100, 0, '%')}`;
    const [first] = node.pairHalves ?? [];
    if (first && first < ratios.length) {
      // Crossover: the halves swap labs, so the geometric mean of their medians cancels
      // whatever the lab (or start order) does to either receiver.
      const halves = halfMedians(ratios, first);
      const [low, high] = crossoverInterval(ratios, first);
      console.log(
        `${String(payload).padStart(4)} B  interleaved pairs (per CPU-second): af-xdp(node)/C = ${fmt(crossover(ratios, first) * 100, 0, '%')} ` +
          `(95 % bootstrap interval over this run's pairs ${fmt(low * 100, 0, '%')}–${fmt(high * 100, 0, '%')}; ` +
          `crossover of the half medians: Node on the first lab ${fmt(halves[0] * 100, 0, '%')}, on the second ${fmt(halves[1] * 100, 0, '%')}; ` +
          `all ${pairs.length} pairs: median ${fmt(median(pairs) * 100, 0, '%')}, ${spread})`,
      );
    } else {
      console.log(`${String(payload).padStart(4)} B  interleaved pairs (per CPU-second): af-xdp(node)/C median ${fmt(median(pairs) * 100, 0, '%')}, ${spread} over ${pairs.length} pairs`);
    }
  }
}
if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify({ live: results, drain: drains }, null, 2));
