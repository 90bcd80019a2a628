// SPDX-License-Identifier: Apache-2.0
// A transport bound to one address of an interface takes only that address's QUIC
// over AF_XDP: a plain node:dgram socket bound to another address of the same
// interface, on the same port, still gets every datagram sent to it while stoq_xdp is
// attached (the program leaves them to the kernel: quic_passed), and updateXdpConfig()
// cannot widen the transport back to every address. Bound to '::', it takes QUIC to
// every address of the interface and answers each peer from the address it sent to;
// stoq_host_addrs follows the host's addresses as they are added and removed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ipv6ToBytes } from '@stoq/bpf-programs';
import { createSelfSignedCertificate, StoqInvalidConfigError, type StoqTransport } from '../src/index.js';
import { normaliseConfig } from '../src/config.js';
import { EndpointCore } from '../src/core/endpoint-core.js';
import { closeAll, isRoot, transport, waitFor } from './helpers.js';
import { createXdpLab, echo, type XdpLab } from './xdp-lab.js';

const peerScript = join(import.meta.dirname, 'fixtures', 'local-address-peer.mjs');
/** Plain datagrams per burst, and QUIC messages echoed alongside. */
const PLAIN = 200;
const MESSAGES = 20;
/**
 * How long an address added to or removed from the host may take to show in
 * stoq_host_addrs: the rtnetlink watch takes milliseconds; the previous 2 s poll needed
 * up to 2 s (and a removal right after an add it saw always took a whole period).
 */
const HOST_ADDRS_FOLLOW_MS = 1000;

