// SPDX-License-Identifier: Apache-2.0
// Benchmark: bulk throughput (1 and 8 streams) and request/response latency over the
// lab veth, StoqTransport vs @matrixai/quic's own client/server, plus the in-memory
// quiche ceiling, all in one run. Needs root (network namespaces) and a built dist.
// Usage: pnpm bench [-- --mb 64 --rpc 500]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { withLab } from '@stoq/netlab';
import { createSelfSignedCertificate } from '../dist/index.js';
import { inMemoryThroughput } from './in-memory.mjs';
import { matrixaiClient, stoqClient } from './clients.mjs';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '64' }, rpc: { type: 'string', default: '500' } } });
const MiB = 1024 * 1024;
const totalBytes = Number(values.mb) * MiB;
const rpcCount = Number(values.rpc);
const peersDir = join(import.meta.dirname, 'peers');

async function startPeer(lab, script, certFile, keyFile) {
  const child = lab.spawn(lab.b, process.execPath, [join(peersDir, script), lab.b.address, '0', certFile, keyFile]);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const port = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      const m = /READY (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}: ${stderr}`)));
    setTimeout(() => reject(new Error(`${script} did not start`)), 15_000).unref();
  });
  return { child, port };
}

async function measure(client) {
  const one = await client.bulk(totalBytes, 1);
  const eight = await client.bulk(totalBytes, 8);
  const rpc = await client.rpc(rpcCount, 64);
  return { one, eight, rpc };
}

const ratio = (a, b) => (b > 0 ? (a / b).toFixed(2) : 'n/a');

const dir = mkdtempSync(join(tmpdir(), 'stoq-bench-'));
try {
  const { cert, key } = await createSelfSignedCertificate({ hostnames: ['stoq.test'] });
  writeFileSync(join(dir, 'cert.pem'), cert);
  writeFileSync(join(dir, 'key.pem'), key);
  const results = await withLab({ hostSide: true, staticNeighbours: true }, async (lab) => {
    const out = {};
    const stoqPeer = await startPeer(lab, 'stoq-peer.mjs', join(dir, 'cert.pem'), join(dir, 'key.pem'));
    const stoq = await stoqClient({ localAddress: lab.a.address, target: `[${lab.b.address}]:${stoqPeer.port}`, ca: cert });
    out.stoq = await measure(stoq);
    await stoq.close();
    stoqPeer.child.kill('SIGKILL');
    const mxPeer = await startPeer(lab, 'matrixai-peer.mjs', join(dir, 'cert.pem'), join(dir, 'key.pem'));
    const mx = await matrixaiClient({ localAddress: lab.a.address, host: lab.b.address, port: mxPeer.port, ca: cert });
    out.matrixai = await measure(mx);
    await mx.close();
    mxPeer.child.kill('SIGKILL');
    return out;
  });
  const ceiling1 = inMemoryThroughput({ cert, key }, totalBytes, 1);
  const ceiling8 = inMemoryThroughput({ cert, key }, totalBytes, 8);

  const { stoq, matrixai } = results;
  console.log(`\nSTOQ transport benchmark — ${Number(values.mb)} MiB bulk per run, ${rpcCount} × 64-byte request/response (one stream each)`);
  console.log('mode: datapath=dgram (node:dgram udp6, kernel UDP stack, every datagram copied; no XDP, no AF_XDP)');
  console.log('path: veth pair between two network namespaces (client in this process, server in a child process)\n');
  console.log('bulk MB/s (10^6 B/s)   stoq      @matrixai/quic   in-memory ceiling   stoq/matrixai   stoq/ceiling');
  console.log(`  1 stream             ${stoq.one.toFixed(1).padEnd(9)} ${matrixai.one.toFixed(1).padEnd(16)} ${ceiling1.toFixed(1).padEnd(19)} ${ratio(stoq.one, matrixai.one).padEnd(15)} ${ratio(stoq.one, ceiling1)}`);
  console.log(`  8 streams            ${stoq.eight.toFixed(1).padEnd(9)} ${matrixai.eight.toFixed(1).padEnd(16)} ${ceiling8.toFixed(1).padEnd(19)} ${ratio(stoq.eight, matrixai.eight).padEnd(15)} ${ratio(stoq.eight, ceiling8)}`);
  console.log('\nrequest/response µs    stoq      @matrixai/quic   matrixai/stoq (>1 = stoq faster)');
  for (const p of ['p50', 'p95', 'p99']) {
    console.log(`  ${p}                  ${stoq.rpc[p].toFixed(0).padEnd(9)} ${matrixai.rpc[p].toFixed(0).padEnd(16)} ${ratio(matrixai.rpc[p], stoq.rpc[p])}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
