// SPDX-License-Identifier: Apache-2.0
// The XDP datapath while things change around it: an IPv4 flood to our port, the
// neighbour table flushed under a live connection, and redirect switched off and on
// in stoq_config with traffic flowing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { once } from 'node:events';
import type { StoqConnection, StoqTransport } from '../src/index.js';
import { isRoot, writeRandom } from './helpers.js';
import { createXdpLab, echo, type Peer, type XdpLab } from './xdp-lab.js';

const MiB = 1024 * 1024;

describe('XdpDatapath at run time', skipUnless(isRoot, 'needs root: XDP attach and AF_XDP sockets on a veth lab'), () => {
  let x: XdpLab;
  let peer: Peer;
  let t: StoqTransport;

  beforeAll(async () => {
    // No static neighbours: neighbour discovery has to work through the XDP program.
    x = await createXdpLab({ ipv4: true });
    peer = await x.startPeer({ STOQ_INTERFACE: x.lab.b.ifname });
    t = await x.client({ interface: x.lab.a.ifname });
  });
  afterAll(async () => {
    await x?.destroy();
  });

  it('neighbour discovery works through XDP: first sends go via the kernel, then AF_XDP; a flushed entry is re-learned', async () => {
    const conn = await t.connect(x.target(peer), { serverName: 'stoq.test' });
    expect(await echo(t, conn, 64 * 1024)).toBe(true);
    const first = t.stats().xdp!;
    // The handshake's first flight had no neighbour entry yet: the kernel socket sent it.
    expect(first.txViaKernel).toBeGreaterThan(0);
    const { stdout } = await x.lab.exec(x.lab.a, 'ip', ['-j', '-6', 'neigh', 'show', 'to', x.lab.b.address, 'dev', x.lab.a.ifname]);
    expect((JSON.parse(stdout) as Array<{ lladdr?: string }>)[0]?.lladdr).toBe(x.lab.b.mac);
    // ICMPv6 passes the program on both sides.
    await x.lab.exec(x.lab.b, 'ping', ['-6', '-c', '2', '-i', '0.2', '-W', '1', x.lab.a.address]);

    await x.lab.exec(x.lab.a, 'ip', ['-6', 'neigh', 'flush', 'dev', x.lab.a.ifname]);
    const deadline = Date.now() + 10_000;
    let rounds = 0;
    // Keep traffic flowing until the table notices the flush (≤ 2 s refresh), sends via
    // the kernel, and the kernel's re-learned entry moves us back to AF_XDP.
    for (;;) {
      expect(await echo(t, conn, 32 * 1024)).toBe(true);
      rounds++;
      const now = t.stats().xdp!;
      if (now.txViaKernel > first.txViaKernel && rounds > 5) {
        const tx = now.txDatagrams;
        expect(await echo(t, conn, 256 * 1024)).toBe(true);
        if (t.stats().xdp!.txDatagrams > tx) break;
      }
      if (Date.now() > deadline) throw new Error(`no re-learning after ${rounds} rounds: ${JSON.stringify(now)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    console.log(`neighbour flushed and re-learned after ${rounds} echo rounds; ${t.stats().xdp!.txViaKernel} datagrams went via the kernel in total`);
    await conn.close();
  }, 30_000);

  it('an IPv4 flood to our port is dropped by XDP and counted while QUIC flows over AF_XDP', async () => {
    const port = t.address().port;
    // Static ARP on the flooding side: every IPv4 packet the kernel sends reaches the wire.
    await x.lab.exec(x.lab.b, 'ip', ['neigh', 'replace', x.lab.a.address4!, 'lladdr', x.lab.a.mac, 'dev', x.lab.b.ifname, 'nud', 'permanent']);
    const before = t.stats().xdp!.programCounters;
    const conn = await t.connect(x.target(peer), { serverName: 'stoq.test' });
    const stream = await conn.openStream();
    const reply: Buffer[] = [];
    stream.on('data', (c: Buffer) => reply.push(c));
    const ended = once(stream, 'end');
    const flood = x.lab.exec(x.lab.b, process.execPath, ['-e', `
      const s = require('node:dgram').createSocket('udp4');
      const payload = Buffer.alloc(1200, 0xc3);
      let ok = 0, done = 0;
      const N = 20000;
      (function burst() {
        for (let i = 0; i < 200 && done + i < N; i++) s.send(payload, ${port}, '${x.lab.a.address4}', (e) => { if (!e) ok++; if (++done === N) { console.log(ok); s.close(); } });
        if (done < N) setImmediate(burst);
      })();`], 20_000);
    const sent = await writeRandom(stream, 20 * MiB);
    await ended;
    const floodSent = Number((await flood).stdout.trim());
    expect(Buffer.concat(reply).toString()).toBe(`${20 * MiB} ${sent}`);
    const after = t.stats().xdp!.programCounters;
    const dropped = after.ipv4_dropped - before.ipv4_dropped;
    console.log(`IPv4 flood: ${floodSent} sent, ${dropped} dropped by stoq_xdp; QUIC redirected meanwhile: ${after.quic_redirected - before.quic_redirected}`);
    expect(floodSent).toBeGreaterThan(19_000);
    expect(dropped).toBe(floodSent);
    expect(after.quic_redirected - before.quic_redirected).toBeGreaterThan(100);
    await conn.close();
  }, 40_000);

  it('redirect off at run time moves the same connection to the kernel path without loss, and back', async () => {
    const conn = await t.connect(x.target(peer), { serverName: 'stoq.test' });
    let closed = false;
    conn.on('close', () => (closed = true));
    const rx = () => {
      const s = t.stats();
      return { xdp: s.xdp!.rxDatagrams, kernel: s.datapaths.find((d) => d.kind === 'dgram')!.rxDatagrams, passed: s.xdp!.programCounters.quic_passed };
    };
    const phases: Array<{ redirect: boolean; delta: { xdp: number; kernel: number; passed: number } }> = [];
    for (const redirect of [true, false, true]) {
      t.updateXdpConfig({ redirect });
      const start = rx();
      for (let i = 0; i < 8; i++) expect(await echo(t, conn, 512 * 1024)).toBe(true);
      const end = rx();
      phases.push({ redirect, delta: { xdp: end.xdp - start.xdp, kernel: end.kernel - start.kernel, passed: end.passed - start.passed } });
    }
    console.log('redirect phases (datagrams received):', JSON.stringify(phases), 'QUIC packets lost:', conn.stats().lost);
    expect(closed).toBe(false);
    const [on1, off, on2] = phases as [typeof phases[0], typeof phases[0], typeof phases[0]];
    expect(on1.delta.xdp).toBeGreaterThan(1000);
    expect(on1.delta.kernel).toBe(0);
    // Off: the program passes QUIC to the kernel and the dgram socket feeds the endpoint.
    expect(off.delta.kernel).toBeGreaterThan(1000);
    expect(off.delta.passed).toBeGreaterThanOrEqual(off.delta.kernel);
    expect(off.delta.xdp).toBeLessThan(off.delta.kernel / 10);
    expect(on2.delta.xdp).toBeGreaterThan(1000);
    expect(on2.delta.kernel).toBeLessThan(on2.delta.xdp / 10);
    expect(t.stats().xdp!.txDatagrams).toBeGreaterThan(0);
    await conn.close();
  }, 40_000);

  it('updateXdpConfig refuses every field that is not a run-time setting (fixed at attach, or a typo), naming it; the program keeps its config', async () => {
    for (const [field, value] of [['quicPorts', [1]], ['maxRedirectPayload', 9000], ['redirct', false], ['initialMinsize', 0]] as const) {
      expect(() => t.updateXdpConfig({ [field]: value } as never)).toThrow(expect.objectContaining({
        code: 'STOQ_ERR_INVALID_CONFIG',
        message: expect.stringContaining(`updateXdpConfig: ${field} cannot be changed at run time`),
      }));
    }
    expect(() => t.updateXdpConfig(null as never)).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_CONFIG', hint: expect.stringMatching(/redirect/) }));
    // Nothing was applied: our port's QUIC still comes in over AF_XDP.
    const conn = await t.connect(x.target(peer), { serverName: 'stoq.test' });
    const before = t.stats().xdp!.rxDatagrams;
    expect(await echo(t, conn, 64 * 1024)).toBe(true);
    expect(t.stats().xdp!.rxDatagrams - before).toBeGreaterThan(5);
    await conn.close();
  }, 20_000);

  it('updateXdpConfig refuses an Initial limit with only one of rate and burst (a trap either way), and takes both or neither', () => {
    const refused = expect.objectContaining({ code: 'STOQ_ERR_INVALID_CONFIG' });
    expect(() => t.updateXdpConfig({ initialBurst: 10 })).toThrow(refused); // never refills
    expect(() => t.updateXdpConfig({ initialRate: 100 })).toThrow(/initialRate is set but initialBurst is 0/); // limits nothing
    t.updateXdpConfig({ initialRate: 100, initialBurst: 10 });
    expect(() => t.updateXdpConfig({ initialRate: 0 })).toThrow(/initialBurst is set but initialRate is 0/);
    t.updateXdpConfig({ initialRate: 0, initialBurst: 0 });
  });
});
