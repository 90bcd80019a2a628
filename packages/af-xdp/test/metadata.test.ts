// SPDX-License-Identifier: Apache-2.0
// Caller-owned XDP program (inhibitProgramLoad + updateXskMap through a pinned
// XSKMAP) that writes bpf_ktime_get_ns() as 8 bytes of XDP metadata: the question
// "does copy-mode AF_XDP carry XDP metadata?" answered on this kernel, not assumed.
import { execFile } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '@stoq/netlab';
import { openPinnedMap, ParsedUdp6Frame, parseUdp6Frame, XskSocket } from '../src/index.js';
import { helper, isRoot, openWhenFree } from './helpers/env.js';

const run = promisify(execFile);
const fixture = fileURLToPath(new URL('./fixtures/meta_timestamp.bpf.c', import.meta.url));

describe.skipIf(!isRoot)('XDP metadata in copy mode (caller-owned program)', () => {
  let lab: Lab;
  let pinDir: string;
  let workDir: string;
  beforeAll(async () => {
    lab = await createLab({ hostSide: true, staticNeighbours: true });
    workDir = mkdtempSync(join(tmpdir(), 'stoq-afxdp-meta-'));
    pinDir = `/sys/fs/bpf/stoq-afxdp-meta-${lab.id}`;
    mkdirSync(pinDir);
    const object = join(workDir, 'meta_timestamp.o');
    await run('clang', ['-g', '-O2', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', fixture, '-o', object]);
    await run('bpftool', ['prog', 'load', object, `${pinDir}/prog`, 'type', 'xdp', 'pinmaps', `${pinDir}/maps`]);
    await run('bpftool', ['net', 'attach', 'xdpdrv', 'pinned', `${pinDir}/prog`, 'dev', lab.a.ifname]);
  });
  afterAll(async () => {
    if (lab) await run('bpftool', ['net', 'detach', 'xdpdrv', 'dev', lab.a.ifname]).catch((e: Error) => console.error(`detach: ${e.message}`));
    await lab?.destroy();
    if (pinDir) rmSync(pinDir, { recursive: true, force: true });
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('each received frame carries the program\'s bpf_ktime_get_ns() right before the packet', async () => {
    const socket = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, mode: 'copy', inhibitProgramLoad: true }));
    try {
      const mapFd = openPinnedMap(`${pinDir}/maps/test_xsks`);
      try {
        socket.updateXskMap(mapFd);
      } finally {
        closeSync(mapFd);
      }
      const before = process.hrtime.bigint(); // CLOCK_MONOTONIC, the clock bpf_ktime_get_ns reads
      await lab.exec(lab.b, process.execPath, [helper('udp-sender.mjs'), lab.a.address, '9292', '20', '16', '1']);
      const after = process.hrtime.bigint();
      const batch = socket.receive();
      const parsed = new ParsedUdp6Frame();
      const stamps: bigint[] = [];
      for (let i = 0; i < batch.count; i++) {
        if (parseUdp6Frame(batch.packet(i), parsed) && parsed.dstPort === 9292) stamps.push(batch.metadataTimestamp(i));
      }
      batch.release();
      expect(socket.mode).toBe('copy');
      expect(stamps.length).toBe(20);
      for (const [i, stamp] of stamps.entries()) {
        expect(stamp).toBeGreaterThanOrEqual(before);
        expect(stamp).toBeLessThanOrEqual(after);
        if (i > 0) expect(stamp).toBeGreaterThanOrEqual(stamps[i - 1]!);
      }
    } finally {
      socket.close();
    }
  });
});
