// SPDX-License-Identifier: Apache-2.0
// Caller-owned XDP program (inhibitProgramLoad + updateXskMap through a pinned
// XSKMAP) that writes bpf_ktime_get_ns() as 8 bytes of XDP metadata: the question
// "does copy-mode AF_XDP carry XDP metadata?" answered on this kernel, not assumed.
import { closeSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { createLab, type Lab } from '@stoq/netlab';
import { openPinnedMap, ParsedUdp6Frame, parseUdp6Frame, XskSocket } from '../src/index.js';
import { attachCallerProgram, type CallerProgram } from './helpers/caller-program.js';
import { helper, isRoot, openWhenFree } from './helpers/env.js';

describe('XDP metadata in copy mode (caller-owned program)', skipUnless(isRoot, 'needs root: AF_XDP sockets and an XDP program on a veth lab (CAP_NET_RAW, CAP_NET_ADMIN, CAP_BPF)'), () => {
  let lab: Lab;
  let program: CallerProgram | undefined;
  beforeAll(async () => {
    lab = await createLab({ hostSide: true, staticNeighbours: true });
    program = await attachCallerProgram(lab, 'meta');
  });
  afterAll(async () => {
    await program?.remove();
    await lab?.destroy();
  });

  it('each received frame carries the program\'s bpf_ktime_get_ns() right before the packet', async () => {
    const socket = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, mode: 'copy', inhibitProgramLoad: true }));
    try {
      const mapFd = openPinnedMap(program!.xsksPath);
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
