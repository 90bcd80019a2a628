#!/usr/bin/env node
// Soak: `pnpm soak -- --minutes 10`. One server and one client on [::1]; every
// second, 5 new connections each echo 64 KiB on 4 streams and close, while one
// long-lived connection echoes 16 KiB. Heap, RSS and fd counts are sampled (after gc)
// every 10 s; the report compares the first and the last minute.
import { createSelfSignedCertificate, StoqTransport } from '@stoq/transport';
import { echoTransfer } from '../dist/transfer.js';
import { mib, sample } from '../dist/memory.js';
import { arg, writeReport } from './report.mjs';

const minutes = arg('minutes', 10);
const tls = await createSelfSignedCertificate({ hostnames: ['stoq.test'] });
const server = await StoqTransport.create({ address: '::1', port: 0, tls, idleTimeoutMs: 5000 });
const client = await StoqTransport.create({ address: '::1', port: 0, tls: { ca: tls.cert }, idleTimeoutMs: 5000 });
server.on('connection', (c) => c.on('stream', (s) => { s.on('error', () => {}); if ('write' in s) s.pipe(s); }));
const target = `[::1]:${server.address().port}`;
let live = await client.connect(target, { serverName: 'stoq.test' });
let liveReconnects = 0;
const samples = [];
let connections = 0, streams = 0, failures = 0, bytes = 0;
const end = Date.now() + minutes * 60_000;
let nextSample = 0;
while (Date.now() < end) {
  const tick = Date.now();
  await Promise.all(Array.from({ length: 5 }, async () => {
    try {
      const c = await client.connect(target, { serverName: 'stoq.test' });
      connections++;
      const rs = await Promise.all(Array.from({ length: 4 }, async () => echoTransfer(await c.openStream(), 64 * 1024)));
      for (const r of rs) { streams++; bytes += r.bytes; if (r.receivedSha256 !== r.sentSha256) failures++; }
      await c.close();
    } catch (e) { failures++; console.error(String(e)); }
  }));
  try {
    if (live.closeError) {
      live = await client.connect(target, { serverName: 'stoq.test' });
      liveReconnects++;
    }
    const r = await echoTransfer(await live.openStream(), 16 * 1024);
    if (r.receivedSha256 !== r.sentSha256) failures++;
  } catch (e) { failures++; console.error(String(e)); }
  if (Date.now() >= nextSample) {
    nextSample = Date.now() + 10_000;
    const m = sample();
    samples.push({ t: Math.round((Date.now() - end + minutes * 60_000) / 1000), heapMiB: Number(mib(m.heapUsed)), externalMiB: Number(mib(m.external)), rssMiB: Number(mib(m.rss)), fds: m.fds, serverConnections: server.stats().connections });
    console.log(JSON.stringify({ ...samples.at(-1), connections, streams, failures }));
  }
  await new Promise((res) => setTimeout(res, Math.max(0, 1000 - (Date.now() - tick))));
}
await live.close();
await new Promise((res) => setTimeout(res, 1000));
const settled = server.stats().connections;
await client.close();
await server.close();
const firstMin = samples.filter((s) => s.t <= 60), lastMin = samples.filter((s) => s.t >= samples.at(-1).t - 60);
const avg = (xs, k) => (xs.reduce((n, s) => n + s[k], 0) / xs.length).toFixed(1);
// The allocator decides how RSS behaves under connection churn (see README): name it.
const jemalloc = /jemalloc/.test(process.env.LD_PRELOAD ?? '');
writeReport(jemalloc ? 'soak-jemalloc' : 'soak', {
  command: `${jemalloc ? `LD_PRELOAD=${process.env.LD_PRELOAD} ` : ''}pnpm soak -- --minutes ${minutes}`,
  summary: {
    minutes, allocator: jemalloc ? 'jemalloc (LD_PRELOAD)' : 'glibc malloc', 'long-lived connection reconnects': liveReconnects, 'connections opened': connections, 'streams echoed': streams, 'bytes echoed': bytes, failures,
    'heap MiB first min / last min (avg)': `${avg(firstMin, 'heapMiB')} / ${avg(lastMin, 'heapMiB')}`,
    'external (Buffers, ArrayBuffers) MiB first min / last min (avg)': `${avg(firstMin, 'externalMiB')} / ${avg(lastMin, 'externalMiB')}`,
    'RSS MiB first min / last min (avg)': `${avg(firstMin, 'rssMiB')} / ${avg(lastMin, 'rssMiB')}`,
    'fds first / last sample': `${samples[0].fds} / ${samples.at(-1).fds}`,
    'server connections 1 s after the end': settled,
  },
  samples,
});
process.exit(failures ? 1 : 0);
