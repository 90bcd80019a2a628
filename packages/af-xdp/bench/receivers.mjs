// SPDX-License-Identifier: Apache-2.0
// Benchmark receivers run as child processes (so each one's CPU time is its own).
//
// Live flood: counts packets until 1 s passes without one (or maxSeconds), then
// prints one JSON line.
//   node receivers.mjs dgram <address> <port> <maxSeconds>
//   node receivers.mjs xsk <ifname> <queue> <maxSeconds> [batchSize=256]
//
// Drain (receiver capacity, whatever the sender manages): the receiver consumes
// nothing until told, so the sender can fill its queue; then it empties that queue
// with no new arrivals and reports packets, wall and CPU time. Protocol: "ready" on
// stdout, then per line "drain <sent>" on stdin one JSON line back; "quit" or EOF
// ends with a final JSON line. Waiting on stdin is synchronous on purpose: the event
// loop must not run, or libuv would read the dgram socket while it fills.
//   node receivers.mjs dgram-drain <address> <port> <maxSeconds> <rcvbufBytes>
//   node receivers.mjs xsk-drain <ifname> <queue> <maxSeconds> <frames> [batchSize=256]
//
// All receivers touch one byte per packet, like the C receiver (tools/pktgen).
// BENCH_HUGEPAGES=1 puts the AF_XDP UMEM on transparent huge pages (the C receiver
// gets "thp" from run.mjs); the final JSON says how much the kernel backed.
// BENCH_LAYOUT (default staggered) sets the UMEM's frame layout (C: "stagger").
import dgram from 'node:dgram';
import { readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { HUGEPAGES as hugePages, LAYOUT as layout } from './config.mjs';

const [kind, where, portOrQueue, maxSeconds, size, batchArg] = process.argv.slice(2);
const IDLE_MS = 1000;
let packets = 0;
let bytes = 0;
let touched = 0;
let first = 0;
let last = 0;
let cpuAtFirst = null;
let extra = {};
const started = performance.now();

function firstPacket() {
  first = performance.now();
  cpuAtFirst = process.cpuUsage();
}

function finish(close) {
  const cpu = process.cpuUsage(cpuAtFirst ?? undefined);
  close();
  const activeSeconds = packets ? (last - first) / 1000 : 0;
  console.log(JSON.stringify({ packets, bytes, activeSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, touched, ...extra }));
  process.exit(0);
}

function watchIdle(close) {
  const timer = setInterval(() => {
    const now = performance.now();
    if ((packets && now - last > IDLE_MS) || now - started > Number(maxSeconds) * 1000) {
      clearInterval(timer);
      finish(close);
    }
  }, 50);
}

const ctxSwitches = () => { const t = readFileSync('/proc/thread-self/status', 'utf8'); return [/^voluntary_ctxt_switches:\s+(\d+)/m, /^nonvoluntary_ctxt_switches:\s+(\d+)/m].map((r) => Number(r.exec(t)[1])); };
const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the whole process until a line arrives on stdin; null at EOF or past maxSeconds. */
function readLineSync() {
  const byte = Buffer.alloc(1);
  let line = '';
  for (;;) {
    if (performance.now() - started > Number(maxSeconds) * 1000) return null;
    let n;
    try {
      n = readSync(0, byte, 0, 1, null);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
      Atomics.wait(sleeper, 0, 0, 1);
      continue;
    }
    if (n === 0) return null;
    if (byte[0] === 10) return line;
    line += String.fromCharCode(byte[0]);
  }
}

/** Reads the next "drain <sent>" (returns sent) or ends the run (null). */
function nextDrain() {
  const line = readLineSync();
  const match = /^drain (\d+)$/.exec(line ?? '');
  return match ? Number(match[1]) : null;
}

const cpuSecondsSince = (start) => {
  const cpu = process.cpuUsage(start);
  return (cpu.user + cpu.system) / 1e6;
};

/** This process's UDP socket on `port` in /proc/self/net/udp6: queued bytes and drops. */
function udpQueue(port) {
  const inodes = new Set();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {}
  }
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const row of readFileSync('/proc/self/net/udp6', 'utf8').trim().split('\n').slice(1)) {
    const f = row.trim().split(/\s+/);
    if (f[1].endsWith(`:${portHex}`) && inodes.has(f[9])) {
      return { rxQueueBytes: parseInt(f[4].split(':')[1], 16), drops: Number(f[12]) };
    }
  }
  throw new Error(`no UDP socket of this process on port ${port} in /proc/self/net/udp6`);
}

