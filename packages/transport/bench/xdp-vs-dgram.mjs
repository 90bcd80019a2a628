// SPDX-License-Identifier: Apache-2.0
// XDP datapath vs dgram datapath, same lab, same run: bulk stream throughput across a
// veth pair (server process in namespace B, client here on side A). dgram runs first,
// with no XDP program anywhere; then both ends on XDP. Prints the XDP and AF_XDP
// modes actually observed and the ratio. Needs root and built dist (pnpm run build).
// Usage: node bench/xdp-vs-dgram.mjs [MiB per run, default 50] [runs, default 2]
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLab } from '@stoq/netlab';
import { StoqTransport, createSelfSignedCertificate } from '../dist/index.js';

const MiB = 1024 * 1024;
const size = Number(process.argv[2] ?? 50) * MiB;
const runs = Number(process.argv[3] ?? 2);
const server = join(import.meta.dirname, '..', 'test', 'fixtures', 'hash-server.mjs');

async function transfer(client, target) {
  const conn = await client.connect(target, { serverName: 'stoq.test' });
  const stream = await conn.openStream();
  const reply = [];
  stream.on('data', (c) => reply.push(c));
  const ended = once(stream, 'end');
  const block = randomBytes(256 * 1024);
  const hash = createHash('sha256');
  const t0 = performance.now();
  for (let sent = 0; sent < size; sent += block.length) {
    hash.update(block);
    if (!stream.write(block)) await once(stream, 'drain');
  }
  stream.end();
  await ended;
  const seconds = (performance.now() - t0) / 1000;
  if (Buffer.concat(reply).toString() !== `${size} ${hash.digest('hex')}`) throw new Error('peer hash mismatch');
  await conn.close();
  return size / 1e6 / seconds;
}

await withLab({ hostSide: true, timeoutMs: 5 * 60_000 }, async (lab) => {
  const dir = mkdtempSync(join(tmpdir(), 'stoq-bench-'));
  const { cert, key } = await createSelfSignedCertificate({ hostnames: ['stoq.test'] });
  writeFileSync(join(dir, 'cert.pem'), cert);
  writeFileSync(join(dir, 'key.pem'), key);
  const results = {};
  try {
    for (const kind of ['dgram', 'xdp']) {
      const env = kind === 'xdp' ? [`STOQ_INTERFACE=${lab.b.ifname}`] : ['STOQ_DATAPATH=dgram'];
      const child = lab.spawn(lab.b, 'env', [...env, process.execPath, server, lab.b.address, '0', join(dir, 'cert.pem'), join(dir, 'key.pem')]);
      let out = '';
      const ready = new Promise((resolve, reject) => {
        child.stdout.on('data', (d) => {
          out += d;
          const m = /READY (\d+)\nSTATUS (.*)\n/.exec(out);
          if (m) resolve({ port: Number(m[1]), status: JSON.parse(m[2]) });
        });
        child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
      });
      const { port, status: peerStatus } = await ready;
      const client = await StoqTransport.create({
        address: lab.a.address, port: 0, tls: { ca: cert }, ...(kind === 'xdp' ? { interface: lab.a.ifname, datapath: 'xdp' } : { datapath: 'dgram' }),
      });
      const status = client.getEbpfStatus();
      const rates = [];
      for (let i = 0; i < runs; i++) rates.push(await transfer(client, `[${lab.b.address}]:${port}`));
      const best = Math.max(...rates);
      results[kind] = best;
      const modes = kind === 'xdp'
        ? `client XDP ${status.xdpMode} / AF_XDP ${status.afXdpMode}, server XDP ${peerStatus.xdpMode} / AF_XDP ${peerStatus.afXdpMode}`
        : `node:dgram both ends, client UDP GSO ${client.stats().udpGso.segmentSize || 'off'} (the server uses the same default)`;
      console.log(`${kind.padEnd(5)} ${(size / MiB).toFixed(0)} MiB stream: ${rates.map((r) => r.toFixed(1)).join(', ')} MB/s (best ${best.toFixed(1)}) — ${modes}`);
      await client.close();
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    console.log(`ratio xdp/dgram (best of ${runs}): ${(results.xdp / results.dgram).toFixed(2)}×`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
