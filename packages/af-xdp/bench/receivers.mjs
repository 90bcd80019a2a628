// SPDX-License-Identifier: Apache-2.0
// Benchmark receivers run as child processes (so each one's CPU time is its own):
//   node receivers.mjs dgram <address> <port> <maxSeconds>
//   node receivers.mjs xsk <ifname> <queue> <maxSeconds>
// Each prints "ready", counts packets until 1 s passes without one (or maxSeconds),
// then prints one JSON line. Both touch one byte per packet, like the C receiver.
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';

const [kind, where, portOrQueue, maxSeconds] = process.argv.slice(2);
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
  const socket = XskSocket.open({ ifname: where, queueId: Number(portOrQueue), mode: 'auto', batchSize: 64 });
  const umemBytes = socket.umem.bytes;
  socket.on('readable', () => {
    for (;;) {
      const batch = socket.receive();
      const n = batch.count;
      if (n === 0) break;
      if (!packets) firstPacket();
      const { offsets, lengths } = batch;
      for (let i = 0; i < n; i++) {
        touched += umemBytes[offsets[i]];
        bytes += lengths[i];
      }
      packets += n;
      batch.release();
    }
    last = performance.now();
  });
  console.log('ready');
  watchIdle(() => {
    const stats = socket.statistics();
    extra = { mode: stats.mode, rxDropped: stats.kernel.rxDropped, rxRingFull: stats.kernel.rxRingFull, rxFillRingEmpty: stats.kernel.rxFillRingEmptyDescs };
    socket.close();
  });
} else {
  console.error(`unknown receiver ${kind}`);
  process.exit(2);
}
