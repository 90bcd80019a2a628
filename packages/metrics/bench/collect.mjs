// SPDX-License-Identifier: Apache-2.0
/**
 * Cost of collecting once per second from a full 65 536-entry stoq_conntrack and the
 * stoq_stats counters. Budget: under 2 % of one core.
 *
 * The real stoq_xdp object is loaded with @stoq/loader and its stoq_conntrack filled with
 * 65 536 entries (states spread evenly). Measured side by side, CPU time (user + system)
 * per collection of this process, children included for bpftool:
 *  - loader, object:   createStoqCollector({ object }) — stoq_stats via lookupPerCpu,
 *                      stoq_conntrack via lookupBatch (the method the loader reports is printed);
 *  - loader, by name:  createStoqCollector({ byName }) — as `stoq top` reads a running
 *                      transport: maps looked up by name and opened on every collection;
 *  - loader, iteration: the conntrack source over map.entries() (get_next_key + lookup per entry);
 *  - bpftool (previous path): `bpftool -j map dump` + JSON parse + count, as the tests did
 *                      before the loader landed.
 *  - conntrack counted in the kernel (the default since stoq_ct_states): one pass of the
 *                      iterator per collection, one 64-byte record copied out;
 *  - batch (the previous default, conntrackIterator: false) next to it, in the same run.
 * Mode: map reads only; no XDP attach and no AF_XDP socket are involved. Root needed.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  CONNTRACK_STATES, CT_STATES_PROGRAM_NAME, CT_VALUE_LAYOUT, ctStatesObjectPath, decodeConntrackSummary, encodeConntrackKey, encodeConntrackValue,
  MAP_NAMES, objectPath,
} from '@stoq/bpf-programs';
import { BpfObject } from '@stoq/loader';
import { conntrackSource, createStoqCollector, mapIdOf } from '../dist/index.js';

const ENTRIES = 65_536;
const ROUNDS = Number(process.env.ROUNDS ?? 10);
const STATES = ['initial', 'handshake', 'established', 'closing'];

if (process.getuid?.() !== 0) {
  console.log('bench skipped: loading stoq_xdp and filling its maps needs root');
  process.exit(0);
}

/** CPU seconds of this process and its waited-for children, user and system (kernel) apart. */
function cpuSeconds() {
  const { user, system } = process.cpuUsage();
  // /proc/self/stat fields 16 and 17: cutime, cstime of waited-for children, in USER_HZ (100) ticks
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return { user: user / 1e6 + Number(fields[13]) / 100, system: system / 1e6 + Number(fields[14]) / 100 };
}

/** CPU seconds per call of fn, after one warm-up call. */
async function perRound(fn, rounds = ROUNDS) {
  await fn();
  const start = cpuSeconds();
  for (let i = 0; i < rounds; i++) await fn();
  const end = cpuSeconds();
  const user = (end.user - start.user) / rounds;
  const system = (end.system - start.system) / rounds;
  return { total: user + system, user, system };
}

const percent = (seconds) => `${(seconds * 100).toFixed(2)} %`.padStart(8);