// Batches per drainBatches() call. One unbounded loop per drain (about 1,000 batches)
// gets compiled on-stack (OSR) before its exit has ever run; on Node 20 that code then
// deoptimised at the exit on every drain and the next drain began in the interpreter
// again (--trace-deopt: "Insufficient type feedback for binary operation"; cycles of
// 2-30 ms among cycles of 1.5 ms). A bounded call returns often enough to be compiled
// as a whole function, with feedback for every line of it.
const BATCHES_PER_CALL = 16;
// Sums in locals, stored once per call: module-level lets cost a load, hole check and store per packet.
const sums = new Float64Array(2); // touched, bytes

/** Takes up to BATCHES_PER_CALL batches; returns how many packets. */
function drainBatches(socket, umemBytes, holding) {
  let n = 0;
  let sum = 0;
  let size = 0;
  for (let k = 0; k < BATCHES_PER_CALL; k++) {
    // One call into native code per batch: the next receive also releases this batch.
    const batch = holding || k > 0 ? socket.releaseAndReceive() : socket.receive();
    const count = batch.count;
    if (count === 0) break;
    const { offsets, lengths } = batch;
    for (let i = 0; i < count; i++) {
      sum += umemBytes[offsets[i]];
      size += lengths[i];
    }
    n += count;
  }
  sums[0] += sum;
  sums[1] += size;
  return n;
}

/** Takes every packet the RX ring holds; returns how many. */
function drainRing(socket, umemBytes) {
  let n = 0;
  for (let k = drainBatches(socket, umemBytes, false); k > 0; k = drainBatches(socket, umemBytes, true)) n += k;
  touched += sums[0];
  bytes += sums[1];
  sums.fill(0);
  return n;
}

