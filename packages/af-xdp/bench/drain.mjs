// SPDX-License-Identifier: Apache-2.0
// Drain: a receiver looks away while udp6_flood fills its queue, then empties it;
// one receiver at a time, or the Node and C AF_XDP receivers as interleaved pairs.
import { startDrainReceiver } from './children.mjs';
import { C_BATCH, DGRAM_DEPTH, DGRAM_RCVBUF, DRAIN_CYCLES, DRAIN_FRAMES, DRAIN_MAX_SECONDS, DRAIN_NODE_ARGS, DRAIN_WARMUP, PORT, UMEM_ARGS, XSK_BATCH, XSK_SPARE, median, pktgen, receiverMode, receiversScript, sleep } from './config.mjs';
import { xdpMode } from './system.mjs';

/** Starts one drain receiver on `lab` and waits until it is ready. */
async function openDrainReceiver(lab, name) {
  const max = String(DRAIN_MAX_SECONDS);
  const receivers = {
    dgram: [process.execPath, [...DRAIN_NODE_ARGS, receiversScript, 'dgram-drain', lab.a.address, String(PORT), max, String(DGRAM_RCVBUF)], DGRAM_DEPTH],
    'af-xdp (node)': [process.execPath, [...DRAIN_NODE_ARGS, receiversScript, 'xsk-drain', lab.a.ifname, '0', max, String(DRAIN_FRAMES), String(XSK_BATCH)], DRAIN_FRAMES - XSK_SPARE],
    'C AF_XDP': [pktgen + 'xsk_count', [lab.a.ifname, '0', max, '1', 'drain', String(DRAIN_FRAMES), `batch=${C_BATCH}`, ...UMEM_ARGS], DRAIN_FRAMES - XSK_SPARE],
  };
  const [cmd, args, depth] = receivers[name];
  const receiver = startDrainReceiver(cmd, args);
  try {
    await receiver.ready;
  } catch (error) {
    receiver.kill();
    throw error;
  }
  const xdp = name === 'dgram' ? 'kernel UDP' : await xdpMode(lab);
  return { name, lab, receiver, depth, xdp, cycles: [], warmup: [], final: null };
}

/** One drain cycle: the sender fills the receiver's queue, then the receiver empties it. */
async function drainOnce(rx, payload, isWarmup) {
  const { lab } = rx;
  const { stdout } = await lab.exec(lab.b, 'taskset', ['-c', '0', pktgen + 'udp6_flood', lab.a.address, String(PORT), String(payload), String(rx.depth), '10'], 20_000);
  const { sent } = JSON.parse(stdout.trim());
  await sleep(150); // the veth's NAPI finishes delivering what the sender queued
  const cycle = { sent, ...(await rx.receiver.request(`drain ${sent}`)) };
  (isWarmup ? rx.warmup : rx.cycles).push(cycle);
  if (process.env.BENCH_DEBUG) console.log(JSON.stringify({ receiver: rx.name, warmup: isWarmup, ...cycle }));
  return cycle;
}

async function closeDrainReceiver(rx) {
  try {
    rx.final = await rx.receiver.request('quit');
    await rx.receiver.exited();
  } finally {
    rx.receiver.kill();
  }
  await sleep(300);
}