describe('stoq_xdp with the transport bound to one address of the interface', skipUnless(isRoot, 'needs root: XDP attach and AF_XDP sockets on a veth lab'), () => {
  let x: XdpLab;
  let dir: string;
  let caFile: string;
  let cert: string;
  let key: string;
  /** The lab's address on side A (the transport's) and a second one on the same interface. */
  let addressA: string;
  let addressB: string;
  let other: Socket | undefined;
  const otherReceived: string[] = [];

  beforeAll(async () => {
    x = await createXdpLab();
    dir = mkdtempSync(join(tmpdir(), 'stoq-local-address-'));
    ({ cert, key } = await createSelfSignedCertificate({ hostnames: ['stoq.test'] }));
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, cert);
    addressA = x.lab.a.address;
    expect(addressA).toMatch(/::1$/);
    addressB = addressA.replace(/::1$/, '::3');
    await x.lab.exec(x.lab.a, 'ip', ['-6', 'addr', 'add', `${addressB}/64`, 'dev', x.lab.a.ifname, 'nodad']);
  });
  afterAll(async () => {
    try {
      other?.close();
      await closeAll();
    } finally {
      await x?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  async function server(address: string): Promise<StoqTransport> {
    const t = await transport({ address, port: 0, interface: x.lab.a.ifname, datapath: 'xdp', tls: { cert, key } });
    t.on('connection', (conn) => conn.on('message', (m: Buffer) => void t.send(conn, m).catch(() => {})));
    return t;
  }

  async function bindOther(port: number): Promise<void> {
    other = createSocket('udp6');
    other.on('message', (m) => otherReceived.push(m.toString()));
    await new Promise<void>((resolve, reject) => {
      other!.once('error', reject);
      other!.bind(port, addressB, resolve);
    });
  }

  const peer = async (args: string[]) => JSON.parse((await x.lab.exec(x.lab.b, process.execPath, [peerScript, ...args], 30_000)).stdout.trim()) as Record<string, number>;
  const plain = (port: number, tag: string) => peer(['plain', addressB, String(port), String(PLAIN), tag]);
  const quic = (to: string, port: number) => peer(['quic', x.lab.b.address, to, String(port), caFile, String(MESSAGES)]);

  /** Waits (bounded) until the other socket holds every datagram tagged `tag`; returns how many it got. */
  async function receivedByOther(tag: string): Promise<number> {
    const count = () => otherReceived.filter((m) => m.startsWith(`${tag} `)).length;
    const deadline = Date.now() + 5000;
    while (count() < PLAIN && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return count();
  }

  it('bound to A: datagrams to B on the same port reach the socket bound to B (quic_passed) while QUIC to A runs over AF_XDP', async () => {
    const t = await server(addressA);
    const port = t.address().port;
    await bindOther(port);
    expect(t.getEbpfStatus()).toMatchObject({ datapath: 'xdp', xdpAttached: [x.lab.a.ifname] });
    const before = t.stats().xdp!;

    const [sent, client] = await Promise.all([plain(port, 'first'), quic(addressA, port)]);
    expect(sent).toEqual({ sent: PLAIN });
    expect(client).toEqual({ echoed: MESSAGES });
    expect(await receivedByOther('first')).toBe(PLAIN);
    expect(new Set(otherReceived)).toEqual(new Set(Array.from({ length: PLAIN }, (_, i) => `first ${i}`)));

    const after = t.stats().xdp!;
    const moved = (name: keyof typeof after.programCounters) => after.programCounters[name] - before.programCounters[name];
    console.log(`bound to ${addressA}: ${PLAIN}/${PLAIN} datagrams to ${addressB} reached its own socket; AF_XDP rx ${after.rxDatagrams - before.rxDatagrams}, tx ${after.txDatagrams - before.txDatagrams}; quic_redirected +${moved('quic_redirected')}, quic_passed +${moved('quic_passed')}`);
    // The QUIC connection to A came in through AF_XDP; the plain datagrams to B did not.
    expect(after.rxDatagrams - before.rxDatagrams).toBeGreaterThanOrEqual(MESSAGES);
    expect(moved('quic_redirected')).toBeGreaterThanOrEqual(after.rxDatagrams - before.rxDatagrams);
    expect(moved('quic_passed')).toBeGreaterThanOrEqual(PLAIN);
    expect(after.rxUnparsed).toBe(before.rxUnparsed);
  }, 60_000);

  it('updateXdpConfig cannot take the bound address away: a new local address is refused, other changes keep it', async () => {
    await closeAll(); // one XDP program per interface: the previous test's goes first
    other?.close();
    otherReceived.length = 0;
    const t = await server(addressA);
    await bindOther(t.address().port);
    expect(() => t.updateXdpConfig({ localAddress: '::' } as never)).toThrow(StoqInvalidConfigError);
    expect(() => t.updateXdpConfig({ localAddress: addressB } as never)).toThrow(/bound address/);
    // The refusal says what to do instead (it had no hint).
    expect(() => t.updateXdpConfig({ localAddress: addressB } as never)).toThrow(expect.objectContaining({ hint: expect.stringMatching(/bound to the other address/) as unknown }));
    t.updateXdpConfig({ redirect: true, initialMinSize: undefined });
    t.updateXdpConfig({ localAddress: undefined } as never);
    const [sent, client] = await Promise.all([plain(t.address().port, 'second'), quic(addressA, t.address().port)]);
    expect(sent).toEqual({ sent: PLAIN });
    expect(client).toEqual({ echoed: MESSAGES });
    expect(await receivedByOther('second')).toBe(PLAIN);
  }, 60_000);

  it("bound to '::': QUIC to either address of the interface is the transport's, over AF_XDP, answered from that address", async () => {
    await closeAll();
    other?.close();
    other = undefined;
    // For the peer's ::2 the route's preferred source is B (::3, the longer match, RFC
    // 6724 rule 8), not the lab's A. The kernel socket bound to '::' would answer from B
    // only; frames built for AF_XDP leave from the address the peer sent to, so a
    // connection to A completes too (it used to get B's replies and never finish).
    const route = (await x.lab.exec(x.lab.a, 'ip', ['-6', '-j', 'route', 'get', x.lab.b.address])).stdout;
    expect((JSON.parse(route) as Array<{ prefsrc?: string }>)[0]?.prefsrc).toBe(addressB);
    const t = await server('::');
    const port = t.address().port;
    for (const to of [addressA, addressB]) {
      // Our entry for the peer made STALE: to A, the next hop asks the kernel to
      // re-validate it (touchNeighbour6) and every reply leaves as a frame from A. The
      // probe used to be a datagram through the kernel socket (an empty one from B).
      await x.lab.exec(x.lab.a, 'ip', ['-6', 'neigh', 'change', x.lab.b.address, 'dev', x.lab.a.ifname, 'nud', 'stale']);
      const before = t.stats().xdp!;
      expect(await quic(to, port)).toEqual({ echoed: MESSAGES });
      const after = t.stats().xdp!;
      console.log(`bound to '::', client to ${to}: AF_XDP rx ${after.rxDatagrams - before.rxDatagrams}, tx ${after.txDatagrams - before.txDatagrams}, via kernel ${after.txViaKernel - before.txViaKernel}, neighbour probes ${after.neighbourProbes - before.neighbourProbes}`);
      if (to === addressA) {
        // Not the route's preferred source: resolved on the spot, every reply a frame.
        expect(after.neighbourProbes - before.neighbourProbes).toBeGreaterThanOrEqual(1);
        expect(after.txViaKernel - before.txViaKernel).toBe(0);
      } else {
        // The preferred source: resolved off the send path as when bound, so the first
        // flight goes through the kernel socket (from B, the right address), which moves
        // the STALE entry on itself; the rest are frames.
        expect(after.txViaKernel - before.txViaKernel).toBeGreaterThanOrEqual(1);
        expect(after.txViaKernel - before.txViaKernel).toBeLessThanOrEqual(4);
      }
      expect(after.txViaKernelOtherSource - before.txViaKernelOtherSource).toBe(0);
      expect(after.neighbourProbeErrors).toBe(0);
      expect(after.rxDatagrams - before.rxDatagrams).toBeGreaterThanOrEqual(MESSAGES);
      expect(after.txDatagrams - before.txDatagrams).toBeGreaterThanOrEqual(MESSAGES);
      expect(after.programCounters.quic_redirected - before.programCounters.quic_redirected).toBeGreaterThanOrEqual(MESSAGES);
      expect(after.programCounters.quic_passed - before.programCounters.quic_passed).toBe(0);
    }
    // The host's addresses are listed (both of the interface among them) and the check is
    // the transport's, not updateXdpConfig()'s.
    expect(t.stats().xdp!.hostAddresses).toBeGreaterThanOrEqual(2);
    expect(() => t.updateXdpConfig({ checkLocalAddrs: false } as never)).toThrow(StoqInvalidConfigError);
    expect(() => t.updateXdpConfig({ checkLocalAddrs: true } as never)).toThrow(StoqInvalidConfigError);
  }, 90_000);

  it("bound to '::', an outbound connection: only its first Initial goes through the kernel; the first reply (to our preferred source) keeps the hop (the previous code dropped it: a second datagram via the kernel, fails)", async () => {
    await closeAll();
    const hashPeer = await x.startPeer({});
    const t = await x.client({ address: '::', port: 0, interface: x.lab.a.ifname, datapath: 'xdp' });
    expect(t.getEbpfStatus().datapath).toBe('xdp');
    const before = t.stats().xdp!;
    const conn = await t.connect(x.target(hashPeer), { serverName: 'stoq.test' });
    for (let i = 0; i < 5; i++) expect(await echo(t, conn, 1000)).toBe(true);
    const after = t.stats().xdp!;
    console.log(`bound to '::', outbound: AF_XDP rx ${after.rxDatagrams - before.rxDatagrams}, tx ${after.txDatagrams - before.txDatagrams}, via kernel ${after.txViaKernel - before.txViaKernel}`);
    expect(after.rxDatagrams - before.rxDatagrams).toBeGreaterThan(0);
    expect(after.txViaKernel - before.txViaKernel).toBe(1);
    expect(after.txViaKernelOtherSource - before.txViaKernelOtherSource).toBe(0);
    await conn.close();
    await t.close();
  }, 60_000);

  it("bound to '::', a peer counts as connected (its record evicted last) once its handshake completes, not on an accepted Initial (a spoofed source never completes one; the previous code counted it: fails)", async () => {
    await closeAll();
    const t = await server('::');
    const port = t.address().port;
    // A real client Initial, sent from B by a socket that never answers: a spoofed source.
    const spoofed = new EndpointCore(normaliseConfig({ tls: { ca: cert } }), { address: x.lab.b.address, port: 40000 });
    spoofed.connect({ address: addressA, port }, 'stoq.test', performance.now());
    const initial = spoofed.pollTransmits(performance.now(), 10).map((d) => Buffer.from(d.data).toString('hex'));
    expect(await peer(['send', addressA, String(port), ...initial])).toEqual({ sent: initial.length });
    await waitFor(() => t.stats().connections === 1, 5000, 'the Initial accepted');
    // Our first flight went to it (a record), but it is not connected.
    expect(t.stats().xdp!.peers).toBeGreaterThanOrEqual(1);
    expect(t.stats().xdp!.connectedPeers).toBe(0);
    const atConnection: number[] = [];
    t.on('connection', () => atConnection.push(t.stats().xdp!.connectedPeers));
    expect(await quic(addressA, port)).toEqual({ echoed: MESSAGES });
    expect(atConnection).toEqual([1]);
    // The real client closed; the half-open one is still there (until its idle timeout).
    await waitFor(() => t.stats().connections === 1, 5000, 'the real connection closed');
    expect(t.stats().xdp!.connectedPeers).toBe(0);
  }, 60_000);

  it("bound to '::': a re-attach after a detach from outside lists the host's addresses again", async () => {
    await closeAll();
    const t = await server('::');
    const port = t.address().port;
    const { stdout } = await x.lab.exec(x.lab.a, 'bpftool', ['-j', 'net', 'show', 'dev', x.lab.a.ifname]);
    const programId = (JSON.parse(stdout) as Array<{ xdp: Array<{ id: number }> }>)[0]?.xdp[0]?.id;
    const links = JSON.parse((await x.lab.exec(x.lab.a, 'bpftool', ['-j', 'link', 'show'])).stdout) as Array<{ id: number; type: string; prog_id: number }>;
    const link = links.find((l) => l.type === 'xdp' && l.prog_id === programId);
    expect(link).toBeDefined();
    const changed = new Promise((resolve) => t.once('datapathChange', resolve));
    await x.lab.exec(x.lab.a, 'bpftool', ['link', 'detach', 'id', String(link!.id)]);
    await Promise.race([changed, new Promise((_, reject) => setTimeout(() => reject(new Error('no datapathChange within 5 s')), 5000))]);
    expect(t.getEbpfStatus().datapath).toBe('dgram');
    await t.attachXdpToInterface(x.lab.a.ifname);
    expect(t.stats().xdp!.hostAddresses).toBeGreaterThanOrEqual(2);
    // The map is really in use: QUIC to the interface's address comes in over AF_XDP.
    const before = t.stats().xdp!;
    expect(await quic(addressA, port)).toEqual({ echoed: MESSAGES });
    const after = t.stats().xdp!;
    expect(after.rxDatagrams - before.rxDatagrams).toBeGreaterThanOrEqual(MESSAGES);
    expect(after.programCounters.quic_passed - before.programCounters.quic_passed).toBe(0);
  }, 60_000);
  it("bound to '::': an address added to the host is in stoq_host_addrs within milliseconds, and gone as fast once removed (the rtnetlink watch; the previous code polled every 2 s: fails)", async () => {
    await closeAll();
    const t = await server('::');
    const { stdout } = await x.lab.exec(x.lab.a, 'bpftool', ['-j', 'net', 'show', 'dev', x.lab.a.ifname]);
    const programId = (JSON.parse(stdout) as Array<{ xdp: Array<{ id: number }> }>)[0]?.xdp[0]?.id;
    const program = JSON.parse((await x.lab.exec(x.lab.a, 'bpftool', ['-j', 'prog', 'show', 'id', String(programId)])).stdout) as { map_ids: number[] };
    let mapId: number | undefined;
    for (const id of program.map_ids) {
      const map = JSON.parse((await x.lab.exec(x.lab.a, 'bpftool', ['-j', 'map', 'show', 'id', String(id)])).stdout) as { name: string };
      if (map.name === 'stoq_host_addrs') mapId = id;
    }
    expect(mapId).toBeDefined();
    /** The map's keys (16-byte addresses), as hex strings. */
    const keys = async () => (JSON.parse((await x.lab.exec(x.lab.a, 'bpftool', ['-j', 'map', 'dump', 'id', String(mapId)])).stdout) as Array<{ key: string[] }>)
      .map((entry) => entry.key.map((b) => b.replace(/^0x/, '')).join(''));
    const keyOf = (address: string) => Buffer.from(ipv6ToBytes(address)).toString('hex');
    expect(await keys()).toContain(keyOf(addressA));
    /** Runs `ip` on side A and polls the map until `address` is in it (or not); returns the milliseconds taken. */
    async function follow(address: string, change: 'add' | 'del'): Promise<number> {
      const started = performance.now();
      await x.lab.exec(x.lab.a, 'ip', ['-6', 'addr', change, `${address}/128`, 'dev', x.lab.a.ifname, ...(change === 'add' ? ['nodad'] : [])]);
      const deadline = started + HOST_ADDRS_FOLLOW_MS;
      for (;;) {
        if ((await keys()).includes(keyOf(address)) === (change === 'add')) return performance.now() - started;
        if (performance.now() > deadline) throw new Error(`${address} still ${change === 'add' ? 'missing from' : 'in'} stoq_host_addrs ${HOST_ADDRS_FOLLOW_MS} ms after ip addr ${change}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const timings: string[] = [];
    for (const n of [0x77, 0x78]) {
      const address = addressA.replace(/::1$/, `::${n.toString(16)}`);
      expect(await keys()).not.toContain(keyOf(address));
      // Judged by the map's keys, not stats().xdp.hostAddresses: test files running beside
      // this one add and remove their own labs' addresses in this namespace.
      const added = await follow(address, 'add');
      const removed = await follow(address, 'del');
      timings.push(`${address}: in the map ${added.toFixed(0)} ms after ip addr add, out ${removed.toFixed(0)} ms after ip addr del`);
    }
    console.log(`bound to '::', stoq_host_addrs following the host (each time including the ip process and a bpftool dump): ${timings.join('; ')}`);
  }, 60_000);
});
