#!/usr/bin/env node
// Longer spoofed Initial flood (root): `pnpm initial-flood -- --pps 10000 --seconds 15
// --rate 50 --burst 100 --handshakes 50`. Three scenarios in one lab: no bucket (4 /64s),
// the bucket (4 /64s), the bucket against sources spread over 65,536 /64s.
import { createFloodLab } from '../dist/initial-flood.js';
import { arg, writeReport } from './report.mjs';

const pps = arg('pps', 10000);
const seconds = arg('seconds', 15);
const rate = arg('rate', 50);
const burst = arg('burst', 100);
const handshakes = arg('handshakes', 50);
const bucket = { rate, burst };
const scenarios = [
  { name: 'no bucket, 4 /64s', bucket: null, prefixes: 4 },
  { name: `bucket ${rate}/s burst ${burst}, 4 /64s`, bucket, prefixes: 4 },
  { name: `bucket ${rate}/s burst ${burst}, 65536 /64s`, bucket, prefixes: 65536 },
].map((s) => ({ ...s, pps, seconds, handshakes }));

const lab = await createFloodLab();
const summary = {};
try {
  for (const s of scenarios) {
    const r = await lab.run(s);
    console.log(JSON.stringify({ ...r, legit: { ...r.legit, ms: undefined } }));
    summary[s.name] = {
      'flood sent': r.flood.sent, 'dropped by bucket': r.server.initialRateLimitedDropped, 'connections accepted': r.server.connectionsAccepted,
      'server CPU % of a core': r.server.cpuPercentOfOneCore,
      'legit handshakes ok': `${r.legit.succeeded}/${handshakes}`, 'legit p50/max ms': `${r.legit.p50Ms?.toFixed(1)}/${r.legit.maxMs?.toFixed(1)}`,
    };
  }
} finally {
  await lab.destroy();
}
writeReport('initial-flood', { command: `pnpm initial-flood -- --pps ${pps} --seconds ${seconds} --rate ${rate} --burst ${burst} --handshakes ${handshakes}`, summary });
