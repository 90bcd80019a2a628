#!/usr/bin/env node
// Full load check: `pnpm load -- --connections 1000 --streams 10 --bytes 2048`
// (1,000 connections held on one server, then 10,000 concurrent echo streams).
import { runLoad } from '../dist/load.js';
import { mib, sample } from '../dist/memory.js';
import { arg, writeReport } from './report.mjs';

const connections = arg('connections', 1000);
const streams = arg('streams', 10);
const bytes = arg('bytes', 2048);
const before = sample();
const r = await runLoad({ connections, streamsPerConnection: streams, bytesPerStream: bytes });
const after = sample();
console.log(JSON.stringify(r));
writeReport('load', {
  command: `pnpm load -- --connections ${connections} --streams ${streams} --bytes ${bytes}`,
  summary: {
    'connections held': r.connectionsHeld, 'server-side connections': r.serverConnections,
    'streams ok / failed': `${r.streamsOk} / ${r.streamsFailed}`, 'bytes lost (content mismatch)': r.bytesLost,
    'handshakes (ms)': Math.round(r.handshakeMs), 'streams phase (ms)': Math.round(r.streamsMs),
    'RSS before / after (MiB)': `${mib(before.rss)} / ${mib(after.rss)}`, 'first error': r.firstError ?? 'none',
  },
});
process.exit(r.streamsFailed || r.bytesLost || r.connectionsHeld !== connections ? 1 : 0);
