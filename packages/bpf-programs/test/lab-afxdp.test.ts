// SPDX-License-Identifier: Apache-2.0
// The REDIRECT half of the contract: with a real (copy-mode) AF_XDP socket registered
// in stoq_xsks for the queue, QUIC from the peer lands in the socket and not in the
// kernel's udp6 socket; redirect off sends it back to the kernel.
import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { createLab, type Lab } from '@stoq/netlab';
import type { XdpLink } from '@stoq/loader';
import { MAP_NAMES, diffStats } from '../src/index.js';
import { XDP } from './support/fixtures.js';
import { IPPROTO, SERVER, quicShort, udp6Frame } from './support/frames.js';
import { LoadedStoqProgram, isRoot } from './support/kernel.js';
import { openXskReceiver, type XskReceiver } from './support/xsk-receiver.js';
import { FUZZ_PHASES, runFuzz } from './support/fuzz-run.js';


const sender = fileURLToPath(new URL('./support/peer-send.mjs', import.meta.url));
const QUIC_SHORT_HEX = '41' + '5a'.repeat(40);

describe('stoq_xdp REDIRECT to an AF_XDP socket (veth, native XDP, copy-mode AF_XDP)', skipUnless(isRoot, 'needs root: veth lab, native XDP attach and an AF_XDP socket'), () => {
  let lab: Lab;
  let prog: LoadedStoqProgram;
  let xdp: XdpLink | undefined;
  let dgram: Socket;
  const kernelReceived: Buffer[] = [];
  const receivers: XskReceiver[] = [];

  beforeAll(async () => {
    lab = await createLab({ hostSide: true });
    prog = await LoadedStoqProgram.load();
    xdp = prog.attachXdp(lab.a.ifname, 'native');
    dgram = createSocket('udp6');
    dgram.on('message', (m) => kernelReceived.push(m));
    await new Promise<void>((resolve, reject) => {
      dgram.once('error', reject);
      dgram.bind(9292, lab.a.address, resolve);
    });
    console.log(`lab-afxdp: ${xdp.mode} XDP on ${lab.a.ifname}, AF_XDP socket in copy mode (veth has no zero-copy)`);
  });
  afterAll(async () => {
    for (const r of receivers) r.close();
    dgram?.close();
    try {
      xdp?.detach();
    } finally {
      prog?.close();
      await lab?.destroy();
    }
  });

  const send = (count: number) => lab.exec(lab.b, process.execPath, [sender, lab.a.address, '9292', String(count), QUIC_SHORT_HEX]);
  const receiver = async () => {
    const r = await openXskReceiver(lab.a.ifname, 0, prog.map(MAP_NAMES.xsks));
    receivers.push(r);
    return r;
  };

  it('QUIC from the peer is redirected into the socket, not the kernel', async () => {
    const xsk = await receiver();
    expect(xsk.mode).toBe('copy');
    const before = prog.readStats();
    kernelReceived.length = 0;
    await send(5);
    await xsk.waitFor(5, 5000);
    const d = diffStats(before, prog.readStats());
    // Ethernet 14 + IPv6 40 + UDP 8 + payload.
    expect(xsk.received).toEqual(new Array(5).fill(14 + 40 + 8 + QUIC_SHORT_HEX.length / 2));
    expect(d.counters.quic_redirected).toBe(5);
    expect(d.counters.quic_passed).toBe(0);
    expect(kernelReceived).toHaveLength(0);
    xsk.close();
  });

  it('a test run on the registered queue returns XDP_REDIRECT; redirect off returns PASS', async () => {
    const xsk = await receiver();
    const frame = udp6Frame({ payload: quicShort() });
    const before = prog.readStats();
    expect(prog.run(frame, { ingressIfindex: xdp!.ifindex, rxQueueIndex: 0 }).retval).toBe(XDP.REDIRECT);
    prog.writeConfig({ redirect: false });
    expect(prog.run(frame, { ingressIfindex: xdp!.ifindex, rxQueueIndex: 0 }).retval).toBe(XDP.PASS);
    prog.clearConfig();
    const d = diffStats(before, prog.readStats());
    expect(d.counters.quic_redirected).toBe(1);
    expect(d.counters.quic_passed).toBe(1);
    xsk.close();
  });

  it('QUIC to our port that the kernel would not deliver to our socket as is (multicast, v4-mapped or multicast source, ::1 source or destination, routing header with segments left or of type 3/4, misplaced hop-by-hop) is passed, not redirected; an atomic fragment is redirected', async () => {
    const xsk = await receiver();
    try {
      const run = { ingressIfindex: xdp!.ifindex, rxQueueIndex: 0 };
      const before = prog.readStats();
      const redirected = {
        'plain short header': udp6Frame({ payload: quicShort() }),
        'atomic fragment': udp6Frame({ payload: quicShort(), ext: [{ type: IPPROTO.FRAGMENT, fragmentOffset: 0, moreFragments: false }] }),
        'first hop-by-hop, routing header with no segments left': udp6Frame({ payload: quicShort(), ext: [{ type: IPPROTO.HOPOPTS }, { type: IPPROTO.ROUTING, hdrLen: 2, segmentsLeft: 0 }] }),
        'spent routing headers of types 0 and 2': udp6Frame({ payload: quicShort(), ext: [{ type: IPPROTO.ROUTING, routingType: 0 }, { type: IPPROTO.ROUTING, routingType: 2, hdrLen: 2 }] }),
        'v4-compatible source ::2': udp6Frame({ src: '::2', payload: quicShort() }),
      };
      const passed = {
        'destination ff02::1': udp6Frame({ dst: 'ff02::1', payload: quicShort() }),
        'destination ff05::1:3': udp6Frame({ dst: 'ff05::1:3', payload: quicShort() }),
        'source ::ffff:1.2.3.4': udp6Frame({ src: '::ffff:1.2.3.4', payload: quicShort() }),
        'source ff0e::1': udp6Frame({ src: 'ff0e::1', payload: quicShort() }),
        'routing header, 1 segment left': udp6Frame({ payload: quicShort(), ext: [{ type: IPPROTO.ROUTING, hdrLen: 2, segmentsLeft: 1 }] }),
        'hop-by-hop after destination options': udp6Frame({ payload: quicShort(), ext: [{ type: IPPROTO.DSTOPTS }, { type: IPPROTO.HOPOPTS }] }),
        'loopback source ::1': udp6Frame({ src: '::1', payload: quicShort() }),
        'loopback destination ::1': udp6Frame({ dst: '::1', payload: quicShort() }),
        'SRH (routing type 4), no segments left': udp6Frame({ payload: quicShort(), ext: [{ type: IPPROTO.ROUTING, routingType: 4, hdrLen: 2, segmentsLeft: 0 }] }),
        'RPL (routing type 3), no segments left': udp6Frame({ payload: quicShort(), ext: [{ type: IPPROTO.ROUTING, routingType: 3, hdrLen: 2, segmentsLeft: 0 }] }),
      };
      const got = (frames: Record<string, Buffer>) => Object.fromEntries(Object.entries(frames).map(([name, f]) => [name, prog.run(f, run).retval]));
      expect(got(redirected)).toEqual(Object.fromEntries(Object.keys(redirected).map((name) => [name, XDP.REDIRECT])));
      expect(got(passed)).toEqual(Object.fromEntries(Object.keys(passed).map((name) => [name, XDP.PASS])));
      const d = diffStats(before, prog.readStats());
      expect(d.counters.quic_redirected).toBe(Object.keys(redirected).length);
      expect(d.counters.quic_passed).toBe(Object.keys(passed).length);
    } finally {
      xsk.close();
    }
  });

  it('local_addr set: QUIC to that address is redirected, to another address of the host passed to the kernel; :: redirects both', async () => {
    const xsk = await receiver();
    try {
      const run = { ingressIfindex: xdp!.ifindex, rxQueueIndex: 0 };
      const ours = udp6Frame({ dst: SERVER, payload: quicShort() });
      const other = udp6Frame({ dst: 'fd00:1::3', payload: quicShort() });
      prog.writeConfig({ localAddress: SERVER });
      const before = prog.readStats();
      expect(prog.run(ours, run).retval).toBe(XDP.REDIRECT);
      expect(prog.run(other, run).retval).toBe(XDP.PASS);
      const d = diffStats(before, prog.readStats());
      expect(d.counters.quic_redirected).toBe(1);
      expect(d.counters.quic_passed).toBe(1);
      prog.writeConfig({ localAddress: '::' });
      expect(prog.run(ours, run).retval).toBe(XDP.REDIRECT);
      expect(prog.run(other, run).retval).toBe(XDP.REDIRECT);
    } finally {
      prog.clearConfig();
      xsk.close();
    }
  });

  it('QUIC longer than max_redirect_payload (a local GSO run under generic XDP) is passed to the kernel, not redirected into a loss', async () => {
    const xsk = await receiver();
    try {
      const run = { ingressIfindex: xdp!.ifindex, rxQueueIndex: 0 };
      prog.writeConfig({ maxRedirectPayload: 1350 });
      const before = prog.readStats();
      expect(prog.run(udp6Frame({ payload: quicShort(1350) }), run).retval).toBe(XDP.REDIRECT);
      expect(prog.run(udp6Frame({ payload: quicShort(1351) }), run).retval).toBe(XDP.PASS);
      expect(prog.run(udp6Frame({ payload: quicShort(2 * 1350) }), run).retval).toBe(XDP.PASS);
      const d = diffStats(before, prog.readStats());
      expect(d.counters.quic_redirected).toBe(1);
      expect(d.counters.quic_passed).toBe(2);
      prog.clearConfig(); // 0 = no limit: the long one is redirected again
      expect(prog.run(udp6Frame({ payload: quicShort(2 * 1350) }), run).retval).toBe(XDP.REDIRECT);
    } finally {
      prog.clearConfig();
      xsk.close();
    }
  });

  it('fuzzed frames on the registered queue: QUIC is REDIRECTed, the rest as the reference classifier says', async () => {
    // A second, unattached copy of the program: live traffic on the veth (ND, MLD) must
    // not move the counters the fuzzer checks. Its stoq_xsks holds a socket of the queue.
    const quiet = await LoadedStoqProgram.load();
    const xsk = await openXskReceiver(lab.a.ifname, 0, quiet.map(MAP_NAMES.xsks));
    try {
      // One batch of 5000 per fuzz config, so every config meets a registered socket.
      const report = runFuzz(quiet, { seed: 0x5709afd9, frames: 5000 * FUZZ_PHASES.length, batchSize: 5000, socketOnQueue: true, run: { ingressIfindex: xdp!.ifindex, rxQueueIndex: 0 } });
      for (const f of report.failures) console.log(`seed 0x${f.seed.toString(16)} batch ${f.batch} frame ${f.index} [${f.phase}]: ${f.problem}\n  ${f.frameHex}`);
      expect(report.failures).toEqual([]);
      expect(report.byCounter.quic_redirected).toBeGreaterThan(0);
      expect(report.byCounter.quic_passed).toBeGreaterThan(0); // the redirect-off config
    } finally {
      xsk.close();
      quiet.close();
    }
  });

  it('timestamp_meta on a real driver: the AF_XDP frame carries the XDP-hook ktime in front', async () => {
    prog.writeConfig({ timestampMeta: true });
    const xsk = await receiver();
    try {
      const t0 = process.hrtime.bigint();
      await send(3);
      await xsk.waitFor(3, 5000);
      const t1 = process.hrtime.bigint();
      expect(xsk.metadata).toHaveLength(3);
      for (const stamp of xsk.metadata) {
        expect(stamp).toBeGreaterThanOrEqual(t0);
        expect(stamp).toBeLessThanOrEqual(t1);
      }
    } finally {
      xsk.close();
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
