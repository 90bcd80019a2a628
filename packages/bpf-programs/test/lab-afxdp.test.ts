// SPDX-License-Identifier: Apache-2.0
// The REDIRECT half of the contract: with a real (copy-mode) AF_XDP socket registered
// in stoq_xsks for the queue, QUIC from the peer lands in the socket and not in the
// kernel's udp6 socket; redirect off sends it back to the kernel.
import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, type Lab } from '@stoq/netlab';
import { MAP_NAMES, diffStats } from '../src/index.js';
import { XDP } from './support/fixtures.js';
import { quicShort, udp6Frame } from './support/frames.js';
import { LoadedStoqProgram, isRoot } from './support/kernel.js';
import { attachNative, type AttachedXdp } from './support/xdp-attach.js';
import { buildXskHolder, startXskHolder, type XskHolder } from './support/xsk-holder.js';

if (!isRoot) console.warn('lab-afxdp.test: skipped, AF_XDP sockets and veth labs need root');

const sender = fileURLToPath(new URL('./support/peer-send.mjs', import.meta.url));
const QUIC_SHORT_HEX = '41' + '5a'.repeat(40);

describe.skipIf(!isRoot)('stoq_xdp REDIRECT to an AF_XDP socket (veth, native XDP, copy-mode AF_XDP)', () => {
  let lab: Lab;
  let prog: LoadedStoqProgram;
  let xdp: AttachedXdp | undefined;
  let holderBin: ReturnType<typeof buildXskHolder>;
  let dgram: Socket;
  const kernelReceived: Buffer[] = [];
  const holders: XskHolder[] = [];

  beforeAll(async () => {
    holderBin = buildXskHolder();
    lab = await createLab({ hostSide: true });
    prog = LoadedStoqProgram.load();
    xdp = attachNative(lab.a.ifname, prog.progPath);
    dgram = createSocket('udp6');
    dgram.on('message', (m) => kernelReceived.push(m));
    await new Promise<void>((resolve, reject) => {
      dgram.once('error', reject);
      dgram.bind(9292, lab.a.address, resolve);
    });
    console.log(`lab-afxdp: native XDP on ${lab.a.ifname}, AF_XDP socket in copy mode (veth has no zero-copy)`);
  });
  afterAll(async () => {
    for (const h of holders) h.kill();
    dgram?.close();
    try {
      xdp?.detach();
    } finally {
      prog?.close();
      holderBin?.cleanup();
      await lab?.destroy();
    }
  });

  const send = (count: number) => lab.exec(lab.b, process.execPath, [sender, lab.a.address, '9292', String(count), QUIC_SHORT_HEX]);

  it('QUIC from the peer is redirected into the socket, not the kernel', async () => {
    const holder = await startXskHolder(holderBin.path, lab.a.ifname, 0, prog.mapPath(MAP_NAMES.xsks), 5, 10);
    holders.push(holder);
    const before = prog.readStats();
    kernelReceived.length = 0;
    await send(5);
    await holder.exited;
    const d = diffStats(before, prog.readStats());
    // Ethernet 14 + IPv6 40 + UDP 8 + payload.
    expect(holder.received).toEqual(new Array(5).fill(14 + 40 + 8 + QUIC_SHORT_HEX.length / 2));
    expect(d.counters.quic_redirected).toBe(5);
    expect(d.counters.quic_passed).toBe(0);
    expect(kernelReceived).toHaveLength(0);
  });

  it('a test run on the registered queue returns XDP_REDIRECT; redirect off returns PASS', async () => {
    const holder = await startXskHolder(holderBin.path, lab.a.ifname, 0, prog.mapPath(MAP_NAMES.xsks), 1_000_000, 10);
    holders.push(holder);
    const frame = udp6Frame({ payload: quicShort() });
    const before = prog.readStats();
    expect(prog.run(frame).retval).toBe(XDP.REDIRECT);
    prog.writeConfig({ redirect: false });
    expect(prog.run(frame).retval).toBe(XDP.PASS);
    prog.clearConfig();
    const d = diffStats(before, prog.readStats());
    expect(d.counters.quic_redirected).toBe(1);
    expect(d.counters.quic_passed).toBe(1);
    holder.kill();
    await holder.exited;
  });

  it('timestamp_meta on a real driver: the AF_XDP frame carries the XDP-hook ktime in front', async () => {
    prog.writeConfig({ timestampMeta: true });
    try {
      const holder = await startXskHolder(holderBin.path, lab.a.ifname, 0, prog.mapPath(MAP_NAMES.xsks), 3, 10);
      holders.push(holder);
      const t0 = process.hrtime.bigint();
      await send(3);
      await holder.exited;
      const t1 = process.hrtime.bigint();
      expect(holder.metadata).toHaveLength(3);
      for (const stamp of holder.metadata) {
        expect(stamp).toBeGreaterThanOrEqual(t0);
        expect(stamp).toBeLessThanOrEqual(t1);
      }
    } finally {
      prog.clearConfig();
    }
  });

  it('with the socket gone, QUIC falls back to the kernel udp6 socket', async () => {
    const before = prog.readStats();
    kernelReceived.length = 0;
    await send(3);
    const end = Date.now() + 3000;
    while (kernelReceived.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(kernelReceived).toHaveLength(3);
    expect(diffStats(before, prog.readStats()).counters.quic_passed).toBe(3);
  });
});