if (kind === 'dgram') {
  const socket = dgram.createSocket({ type: 'udp6', ipv6Only: true, recvBufferSize: 8 << 20 });
  socket.on('message', (msg) => {
    if (!packets) firstPacket();
    packets++;
    bytes += msg.length;
    touched += msg[0];
    last = performance.now();
  });
  socket.bind(Number(portOrQueue), where, () => {
    console.log('ready');
    watchIdle(() => socket.close());
  });
} else if (kind === 'xsk') {
  const { XskSocket } = await import(new URL('../dist/index.js', import.meta.url).href);
  const { Umem } = await import(new URL('../dist/index.js', import.meta.url).href);
  const umem = Umem.create({ hugePages, layout });
  const socket = XskSocket.open({ ifname: where, queueId: Number(portOrQueue), mode: 'auto', batchSize: Number(size ?? 256), umem });
  const umemBytes = socket.umem.bytes;
  socket.on('readable', () => {
    if (!packets) firstPacket();
    packets += drainRing(socket, umemBytes);
    last = performance.now();
  });
  console.log('ready');
  watchIdle(() => {
    const stats = socket.statistics();
    extra = { mode: stats.mode, layout: umem.layout, hugePageBytes: umem.hugePageBytes, rxDropped: stats.kernel.rxDropped, rxRingFull: stats.kernel.rxRingFull, rxFillRingEmpty: stats.kernel.rxFillRingEmptyDescs };
    socket.close();
  });
} else if (kind === 'dgram-drain') {
  const port = Number(portOrQueue);
  const socket = dgram.createSocket({ type: 'udp6', ipv6Only: true, recvBufferSize: Number(size) });
  let cycle = null;
  let idleTimer = null;
  const endCycle = (complete) => {
    clearInterval(idleTimer);
    // An idle end (fewer packets than expected) stops the clock at the last packet.
    const started = cycle.t1 ?? last;
    const seconds = ((complete ? performance.now() : last) - started) / 1000;
    const cpuSeconds = cycle.cpu1 ? cpuSecondsSince(cycle.cpu1) : 0;
    const wakeupSeconds = (started - cycle.t0) / 1000;
    console.log(JSON.stringify({ queued: cycle.expected, packets: cycle.packets, seconds, cpuSeconds, wakeupSeconds, complete, rxQueueBytes: cycle.rxQueueBytes, socketDrops: cycle.drops }));
    startCycle();
  };
  const startCycle = () => {
    const sent = nextDrain();
    if (sent === null) {
      const q = udpQueue(port);
      console.log(JSON.stringify({ packets, bytes, touched, socketDrops: q.drops, rcvbuf: socket.getRecvBufferSize() }));
      socket.close();
      process.exit(0);
    }
    const q = udpQueue(port);
    const dropsBefore = cycle?.dropsTotal ?? 0;
    // What the socket holds now = sent minus what the kernel dropped at this socket.
    cycle = { expected: sent - (q.drops - dropsBefore), drops: q.drops - dropsBefore, dropsTotal: q.drops, rxQueueBytes: q.rxQueueBytes, packets: 0 };
    cycle.t0 = last = performance.now();
    idleTimer = setInterval(() => performance.now() - last > 200 && endCycle(false), 20);
  };
  socket.on('message', (msg) => {
    // The clock starts at the first message, as the C receiver's starts at its loop:
    // the wake-up before it is reported apart (wakeupSeconds).
    if (cycle.packets === 0) {
      process.cpuUsage(); // cold after the idle wait: warm it outside the window (see xsk-drain)
      cycle.t1 = performance.now();
      cycle.cpu1 = process.cpuUsage();
    }
    packets++;
    cycle.packets++;
    bytes += msg.length;
    touched += msg[0];
    last = performance.now();
    if (cycle.packets === cycle.expected) endCycle(true);
  });
  socket.bind(port, where, () => {
    console.log('ready');
    startCycle();
  });
} else if (kind === 'xsk-drain') {
  const { XskSocket, Umem } = await import(new URL('../dist/index.js', import.meta.url).href);
  const frames = Number(size);
  // Every frame lent to the fill ring and an RX ring as deep, so the kernel can queue
  // `frames` packets while we look away; 2048-byte frames keep the UMEM small.
  const umem = Umem.create({ frameCount: frames + 64, frameSize: 2048, fillSize: frames, compSize: 64, hugePages, layout });
  const socket = XskSocket.open({ ifname: where, queueId: Number(portOrQueue), mode: 'auto', umem, rxSize: frames, txSize: 64, rxFrames: frames, batchSize: Number(batchArg ?? 256) });
  const umemBytes = umem.bytes;
  let cycle = null;
  const { PerformanceObserver } = await import('node:perf_hooks');
  const gcLog = [];
  new PerformanceObserver((list) => { for (const e of list.getEntries()) gcLog.push({ kind: e.detail?.kind, start: e.startTime, end: e.startTime + e.duration, duration: e.duration }); }).observe({ entryTypes: ['gc'] });
  // The queue is static during a drain, so the first empty receive means it is done.
  // The clock starts when 'readable' fires, as the C receiver's starts at its loop.
  // The wake-up before it (from the drain request to the first 'readable': listener,
  // uv_poll start, one event-loop turn) is reported apart as wakeupSeconds: after
  // ~0.3 s asleep it took 0.14-0.56 ms, 9-25 % of a 65,280-packet drain (cold code), and
  // it is a per-wake-up latency that a receiver under sustained load does not pay.
  // The harness's own work comes before the clocks start, and process.cpuUsage() runs
  // twice: after the other receiver's drain its first call is cold (14-22 µs between
  // the two clock reads, then clearTimeout 5-9 µs: over 1 % of a drain, counted against
  // Node), while the C receiver's clock reads are one syscall each.
  const onReadable = () => {
    clearTimeout(cycle.timer);
    process.cpuUsage();
    const t1 = performance.now();
    const cpu1 = process.cpuUsage();
    const n = drainRing(socket, umemBytes);
    cycle.packets += n;
    const seconds = (performance.now() - t1) / 1000;
    const cpuSeconds = cpuSecondsSince(cpu1);
    const wakeupSeconds = (t1 - cycle.t0) / 1000;
    socket.off('readable', onReadable);
    packets += cycle.packets;
    console.log(JSON.stringify({ packets: cycle.packets, seconds, cpuSeconds, wakeupSeconds, csw: ctxSwitches().map((x, k) => x - cycle.csw[k]), gcs: gcLog.filter((g) => g.end > cycle.t0).map((g) => [g.kind, +(g.start - cycle.t0).toFixed(3), +g.duration.toFixed(3)]) }));
    startCycle();
  };
  const startCycle = () => {
    const sent = nextDrain();
    if (sent === null) {
      const s = socket.statistics();
      console.log(JSON.stringify({ packets, bytes, touched, mode: s.mode, layout: umem.layout, hugePageBytes: umem.hugePageBytes, rxDropped: s.kernel.rxDropped, rxRingFull: s.kernel.rxRingFull, rxFillRingEmpty: s.kernel.rxFillRingEmptyDescs, wakeups: s.socket.wakeups, rxBatches: s.socket.rxBatches }));
      socket.close();
      umem.destroy();
      process.exit(0);
    }
    cycle = { packets: 0, csw: ctxSwitches(), t0: performance.now() };
    // Through 'readable' (uv_poll), the path an application uses; an empty ring
    // never becomes readable, so report zero after a second.
    socket.on('readable', onReadable);
    cycle.timer = setTimeout(onReadable, 1000);
  };
  console.log('ready');
  startCycle();
} else {
  console.error(`unknown receiver ${kind}`);
  process.exit(2);
}
