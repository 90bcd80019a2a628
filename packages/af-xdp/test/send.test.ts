// SPDX-License-Identifier: Apache-2.0
// Frames built here with the codec and sent on the TX ring reach a plain node:dgram
// socket in the peer namespace byte for byte. The kernel there verifies the UDP
// checksum, and a deliberately corrupted frame is the negative control.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { createLab, type Lab } from '@stoq/netlab';
import { buildUdp6Frame, ipv6ToBytes, macToBytes, Umem, XskSocket, type Udp6FrameSpec } from '../src/index.js';
import { helper, isRoot, openWhenFree, waitFor } from './helpers/env.js';

describe('send (veth lab, copy mode)', skipUnless(isRoot, 'needs root: AF_XDP sockets on a veth lab (CAP_NET_RAW, CAP_NET_ADMIN, CAP_BPF)'), () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await createLab({ hostSide: true, staticNeighbours: true });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it.each(['aligned', 'staggered'] as const)('built frames arrive intact at a node:dgram socket in the peer; a bad checksum is dropped there (layout %s)', async (layout) => {
    const COUNT = 200;
    const receiver = lab.spawn(lab.b, process.execPath, [helper('udp-receiver.mjs'), '9300', String(COUNT), '10000']);
    let out = '';
    receiver.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise((resolve) => receiver.once('exit', resolve));
    await waitFor(() => out.startsWith('ready'), 10_000, 'the peer receiver to bind');

    const umem = Umem.create({ layout });
    const socket = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, batchSize: 32, umem })).catch((error: unknown) => {
      umem.destroy();
      throw error;
    });
    try {
      const spec: Udp6FrameSpec = {
        srcMac: macToBytes(lab.a.mac), dstMac: macToBytes(lab.b.mac),
        srcAddress: ipv6ToBytes(lab.a.address), dstAddress: ipv6ToBytes(lab.b.address),
        srcPort: 40000, dstPort: 9300,
      };
      const payloadOf = (i: number) => Buffer.from(`datagram ${i} `.padEnd(10 + (i % 900), String.fromCharCode(97 + (i % 26))));
      // Negative control first: same flow, checksum broken by one bit.
      const bad = socket.allocTx(1);
      const badLength = buildUdp6Frame(bad.frame(0), spec, Buffer.from('corrupted'));
      bad.frame(0)[badLength - 1]! ^= 0x01;
      bad.setLength(0, badLength);
      expect(socket.send()).toBe(1);

      let sent = 0;
      for (let round = 0; sent < COUNT && round < 1000; round++) {
        const batch = socket.allocTx(Math.min(32, COUNT - sent));
        for (let i = 0; i < batch.count; i++) batch.setLength(i, buildUdp6Frame(batch.frame(i), spec, payloadOf(sent + i)));
        sent += socket.send(batch);
        socket.reap();
      }
      expect(sent).toBe(COUNT);
      await exited;
      const received = JSON.parse(out.slice(out.indexOf('\n') + 1)) as Array<{ from: string; port: number; hex: string }>;
      expect(received.length).toBe(COUNT);
      received.forEach((d, i) => {
        expect(d.from).toBe(lab.a.address);
        expect(d.port).toBe(40000);
        expect(Buffer.from(d.hex, 'hex').toString()).toBe(payloadOf(i).toString());
      });
      await waitFor(() => (socket.reap(), socket.statistics().socket.txOutstanding === 0), 2_000, 'TX completions');
      const stats = socket.statistics();
      expect(stats.socket.txPackets).toBe(COUNT + 1);
      expect(stats.socket.txCompleted).toBe(COUNT + 1);
      expect(stats.kernel.txInvalidDescs).toBe(0);
      expect(stats.socket.wakeups).toBeGreaterThan(0); // copy mode transmits only on a kick
      expect(stats.socket.umemFreeFrames).toBe(socket.umem.frameCount - socket.umem.fillSize);
    } finally {
      socket.close();
      umem.destroy();
    }
  });

  it('one send() of a batch larger than the 32-frame copy-mode TX batch of the kernel delivers every frame without another call', async () => {
    const COUNT = 256;
    const receiver = lab.spawn(lab.b, process.execPath, [helper('udp-receiver.mjs'), '9301', String(COUNT), '10000']);
    let out = '';
    receiver.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise((resolve) => receiver.once('exit', resolve));
    await waitFor(() => out.startsWith('ready'), 10_000, 'the peer receiver to bind');

    const socket = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, batchSize: COUNT }));
    try {
      const spec: Udp6FrameSpec = {
        srcMac: macToBytes(lab.a.mac), dstMac: macToBytes(lab.b.mac),
        srcAddress: ipv6ToBytes(lab.a.address), dstAddress: ipv6ToBytes(lab.b.address),
        srcPort: 40001, dstPort: 9301,
      };
      const batch = socket.allocTx(COUNT);
      expect(batch.count).toBe(COUNT);
      for (let i = 0; i < COUNT; i++) batch.setLength(i, buildUdp6Frame(batch.frame(i), spec, Buffer.from(`frame ${i}`)));
      expect(socket.send(batch)).toBe(COUNT);
      // No reap(), no further send(): the one kick must have pushed the whole ring out.
      await exited;
      const received = JSON.parse(out.slice(out.indexOf('\n') + 1)) as Array<{ hex: string }>;
      expect(received.map((d) => Buffer.from(d.hex, 'hex').toString())).toEqual(Array.from({ length: COUNT }, (_, i) => `frame ${i}`));
    } finally {
      socket.close();
    }
  });

  it('frames of a batch never sent come back: a second allocTx() returns them, a changed offset is refused and the batch can still be cancelled, send(count) returns the rest', async () => {
    const socket = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, batchSize: 8 }));
    try {
      const free = () => socket.statistics().socket.umemFreeFrames;
      const before = free();
      let tx = socket.allocTx(8);
      expect(tx.count).toBe(8);
      tx = socket.allocTx(8); // the first 8 go back before 8 more are taken
      expect(free()).toBe(before - 8);

      for (let i = 0; i < tx.count; i++) tx.setLength(i, 60);
      tx.offsets[1] = tx.offsets[0]!; // would send one frame twice and lose another
      expect(() => socket.send(tx)).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/offset changed since allocTx/), hint: expect.stringMatching(/leave tx\.offsets unchanged/) }));
      expect(free()).toBe(before - 8); // nothing sent, nothing lost: still reserved
      socket.cancelTx();
      expect(free()).toBe(before);

      tx = socket.allocTx(8);
      for (let i = 0; i < 3; i++) tx.setLength(i, 60);
      // Frames 3..7 have no length: refused before the ring, with a hint of its own.
      expect(() => socket.send(tx)).toThrow(expect.objectContaining({
        code: 'STOQ_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/frame length outside its frame/), hint: expect.stringMatching(/tx\.setLength\(i, bytes\)/),
      }));
      expect(free()).toBe(before - 8);
      expect(socket.send(tx, 3)).toBe(3);
      // The 5 unsent are back at once; the 3 sent are in flight or already completed.
      const after = socket.statistics().socket;
      expect(after.umemFreeFrames + after.txOutstanding).toBe(before);
      await waitFor(() => (socket.reap(), socket.statistics().socket.txOutstanding === 0), 2_000, 'TX completions');
      expect(free()).toBe(before);
      expect(socket.statistics().kernel.txInvalidDescs).toBe(0);
    } finally {
      socket.close();
    }
  });
});
