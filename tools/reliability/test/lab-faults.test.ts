// Faults that need two hosts: the peer process killed (its connections must be
// cleaned up by the idle timeout) and the veth taken down and up mid-transfer (the
// connection must survive and the data arrive intact).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { once } from 'node:events';
import { createLab, type Lab } from '@stoq/netlab';
import { StoqTransport } from '@stoq/transport';
import { certificateFiles, startPeer } from '../src/lab-peer.ts';
import { echoTransfer } from '../src/transfer.ts';
import { isRoot, waitFor } from './helpers.ts';


const BYTES = 16 * 1024 * 1024;

describe('peer and link faults across the lab veth', skipUnless(isRoot, 'needs root: peer and link faults on a lab veth (network namespaces, BPF)'), () => {
  let lab: Lab;
  let certs: Awaited<ReturnType<typeof certificateFiles>>;
  const transports: StoqTransport[] = [];

  beforeAll(async () => {
    lab = await createLab({ hostSide: true, staticNeighbours: true, timeoutMs: 5 * 60_000 });
    certs = await certificateFiles();
  });
  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await lab?.destroy();
    certs?.remove();
  });

  it('a killed client process: its 20 connections are removed by the server idle timeout', async () => {
    const server = await StoqTransport.create({ address: lab.a.address, port: 0, tls: { cert: certs.cert, key: certs.key }, idleTimeoutMs: 2000 });
    transports.push(server);
    server.on('connection', () => {});
    const peer = await startPeer(lab, lab.b, ['clients', `[${lab.a.address}]:${server.address().port}`, '20', certs.certFile, '60000']);
    await waitFor(() => server.stats().connections === 20, 5000, '20 server-side connections');
    const timeoutsBefore = server.stats().endpoint.idleTimeouts;
    peer.child.kill('SIGKILL');
    await once(peer.child, 'exit');
    const started = Date.now();
    await waitFor(() => server.stats().connections === 0, 8000, 'the idle timeout to remove every connection');
    console.log(`20 connections of a killed peer removed after ${Date.now() - started} ms (idle timeout 2000 ms)`);
    expect(server.stats().endpoint.idleTimeouts - timeoutsBefore).toBe(20);
  }, 30_000);

  it('the link goes down for 1.5 s mid-transfer: the connection survives and the echo is intact', async () => {
    // Keep B's static address across the down event (IPv6 flushes it by default).
    await lab.exec(lab.b, 'sysctl', ['-qw', `net.ipv6.conf.${lab.b.ifname}.keep_addr_on_down=1`]);
    const peer = await startPeer<{ port: number }>(lab, lab.b, ['server', lab.b.address, '0', certs.certFile, certs.keyFile, '15000']);
    try {
      const client = await StoqTransport.create({ address: lab.a.address, port: 0, tls: { ca: certs.cert }, idleTimeoutMs: 15_000 });
      transports.push(client);
      const conn = await client.connect(`[${lab.b.address}]:${peer.ready.port}`, { serverName: 'stoq.test' });
      const stream = await conn.openStream();
      let echoed = 0;
      stream.on('data', (chunk: Buffer) => (echoed += chunk.byteLength));
      const startedAt = performance.now();
      const transfer = echoTransfer(stream, BYTES);
      await new Promise((r) => setTimeout(r, 150));
      await lab.exec(lab.b, 'ip', ['link', 'set', 'dev', lab.b.ifname, 'down']);
      const echoedAtDown = echoed;
      await new Promise((r) => setTimeout(r, 1500));
      const upAt = performance.now();
      await lab.exec(lab.b, 'ip', ['link', 'set', 'dev', lab.b.ifname, 'up']);
      const result = await transfer;
      const stats = conn.stats();
      console.log(`16 MiB echo across a 1.5 s link outage: ${(result.ms / 1000).toFixed(1)} s, ${echoedAtDown} bytes echoed when the link went down, ` +
        `${stats.lost} packets lost, ${stats.retrans} retransmitted`);
      expect(result.receivedSha256).toBe(result.sentSha256);
      // The outage really cut the transfer: the echo was incomplete once the link was down,
      // and ended only after the link was back (startedAt + ms is at most when it ended).
      // Not the client's own losses: those are the packets it happens to send into the
      // dead link, usually hundreds, at times 9 to 14, and 0 in one run in four of a
      // shuffled file order (the echo intact, 2.3 s in all).
      expect(echoedAtDown).toBeLessThan(BYTES);
      expect(startedAt + result.ms).toBeGreaterThan(upAt);
      expect(conn.closeError ?? null).toBeNull();
      await conn.close();
    } finally {
      peer.child.kill('SIGKILL');
    }
  }, 60_000);
});
