// SPDX-License-Identifier: Apache-2.0
// Receive-rate benchmark on the veth lab: the same C sendmmsg flood (tools/pktgen,
// run in the peer namespace, bounded by count and time) against three receivers in
// one run — node:dgram, @stoq/af-xdp in Node, and the minimal C AF_XDP receiver —
// at 64 B and 256 B UDP payloads. Prints Mpps, loss, CPU and the AF_XDP mode, and
// the ratios the package targets. Needs root; build first (pnpm turbo build).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withLab } from '@stoq/netlab';

const PAYLOADS = (process.env.BENCH_PAYLOADS ?? '64,256').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const COUNT = Number(process.env.BENCH_COUNT ?? 20_000_000);
const PORT = 9292;
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const pktgen = here('../../../tools/pktgen/build/');
const receiversScript = here('./receivers.mjs');

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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts a receiver, waits for "ready", returns a promise of its JSON result. */
function startReceiver(cmd, args) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${cmd} exited (${code}) before ready: ${err.trim()}`)));
  });
  const result = new Promise((resolve, reject) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), (SECONDS + 20) * 1000);
    child.once('exit', (code) => {
      clearTimeout(killer);
      const line = out.trim().split('\n').pop();
      if (code === 0 && line?.startsWith('{')) resolve(JSON.parse(line));
      else reject(new Error(`${cmd} failed (${code}): ${err.trim().split('\n').filter((l) => !l.startsWith('lib')).join(' | ')}`));
    });
  });
  return { ready, result };
}

async function measure(lab, name, payload) {
  const receivers = {
    dgram: [process.execPath, [receiversScript, 'dgram', lab.a.address, String(PORT), String(SECONDS + 10)]],
    'af-xdp (node)': [process.execPath, [receiversScript, 'xsk', lab.a.ifname, '0', String(SECONDS + 10)]],
    'C AF_XDP': [pktgen + 'xsk_count', [lab.a.ifname, '0', String(SECONDS + 10), '1']],
  };
  const [cmd, args] = receivers[name];
  // Sender on CPU 0, receiver on CPU 1: the two never fight for one core.
  const receiver = startReceiver('taskset', ['-c', '1', cmd, ...args]);
  await receiver.ready;
  await sleep(200);
  const { stdout } = await lab.exec(lab.b, 'taskset', ['-c', '0', pktgen + 'udp6_flood', lab.a.address, String(PORT), String(payload), String(COUNT), String(SECONDS)], (SECONDS + 10) * 1000);
  const sent = JSON.parse(stdout.trim());
  const got = await receiver.result;
  await sleep(300); // the kernel frees the queue asynchronously after an AF_XDP socket closes
  const mpps = got.activeSeconds > 0 ? got.packets / got.activeSeconds / 1e6 : 0;
  return {
    receiver: name,
    payload,
    mode: name === 'dgram' ? 'kernel UDP' : `${got.mode} AF_XDP`,
    sentMpps: sent.pps / 1e6,
    sent: sent.sent,
    received: got.packets,
    rxMpps: mpps,
    loss: 1 - got.packets / sent.sent,
    cpu: got.activeSeconds > 0 ? got.cpuSeconds / got.activeSeconds : 0,
    cpuNsPerPacket: got.packets > 0 ? (got.cpuSeconds * 1e9) / got.packets : 0,
  };
}

const results = [];
await withLab({ hostSide: true, staticNeighbours: true }, async (lab) => {
  const { stdout } = await lab.exec(lab.a, 'ethtool', ['-i', lab.a.ifname]);
  console.log(`lab veth ${lab.a.ifname} (driver ${/driver: (\S+)/.exec(stdout)?.[1]}), 1 queue, flood ${SECONDS} s from the peer namespace; XDP: libxdp default program (native/driver mode on veth)`);
  for (const payload of PAYLOADS) {
    for (const name of ['dgram', 'af-xdp (node)', 'C AF_XDP']) {
      const r = await measure(lab, name, payload);
      results.push(r);
      console.log(
        `${String(payload).padStart(4)} B  ${name.padEnd(14)} ${r.mode.padEnd(14)} sent ${r.sentMpps.toFixed(3)} Mpps  received ${r.rxMpps.toFixed(3)} Mpps  loss ${(r.loss * 100).toFixed(1)}%  cpu ${(r.cpu * 100).toFixed(0)}% (${r.cpuNsPerPacket.toFixed(0)} ns/packet in the receiver process)`,
      );
    }
  }
});

console.log('\nratios (receive rate, same run):');
for (const payload of PAYLOADS) {
  const get = (n) => results.find((r) => r.payload === payload && r.receiver === n);
  const node = get('af-xdp (node)');
  const dg = get('dgram');
  const c = get('C AF_XDP');
  const limited = [node, c].every((r) => r.loss < 0.05) ? '  (sender-limited: both AF_XDP receivers kept up with the flood)' : '';
  console.log(
    `${String(payload).padStart(4)} B  af-xdp(node)/dgram = ${(node.rxMpps / dg.rxMpps).toFixed(2)}x   af-xdp(node)/C = ${((node.rxMpps / c.rxMpps) * 100).toFixed(0)}%` +
      `   receiver CPU per packet node/C = ${(node.cpuNsPerPacket / c.cpuNsPerPacket).toFixed(1)}x${limited}`,
  );
}
