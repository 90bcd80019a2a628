// SPDX-License-Identifier: Apache-2.0
// `stoq top`'s view: the stoq_xdp maps belong to another process (a stand-in for a
// running transport), and this process finds them by name through @stoq/loader.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { COUNTER_NAMES } from '@stoq/bpf-programs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { createStoqCollector, toEbpfMetrics } from '../src/index.js';
import { quicFrame, VERDICT_FRAMES } from './helpers/traffic.js';

const isRoot = process.getuid?.() === 0;

/** The owner process and a way to ask it one line at a time. */
function startOwner() {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [join(import.meta.dirname, 'helpers/stoq-owner.mjs')], { stdio: 'pipe' });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ask = async (line: string): Promise<string> => {
    child.stdin.write(`${line}\n`);
    const next = await lines.next();
    if (next.done) throw new Error(`owner process ended: ${stderr}`);
    return next.value;
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    child.stdin.end();
    await exited;
  };
  return { ask, stop, run: (frame: Buffer, repeat = 1) => ask(JSON.stringify({ hex: frame.toString('hex'), repeat })) };
}

describe('maps of another process, opened by name', skipUnless(isRoot, 'needs root: loading BPF programs and opening their maps by name (CAP_BPF, CAP_SYS_ADMIN)'), () => {
  let owner: ReturnType<typeof startOwner>;
  let ids: { statsMapId: number; conntrackMapId: number };
  beforeAll(async () => {
    owner = startOwner();
    ids = JSON.parse(await owner.ask('ids'));
  });
  afterAll(async () => {
    await owner?.stop();
  });

  it("reads the owner's counters and conntrack exactly, and goes unavailable once the owner is gone", async () => {
    const sent = { quic_passed: 11, ipv4_dropped: 5, udp_non_quic_passed: 3 } as const;
    for (const [counter, repeat] of Object.entries(sent)) await owner.run(VERDICT_FRAMES[counter as keyof typeof sent], repeat);
    for (const peer of [0x501, 0x502]) await owner.run(quicFrame('initial', peer));
    await owner.run(quicFrame('handshake', 0x502));

    const collector = await createStoqCollector({ byName: ids, process: false });
    const json = toEbpfMetrics(await collector.collect());
    if (!json.packetMetrics.available) throw new Error(json.packetMetrics.reason);
    for (const name of COUNTER_NAMES.slice(2)) {
      // the three QUIC frames were passed (no socket): 11 + 3
      const expected = name === 'quic_passed' ? 14 : (sent as Record<string, number>)[name] ?? 0;
      expect(json.packetMetrics.verdicts[name]!.total, name).toBe(expected);
    }
    expect(json.packetMetrics.packetsTotal).toBe(22);
    expect(json.connectionMetrics.conntrack).toEqual({
      available: true,
      entries: 3,
      byState: { initial: 1, handshake: 1, established: 1, closing: 0 }, // 0x103 of VERDICT_FRAMES sent short headers
    });
    // Counted in the kernel: the iterator is bound to the map opened for this collection.
    const again = await collector.collect();
    const reading = again.readings.conntrack;
    expect(reading.available && reading.data.readMethod).toBe('iterator');
    // The stats reading names its map: a restarted owner's counters start a new rate window.
    expect(again.readings.xdpStats.available && again.readings.xdpStats.data.mapId).toBe(ids.statsMapId);

    await owner.stop();
    // The kernel frees a map shortly after its last fd closes: bounded wait.
    let gone = toEbpfMetrics(await collector.collect());
    for (let i = 0; i < 50 && gone.packetMetrics.available; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      gone = toEbpfMetrics(await collector.collect());
    }
    expect(gone.packetMetrics).toEqual({ available: false, reason: expect.stringMatching(new RegExp(`^no map stoq_stats with id ${ids.statsMapId}: its program was unloaded`)) });
    expect(gone.connectionMetrics.conntrack).toMatchObject({ available: false, reason: expect.stringContaining(`id ${ids.conntrackMapId}`) });
    collector.close();
  });
});

describe('byName without ids', skipUnless(isRoot, 'needs root: loading BPF programs and opening their maps by name (CAP_BPF, CAP_SYS_ADMIN)'), () => {
  it('reads the only stoq_stats on the host, or names every candidate instead of guessing', async () => {
    const owner = startOwner();
    try {
      const { statsMapId } = JSON.parse(await owner.ask('ids')) as { statsMapId: number };
      await owner.run(VERDICT_FRAMES.non_ip_passed, 4);
      const reading = (await (await createStoqCollector({ byName: true, process: false })).collect()).readings.xdpStats;
      // Other STOQ programs may be loaded on a shared host: then the reader must refuse and list ours among them.
      if (reading.available) expect(reading.data.counters['non_ip_passed']).toBe(4);
      else expect(reading.reason).toMatch(new RegExp(`maps named stoq_stats \\(ids [0-9, ]*\\b${statsMapId}\\b`));
      console.log(`byName: true with ${reading.available ? 'one stoq_stats on the host: read it' : 'several on the host: refused'}`);
    } finally {
      await owner.stop();
    }
  });
});

describe('byName without privileges', skipUnless(isRoot, 'needs root: loading BPF programs and opening their maps by name (CAP_BPF, CAP_SYS_ADMIN)'), () => {
  it('is unavailable with the missing capabilities and how to grant them, not a collection error', async () => {
    const owner = startOwner(); // something to find, so only the privilege is missing
    try {
      await owner.ask('ids');
      // nobody, no capabilities: what an unprivileged `stoq top` gets
      const stdout = execFileSync(
        'setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', process.execPath, join(import.meta.dirname, 'helpers/read-by-name.mjs')],
        { encoding: 'utf8', timeout: 30_000 },
      );
      const out = JSON.parse(stdout) as { packetMetrics: { available: boolean; reason?: string }; sourceErrors: Record<string, number> };
      expect(out.packetMetrics.available).toBe(false);
      expect(out.packetMetrics.reason).toMatch(/^cannot open stoq_stats: .*Operation not permitted.*CAP_BPF/);
      expect(out.sourceErrors).toMatchObject({ xdp_stats: 0, conntrack: 0 });
    } finally {
      await owner.stop();
    }
  });
});