function drainSummary(rx, payload) {
  const { name, cycles, warmup, final, xdp } = rx;
  const sum = (k) => cycles.reduce((a, c) => a + (c[k] ?? 0), 0);
  const packets = sum('packets');
  const seconds = sum('seconds');
  const cpuSeconds = sum('cpuSeconds');
  const perCycle = cycles.map((c) => c.packets / c.seconds / 1e6);
  return {
    receiver: name,
    payload,
    mode: receiverMode(name, xdp, final),
    sent: sum('sent'),
    received: packets,
    depth: Math.min(...cycles.map((c) => c.packets)),
    loss: 1 - packets / sum('sent'),
    wallMpps: packets / seconds / 1e6,
    cpuMpps: packets / cpuSeconds / 1e6,
    cpuNsPerPacket: (cpuSeconds * 1e9) / packets,
    cycleMpps: [Math.min(...perCycle), Math.max(...perCycle)],
    cyclesCpuMpps: cycles.map((c) => c.packets / c.cpuSeconds / 1e6),
    // Node receivers: from the drain request to the first 'readable' / message (the clock starts after it).
    wakeupUs: cycles.every((c) => c.wakeupSeconds !== undefined) ? median(cycles.map((c) => c.wakeupSeconds * 1e6).sort((a, b) => a - b)) : undefined,
    incomplete: cycles.filter((c) => c.complete === false).length,
    warmupMpps: warmup.map((c) => c.packets / c.seconds / 1e6),
    warmupLoss: warmup.reduce((a, c) => a + c.sent - c.packets, 0),
    drops: name === 'dgram' ? `whole run: socket drops ${final.socketDrops}` : `whole run: rx_ring_full ${final.rxRingFull}, rx_dropped ${final.rxDropped}, fill_ring_empty ${final.rxFillRingEmpty}`,
    queueBytes: name === 'dgram' ? Math.max(...cycles.map((c) => c.rxQueueBytes)) : undefined,
    rcvbuf: final.rcvbuf,
  };
}

/** All drain cycles of one receiver in a row. */
export async function measureDrain(lab, name, payload) {
  const rx = await openDrainReceiver(lab, name);
  try {
    for (let i = 0; i < DRAIN_WARMUP + DRAIN_CYCLES; i++) await drainOnce(rx, payload, i < DRAIN_WARMUP);
  } finally {
    await closeDrainReceiver(rx);
  }
  return drainSummary(rx, payload);
}

/**
 * Node and C AF_XDP receivers, each on its own lab (one XDP program and one socket
 * per queue), drained in alternation: cycle k runs one then the other, the order
 * flipping every cycle. Both see the same minutes of the host, so slow drift (other
 * tenants, memory bandwidth) cancels in the per-pair ratios that the run reports.
 * Half the cycles run with Node on the first lab (started first), half with the
 * receivers swapped and restarted: the receiver on the first lab, started first, is
 * the slower one (A/A, C against C: medians 0.951 and 0.958 over 40 pairs; Node/C
 * per half in three runs: 0.84/1.01, 0.87/0.95, 0.90/0.99), whatever the cause (the
 * order of the two 128 MiB UMEMs in memory is one candidate). As in a crossover
 * trial, the geometric mean of the two halves' medians cancels that position effect.
 */
export async function measureDrainPaired(labs, payload) {
  const node = [];
  const c = [];
  for (const [half, names] of [['af-xdp (node)', 'C AF_XDP'], ['C AF_XDP', 'af-xdp (node)']].entries()) {
    const cycles = half === 0 ? Math.ceil(DRAIN_CYCLES / 2) : Math.floor(DRAIN_CYCLES / 2);
    const pair = [];
    try {
      for (const [k, name] of names.entries()) pair.push(await openDrainReceiver(labs[k], name));
      for (let i = 0; i < DRAIN_WARMUP + cycles; i++) {
        const order = i % 2 === 0 ? pair : [...pair].reverse();
        for (const rx of order) await drainOnce(rx, payload, i < DRAIN_WARMUP);
      }
    } catch (error) {
      for (const rx of pair) await closeDrainReceiver(rx).catch(() => {});
      throw error;
    }
    for (const rx of pair) await closeDrainReceiver(rx);
    for (const rx of pair) (rx.name === 'C AF_XDP' ? c : node).push(rx);
  }
  // Cycles per half, in order: run.mjs reads the two halves apart (crossover).
  const pairHalves = node.map((rx) => rx.cycles.length);
  return [{ ...drainSummary(mergeRuns(node), payload), pairHalves }, { ...drainSummary(mergeRuns(c), payload), pairHalves }];
}

/** One receiver's runs (processes) as one: cycles in order, kernel drop counters summed. */
function mergeRuns(runs) {
  const final = { ...runs[0].final };
  for (const key of ['rxRingFull', 'rxDropped', 'rxFillRingEmpty']) final[key] = runs.reduce((a, r) => a + (r.final[key] ?? 0), 0);
  return { ...runs[0], cycles: runs.flatMap((r) => r.cycles), warmup: runs.flatMap((r) => r.warmup), final };
}