const object = await BpfObject.load(objectPath);
try {
  const conntrack = object.map(MAP_NAMES.conntrack);
  for (let i = 0; i < ENTRIES; i++) {
    const key = encodeConntrackKey({ peerAddress: `fd00::${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}`, peerPort: 40_000 + (i % 20_000), localPort: 9292 });
    conntrack.update(key, encodeConntrackValue({ state: STATES[i % 4], firstSeenNs: 1n, lastSeenNs: 2n, packets: i, bytes: 1200 * i }));
  }

  const viaObject = await createStoqCollector({ object, process: false });
  const viaBatch = await createStoqCollector({ object, process: false, conntrackIterator: false });
  const first = await viaBatch.collect();
  if (!first.readings.conntrack.available || !first.readings.xdpStats.available) throw new Error('maps unavailable');
  const entries = first.readings.conntrack.data.entries;
  // An LRU hash may evict a little before it is nominally full (per-CPU free lists).
  if (entries < ENTRIES * 0.99) throw new Error(`map holds ${entries} entries, expected about ${ENTRIES}`);
  const batchMethod = first.readings.conntrack.data.readMethod;
  const counted = await viaObject.collect();
  if (!counted.readings.conntrack.available || counted.readings.conntrack.data.entries !== entries) throw new Error(`iterator: ${JSON.stringify(counted.readings.conntrack)}`);
  if (JSON.stringify(counted.readings.conntrack.data.byState) !== JSON.stringify(first.readings.conntrack.data.byState)) throw new Error('iterator and batch disagree');
  const objectMethod = counted.readings.conntrack.data.readMethod;
  const iterObject = await BpfObject.load(ctStatesObjectPath);
  const iterator = iterObject.program(CT_STATES_PROGRAM_NAME).attachIterator({ map: conntrack });

  const byName = await createStoqCollector({ byName: { statsMapId: mapIdOf(object.map(MAP_NAMES.stats)), conntrackMapId: mapIdOf(conntrack) }, process: false });
  const named = await byName.collect();
  if (!named.readings.conntrack.available || named.readings.conntrack.data.entries !== entries) throw new Error(`by name: ${JSON.stringify(named.readings.conntrack)}`);

  const stateNames = new Map(Object.entries(CONNTRACK_STATES).map(([name, value]) => [value, name]));
  const stateOf = (_key, value) => ({ state: stateNames.get(value.readUInt32LE(CT_VALUE_LAYOUT.offsets.state)) });
  const iteration = conntrackSource({ map: { entries: () => conntrack.entries() }, decode: stateOf });

  const dumpAndCount = () => {
    const dump = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'dump', 'id', String(mapIdOf(conntrack))], { maxBuffer: 1 << 28 }));
    const counts = {};
    for (const e of dump) {
      const state = stateOf(null, Buffer.from(e.value.map((h) => Number.parseInt(h, 16)))).state;
      counts[state] = (counts[state] ?? 0) + 1;
    }
    if (dump.length !== entries) throw new Error(`bpftool dumped ${dump.length} of ${entries}`);
    return counts;
  };

  const read = conntrack.lookupBatch({ batchSize: 4096 });
  const counting = conntrackSource({ map: { entries: () => read }, decode: stateOf });
  const bpftoolRounds = Math.min(ROUNDS, 3); // about a second of CPU each
  const results = [
    [`loader, object: stats lookupPerCpu + conntrack counted in the kernel (method observed: ${objectMethod})`, await perRound(() => viaObject.collect())],
    ['  of which the stoq_ct_states pass alone (iterator read + decode of one record)', await perRound(() => decodeConntrackSummary(iterator.read()))],
    [`loader, by name: the same, maps found by name, opened and the iterator bound each collection (method observed: ${named.readings.conntrack.data.readMethod})`, await perRound(() => byName.collect())],
    [`loader, object, previous default: stats lookupPerCpu + conntrack lookupBatch (conntrackIterator: false; method observed: ${batchMethod})`, await perRound(() => viaBatch.collect())],
    ['  of which map.lookupBatch({ batchSize: 4096 }) alone (loader: kernel batch + one Buffer view per key and value)', await perRound(() => conntrack.lookupBatch({ batchSize: 4096 }))],
    ['  of which counting states over entries already read (this package)', await perRound(() => counting.collect())],
    ['loader, iteration: conntrack over map.entries() (get_next_key + lookup per entry)', await perRound(() => iteration.collect())],
    [`bpftool -j map dump + parse + count (previous path, conntrack only, child CPU included, ${bpftoolRounds} rounds)`, await perRound(dumpAndCount, bpftoolRounds)],
  ];
  console.log(`stoq_conntrack: ${entries} entries (${ENTRIES} inserted), ${ROUNDS} rounds; CPU per collection as % of one core at 1 collection/s`);
  console.log('   total     user   system');
  for (const [label, cost] of results) console.log(`${percent(cost.total)} ${percent(cost.user)} ${percent(cost.system)}  ${label}`);
  const worst = Math.max(results[0][1].total, results[2][1].total);
  console.log(`budget 2 % of one core (default paths, object and by name): ${worst < 0.02 ? 'met' : 'MISSED'} (worst ${percent(worst).trim()})`);
  iterator.close();
  iterObject.close();
  viaObject.close();
  byName.close();
} finally {
  object.close();
}
