// SPDX-License-Identifier: Apache-2.0
// getEbpfMetrics(): on the XDP datapath (lab veth, native XDP, copy-mode AF_XDP) the
// numbers are the kernel's and the sockets' after a real transfer; on dgram the kernel
// sections are unavailable with the reason, and what dgram really measures is there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import type { EbpfMetrics, StoqConnection, StoqTransport } from '../src/index.js';
import { closeAll, isRoot, loopbackPair, waitFor, hashedReply } from './helpers.js';
import { createXdpLab, type Peer, type XdpLab } from './xdp-lab.js';


const MiB = 1024 * 1024;

function available<T extends { available: boolean }>(section: T): Extract<T, { available: true }> {
  if (!section.available) throw new Error(`unavailable: ${(section as { reason?: string }).reason}`);
  return section as Extract<T, { available: true }>;
}

async function streamOnce(conn: StoqConnection, bytes: number): Promise<string> {
  const { sent, reply } = await hashedReply(conn, bytes);
  expect(reply).toBe(`${bytes} ${sent}`);
  return sent;
}

describe('getEbpfMetrics() on the dgram datapath', () => {
  afterAll(closeAll);

  it('reports the kernel sections unavailable with the reason, and real QUIC and copy counts', async () => {
    const { server, client, target } = await loopbackPair({ datapath: 'dgram' }, { datapath: 'dgram' });
    const conn = await client.connect(target, { serverName: 'localhost' });
    expect(client.connections()).toEqual([conn]);
    await client.send(conn, Buffer.from('ping'));
    const metrics = (await client.collectEbpfMetrics())!;
    const reason = "datapath 'dgram' requested";
    expect(metrics.packetMetrics).toEqual({ available: false, reason });
    expect(metrics.connectionMetrics.conntrack).toEqual({ available: false, reason });
    expect(metrics.latencyMetrics).toMatchObject({ available: false });
    const quic = available(metrics.connectionMetrics.quic);
    expect(quic.connections).toBe(1);
    expect(quic.cwndBytes).toBeGreaterThan(0);
    expect(quic.rttUs).not.toBeNull();
    const memory = available(metrics.memoryMetrics);
    const dgram = client.stats().datapaths[0]!;
    // Every datagram went through the kernel socket: copied, none zero-copy.
    expect(memory.zeroCopyOps).toBe(0);
    expect(memory.memcpyOps).toBeGreaterThan(0);
    expect(memory.memcpyOps).toBeLessThanOrEqual(dgram.memcpyOps);
    expect(client.getEbpfMetrics()).toMatchObject({ packetMetrics: { available: false, reason } });

    await conn.close();
    expect(client.connections()).toEqual([]);
    await client.close();
    expect(client.getEbpfMetrics()).toBeNull();
    await server.close();
  });
});

describe('getEbpfMetrics() on the XDP datapath across a veth pair', skipUnless(isRoot, 'needs root: XDP attach and AF_XDP sockets on a veth lab'), () => {
  let x: XdpLab;
  let peer: Peer;
  let t: StoqTransport;

  beforeAll(async () => {
    x = await createXdpLab();
    peer = await x.startPeer({ STOQ_DATAPATH: 'dgram' });
    t = await x.client({ interface: x.lab.a.ifname });
  });
  afterAll(async () => {
    await x?.destroy();
  });

  it('after a transfer: verdicts match what stoq_xdp counted, conntrack has one established peer, latency percentiles are there', async () => {
    expect(t.getEbpfStatus()).toMatchObject({ datapath: 'xdp', afXdpMode: 'copy' });
    const conn = await t.connect(x.target(peer), { serverName: 'stoq.test' });
    await streamOnce(conn, 4 * MiB);

    const before = t.stats().xdp!;
    const metrics: EbpfMetrics = (await t.collectEbpfMetrics())!;
    const after = t.stats().xdp!;
    const packets = available(metrics.packetMetrics);
    const redirected = packets.verdicts['quic_redirected']!.total;
    console.log(`XDP metrics after 4 MiB: rx ${packets.packetsTotal} frames, quic_redirected ${redirected}, ` +
      `AF_XDP rx ${before.rxDatagrams}; conntrack ${JSON.stringify(metrics.connectionMetrics.conntrack)}; ` +
      `latency ${JSON.stringify(metrics.latencyMetrics)}`);
    // The collector read the same kernel counters the datapath reads, between two direct reads.
    expect(redirected).toBeGreaterThanOrEqual(before.programCounters.quic_redirected);
    expect(redirected).toBeLessThanOrEqual(after.programCounters.quic_redirected);
    // Every QUIC datagram the client received over AF_XDP (handshake, the peer's acks, its reply) was redirected by the program.
    expect(redirected).toBeGreaterThanOrEqual(before.rxDatagrams);
    expect(before.rxDatagrams).toBeGreaterThan(20);
    // Exactly one class counter per frame.
    const classified = Object.values(packets.verdicts).reduce((n, v) => n + v.total, 0);
    expect(Math.abs(packets.packetsTotal - classified)).toBeLessThanOrEqual(2);

    const conntrack = available(metrics.connectionMetrics.conntrack);
    expect(conntrack.byState).toEqual({ initial: 0, handshake: 0, established: 1, closing: 0 });

    const latency = available(metrics.latencyMetrics);
    expect(latency.samples).toBeGreaterThanOrEqual(before.rxDatagrams);
    expect(latency.p50Us).toBeGreaterThan(0);
    expect(latency.p50Us).toBeLessThanOrEqual(latency.p95Us);
    expect(latency.p95Us).toBeLessThanOrEqual(latency.p99Us);
    expect(latency.minUs).toBeLessThanOrEqual(latency.p50Us);

    // veth has no zero-copy: every AF_XDP packet was copied, and so was every dgram one.
    const memory = available(metrics.memoryMetrics);
    expect(memory.zeroCopyOps).toBe(0);
    expect(memory.memcpyOps).toBeGreaterThanOrEqual(before.memcpyOps);
    expect(available(metrics.memoryMetrics.process).umemBytes).toBeGreaterThan(0);

    const quic = available(metrics.connectionMetrics.quic);
    expect(quic.connections).toBe(1);
    expect(quic.cwndBytes).toBeGreaterThan(0);

    // The synchronous getter serves the background snapshot: within a poll it shows the transfer too.
    await waitFor(() => {
      const m = t.getEbpfMetrics();
      return !!m && m.packetMetrics.available && m.packetMetrics.verdicts['quic_redirected']!.total >= redirected;
    }, 5000, 'getEbpfMetrics() to catch up');

    await conn.close();
    await waitFor(() => {
      const c = t.getEbpfMetrics()?.connectionMetrics.conntrack;
      return !!c && c.available && c.byState['closing'] === 1;
    }, 5000, 'the closed connection to show as closing');
  }, 60_000);
});
