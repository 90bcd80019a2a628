// SPDX-License-Identifier: Apache-2.0
// Operators cross-check with bpftool (DESIGN.md): what the collector reads through the
// loader must equal what `bpftool map lookup/dump id N` prints for the same maps.
import { execFileSync } from 'node:child_process';
import { decodeStats } from '@stoq/bpf-programs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { createStoqCollector, mapIdOf, toEbpfMetrics } from '../src/index.js';
import { conntrackStateOf, quicFrame, VERDICT_FRAMES } from './helpers/traffic.js';
import { StoqXdp } from './helpers/stoq-xdp.js';

const isRoot = process.getuid?.() === 0;
let haveBpftool = false;
try {
  execFileSync('bpftool', ['version'], { stdio: 'ignore' });
  haveBpftool = true;
} catch {
  // skipped below, with the reason
}

const bytes = (hex: string[]) => Buffer.from(hex.map((h) => Number.parseInt(h, 16)));
function bpftool(args: string[]): unknown {
  return JSON.parse(execFileSync('bpftool', ['-j', ...args], { encoding: 'utf8', maxBuffer: 1 << 26 }));
}

describe('collector vs bpftool on the same maps', skipUnless(isRoot && haveBpftool, !isRoot ? 'needs root: loading BPF programs (CAP_BPF, CAP_SYS_ADMIN)' : 'bpftool is not installed'), () => {
  let prog: StoqXdp;
  beforeAll(async () => {
    prog = await StoqXdp.load();
  });
  afterAll(() => prog?.close());

  it('stoq_stats sums and stoq_conntrack states agree', async () => {
    prog.run(VERDICT_FRAMES.ipv4_dropped, 9, 0);
    prog.run(VERDICT_FRAMES.quic_passed, 4, 1);
    for (const peer of [0x601, 0x602]) prog.run(quicFrame('initial', peer));
    prog.run(quicFrame('handshake', 0x602));

    const json = toEbpfMetrics(await (await createStoqCollector({ object: prog.object, process: false })).collect());
    if (!json.packetMetrics.available || !json.connectionMetrics.conntrack.available) throw new Error('maps unavailable');

    const lookup = bpftool(['map', 'lookup', 'id', String(mapIdOf(prog.statsMap)), 'key', '0', '0', '0', '0']) as { values: { value: string[] }[] };
    const viaBpftool = decodeStats(lookup.values.map((v) => bytes(v.value)));
    for (const [name, total] of Object.entries(viaBpftool.counters)) {
      const ours = name === 'rx_packets' ? json.packetMetrics.packetsTotal : name === 'rx_bytes' ? json.packetMetrics.bytesTotal : json.packetMetrics.verdicts[name]!.total;
      expect(ours, name).toBe(total);
    }
    const dump = bpftool(['map', 'dump', 'id', String(mapIdOf(prog.conntrackMap))]) as { key: string[]; value: string[] }[];
    const byState: Record<string, number> = { initial: 0, handshake: 0, established: 0, closing: 0 };
    for (const entry of dump) byState[conntrackStateOf(bytes(entry.key), bytes(entry.value)).state]!++;
    expect(json.connectionMetrics.conntrack).toEqual({ available: true, entries: dump.length, byState });
    expect(byState).toEqual({ initial: 1, handshake: 1, established: 1, closing: 0 });
  });
});
