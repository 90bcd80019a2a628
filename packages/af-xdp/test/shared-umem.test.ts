// SPDX-License-Identifier: Apache-2.0
// Closing sockets of a shared UMEM. libxdp binds the first socket on the UMEM's own fd
// and never closes it; these tests check that close() still releases the kernel socket:
// out of the caller's XSKMAP, its lent frames safe to reuse, its queue free again.
// Caller-owned program (redirects XSKMAP[rx_queue_index], else XDP_PASS), 2 queues; the
// peer sends from CPU 0 or 1, which XPS maps to its TX queue 0 or 1, our RX queue 0 or 1.
import { closeSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { createLab, type Lab } from '@stoq/netlab';
import { openPinnedMap, ParsedUdp6Frame, parseUdp6Frame, Umem, XskSocket, type XskSocketOptions } from '../src/index.js';
import { attachCallerProgram, type CallerProgram } from './helpers/caller-program.js';
import { helper, isRoot, openWhenFree, waitFor } from './helpers/env.js';

const PORT = 9293;

describe('closing sockets of a shared UMEM (caller-owned program, 2 queues)', skipUnless(isRoot, 'needs root: AF_XDP sockets and an XDP program on a veth lab (CAP_NET_RAW, CAP_NET_ADMIN, CAP_BPF)'), () => {
  let lab: Lab;
  let program: CallerProgram | undefined;
  beforeAll(async () => {
    lab = await createLab({ hostSide: true, staticNeighbours: true, queues: 2 });
    await lab.exec(lab.b, 'sh', ['-c', `echo 1 > /sys/class/net/${lab.b.ifname}/queues/tx-0/xps_cpus && echo 2 > /sys/class/net/${lab.b.ifname}/queues/tx-1/xps_cpus`]);
    program = await attachCallerProgram(lab, 'shared');
  });
  afterAll(async () => {
    await program?.remove();
    await lab?.destroy();
  });

  /** Opens a socket on `queueId` (retrying while a closed one's queue is released) and puts it in the program's XSKMAP. */
  const open = async (queueId: number, options: Omit<XskSocketOptions, 'ifname'>): Promise<XskSocket> => {
    const socket = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, queueId, mode: 'copy', inhibitProgramLoad: true, ...options }));
    const mapFd = openPinnedMap(program!.xsksPath);
    try {
      socket.updateXskMap(mapFd);
    } finally {
      closeSync(mapFd);
    }
    return socket;
  };
  /** `count` datagrams from the peer, all arriving on RX queue `queue`. */
  const sendTo = (queue: number, count: number) =>
    lab.exec(lab.b, 'taskset', ['-c', String(queue), process.execPath, helper('udp-sender.mjs'), lab.a.address, String(PORT), String(count), '16', '1'], 30_000);
  /** Datagrams to PORT that `socket` receives within a second. */
  const drain = async (socket: XskSocket, expected: number): Promise<number> => {
    const parsed = new ParsedUdp6Frame();
    let received = 0;
    const deadline = Date.now() + 1_000;
    while (received < expected && Date.now() < deadline) {
      const batch = socket.receive();
      for (let i = 0; i < batch.count; i++) if (parseUdp6Frame(batch.packet(i), parsed) && parsed.dstPort === PORT) received++;
      batch.release();
      if (batch.count === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return received;
  };

  it("closing the UMEM's first socket while another shares it: nothing lands in its old frames, and its queue reopens on the same UMEM", async () => {
    const umem = Umem.create({ frameCount: 2048, frameSize: 2048, fillSize: 512, compSize: 512 });
    const first = await open(0, { umem, rxFrames: 512 });
    const second = await open(1, { umem, rxFrames: 64, batchSize: 2048, txSize: 2048 });
    let reopened: XskSocket | undefined;
    try {
      first.close();
      expect(umem.freeFrames).toBe(2048 - 64);
      // The second socket takes every free frame, those the first had lent to the kernel
      // included, and clears them; traffic to queue 0 must not reach any of them.
      const tx = second.allocTx(2048);
      expect(tx.count).toBe(2048 - 64);
      for (let i = 0; i < tx.count; i++) tx.frame(i).fill(0);
      await sendTo(0, 50);
      await new Promise((resolve) => setTimeout(resolve, 200));
      let written = 0;
      for (let i = 0; i < tx.count; i++) if (tx.frame(i).some((byte) => byte !== 0)) written++;
      expect(written, 'frames written by the kernel after close()').toBe(0);
      second.cancelTx();

      // Positive control: the same traffic reaches a socket reopened on queue 0, same UMEM.
      reopened = await open(0, { umem, rxFrames: 256 });
      await sendTo(0, 50);
      expect(await drain(reopened, 50)).toBe(50);
    } finally {
      reopened?.close();
      first.close();
      second.close();
      umem.destroy();
    }
  });

  it.each([
    ['first', 'second'],
    ['second', 'first'],
  ] as const)('after the last socket of a shared UMEM closes (%s, then %s), both queues are free before destroy(), and the UMEM binds again', async (...order) => {
    const umem = Umem.create({ frameCount: 1024, frameSize: 2048, fillSize: 256, compSize: 256 });
    try {
      const sockets = { first: await open(0, { umem }), second: await open(1, { umem }) };
      for (const name of order) sockets[name].close();
      expect(umem.freeFrames).toBe(1024);
      // Another UMEM's sockets on both queues: the kernel released both bindings.
      for (const queue of [0, 1]) (await open(queue, {})).close();
      // The same UMEM registers again for a new first socket, which receives.
      const again = await open(1, { umem });
      try {
        await sendTo(1, 20);
        expect(await drain(again, 20)).toBe(20);
      } finally {
        again.close();
      }
    } finally {
      umem.destroy();
    }
  });
});
