// SPDX-License-Identifier: Apache-2.0
// Across a real veth pair: the server runs as a child process (the built dist) in the
// lab's namespace B, the client in this process on side A.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, type Lab } from '@stoq/netlab';
import { createSelfSignedCertificate, StoqIdleTimeoutError, type StoqTransport } from '../src/index.js';
import { closeAll, isRoot, transport, waitFor, hashedReply } from './helpers.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const MiB = 1024 * 1024;

describe('StoqTransport across a veth pair (server in a namespace)', skipUnless(isRoot, 'needs root: lab namespaces and a veth pair'), () => {
  let lab: Lab;
  let dir: string;
  let ca: string;
  const peers: ChildProcess[] = [];

  beforeAll(async () => {
    lab = await createLab({ hostSide: true, staticNeighbours: true });
    dir = mkdtempSync(join(tmpdir(), 'stoq-transport-'));
    const { cert, key } = await createSelfSignedCertificate({ hostnames: ['stoq.test'] });
    writeFileSync(join(dir, 'cert.pem'), cert);
    writeFileSync(join(dir, 'key.pem'), key);
    ca = cert;
  });

  afterAll(async () => {
    await closeAll();
    for (const p of peers) p.kill('SIGKILL');
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the hash server in namespace B and resolves with its port. */
  async function startPeer(port: number, idleTimeoutMs = 10_000): Promise<{ child: ChildProcess; port: number }> {
    const child = lab.spawn(lab.b, process.execPath, [
      join(fixtures, 'hash-server.mjs'), lab.b.address, String(port), join(dir, 'cert.pem'), join(dir, 'key.pem'), String(idleTimeoutMs),
    ]);
    peers.push(child);
    let output = '';
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const ready = await new Promise<number>((resolve, reject) => {
      child.stdout?.on('data', (d: Buffer) => {
        const m = /READY (\d+)/.exec(d.toString());
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`peer exited with ${code}: ${output}`)));
    });
    return { child, port: ready };
  }

  async function client(idleTimeoutMs = 10_000): Promise<StoqTransport> {
    return transport({ address: lab.a.address, tls: { ca }, idleTimeoutMs });
  }

  async function hashedTransfer(t: StoqTransport, port: number, bytes: number) {
    const conn = await t.connect(`[${lab.b.address}]:${port}`, { serverName: 'stoq.test' });
    return { conn, ...(await hashedReply(conn, bytes)) };
  }

  it('moves 100 MB to a peer process on the default port 9292, hash checked by the peer', async () => {
    const { port } = await startPeer(9292);
    expect(port).toBe(9292);
    const t = await client();
    const started = performance.now();
    const { conn, sent, reply } = await hashedTransfer(t, port, 100 * MiB);
    console.log(`100 MiB over the lab veth (dgram datapath): ${(100 * MiB / 1e6 / ((performance.now() - started) / 1000)).toFixed(1)} MB/s (not a benchmark)`);
    expect(reply).toBe(`${100 * MiB} ${sent}`);
    expect(conn.stats().bytesSent).toBeGreaterThan(100 * MiB);
  }, 120_000);

  it('completes transfers intact through a path that drops 5% of UDP packets (XDP drop program on the peer side)', async () => {
    const object = join(dir, 'lossy.o');
    execFileSync('clang', ['-g', '-O2', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-DLOSS_PERMILLE=50', '-c', join(fixtures, 'lossy.bpf.c'), '-o', object]);
    await lab.exec(lab.b, 'ip', ['link', 'set', 'dev', lab.b.ifname, 'xdpgeneric', 'obj', object, 'sec', 'xdp']);
    try {
      const { port } = await startPeer(0);
      const t = await client();
      const { conn, sent, reply } = await hashedTransfer(t, port, 20 * MiB);
      expect(reply).toBe(`${20 * MiB} ${sent}`);
      const stats = conn.stats();
      console.log(`20 MiB through 5% loss: ${stats.lost} packets lost, ${stats.retrans} retransmitted, ${stats.sent} sent`);
      expect(stats.lost).toBeGreaterThan(0);
      expect(stats.streamRetransBytes).toBeGreaterThan(0);
    } finally {
      await lab.exec(lab.b, 'ip', ['link', 'set', 'dev', lab.b.ifname, 'xdpgeneric', 'off']);
    }
  }, 120_000);

  it('with a path MTU below the GSO segment size, UDP GSO turns itself off and the transfer completes intact', async () => {
    // Linux checks every send on a socket with UDP_SEGMENT against the route MTU
    // (EMSGSIZE, EINVAL on older kernels), so both ends must notice and resend.
    const setMtu = (mtu: number) =>
      Promise.all([lab.exec(lab.a, 'ip', ['link', 'set', 'dev', lab.a.ifname, 'mtu', String(mtu)]), lab.exec(lab.b, 'ip', ['link', 'set', 'dev', lab.b.ifname, 'mtu', String(mtu)])]);
    await setMtu(1280);
    try {
      const { port } = await startPeer(0);
      const t = await client();
      expect(t.stats().udpGso.segmentSize).toBe(1350);
      const { sent, reply } = await hashedTransfer(t, port, 4 * MiB);
      expect(reply).toBe(`${4 * MiB} ${sent}`);
      const { udpGso, datapaths } = t.stats();
      console.log(`GSO under MTU 1280: ${udpGso.reason}; ${datapaths[0]?.txErrors} send errors`);
      expect(udpGso).toMatchObject({ segmentSize: 0, reason: expect.stringMatching(/EINVAL|EMSGSIZE/) }); // 6.x kernels say EMSGSIZE
      expect(datapaths[0]?.txErrors).toBe(0); // refused sends were resent, not reported as lost
    } finally {
      await setMtu(1500);
    }
  }, 60_000);

  it('when the peer process vanishes, the idle timeout closes the connection and nothing is left', async () => {
    const { child, port } = await startPeer(0, 1000);
    const t = await client(1000);
    const conn = await t.connect(`[${lab.b.address}]:${port}`, { serverName: 'stoq.test' });
    await t.send(conn, Buffer.from('ping'));
    const [echo] = (await once(conn, 'message')) as [Buffer];
    expect(echo.toString()).toBe('ping');
    child.kill('SIGKILL');
    await once(child, 'exit');
    const started = Date.now();
    const [error] = (await once(conn, 'close')) as [unknown];
    expect(error).toBeInstanceOf(StoqIdleTimeoutError);
    expect(Date.now() - started).toBeLessThan(5000);
    await waitFor(() => t.stats().connections === 0, 1000, 'the connection to be removed');
  }, 30_000);
});
