#!/usr/bin/env node
// Long endpoint mutation fuzz: `pnpm fuzz -- --datagrams 1000000 --seed N`. Rounds of
// 20,000 mutated datagrams against a live server on [::1]; after each round the
// endpoint must serve, fuzz-made connections must go away, and heap/RSS are sampled.
import { createFuzzTarget, fuzzEndpoint, healthy } from '../dist/endpoint-fuzz.js';
import { mib, sample } from '../dist/memory.js';
import { arg, writeReport } from './report.mjs';

const total = arg('datagrams', 200_000);
const seed = arg('seed', Date.now() % 1e9);
const rejections = [];
process.on('unhandledRejection', (r) => rejections.push(String(r)));
const target = await createFuzzTarget(2000);
// Only the live connection should remain once the capture connection has drained.
const settle = async () => {
  const deadline = Date.now() + 15_000;
  while (target.server.stats().connections > 1 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
  return target.server.stats().connections;
};
const baseline = await settle();
// The server's idle timeout is 2 s so fuzz-made connections go quickly; the target keeps
// its long-lived connection alive (createFuzzTarget).
const samples = [];
const byMutation = {};
let sent = 0;
let unhealthy = 0;
try {
  for (let round = 0; sent < total; round++) {
    const r = await fuzzEndpoint(target.server.address().port, target.corpus, Math.min(20_000, total - sent), seed + round);
    sent += r.datagrams;
    for (const [k, v] of Object.entries(r.byMutation)) byMutation[k] = (byMutation[k] ?? 0) + v;
    await settle();
    if (!(await healthy(target))) unhealthy++;
    const connections = await settle(); // after the health check's own connection drained
    const m = sample();
    samples.push({ sent, heapMiB: Number(mib(m.heapUsed)), rssMiB: Number(mib(m.rss)), fds: m.fds, connections });
    console.log(JSON.stringify(samples.at(-1)));
  }
} finally {
  var endpointCounters = target.server.stats().endpoint;
  const left = target.server.connections();
  if (left.length > 1) console.error('connections left on the server:', left.map((c) => JSON.stringify({ remote: c.remoteAddress, stats: c.stats() })));
  await target.close();
}
const first = samples[0];
const last = samples.at(-1);
writeReport('fuzz', {
  command: `pnpm fuzz -- --datagrams ${total} --seed ${seed}`,
  summary: {
    'datagrams fuzzed': sent, seed, 'unhealthy checks': unhealthy, 'unhandled rejections': rejections.length,
    'leaked connections at end': last.connections - baseline,
    'heap after first / last round (MiB)': `${first.heapMiB} / ${last.heapMiB}`,
    'RSS after first / last round (MiB)': `${first.rssMiB} / ${last.rssMiB}`,
    'fds first / last': `${first.fds} / ${last.fds}`,
    'endpoint counters': endpointCounters,
    mutations: byMutation,
  },
  samples,
});
process.exit(unhealthy || rejections.length || last.connections !== baseline ? 1 : 0);
