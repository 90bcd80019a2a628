// Loss, duplication and reordering injected by our own tc program on both ends of the
// lab veth: echo transfers (server in namespace B, client here) must come back
// byte-for-byte, and the injector's counters prove the faults really happened.
// Both ends send without UDP GSO: tc egress sees a GSO run as one skb, so the injector's
// rates would apply per run (up to 48 datagrams) instead of per datagram.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { createLab, type Lab } from '@stoq/netlab';
import { StoqTransport } from '@stoq/transport';
import { attachFaults, type FaultInjector, type FaultRates } from '../src/faults.ts';
import { certificateFiles, startPeer, type Peer } from '../src/lab-peer.ts';
import { echoTransfer } from '../src/transfer.ts';
import { udp6Flood } from '../src/xsk-rings.ts';
import { isRoot } from './helpers.ts';

const KiB = 1024;

describe('transfers under injected faults (tc egress on both veth ends)', skipUnless(isRoot, 'needs root: tc fault injection on a lab veth (network namespaces, BPF)'), () => {
  let lab: Lab;
  let certs: Awaited<ReturnType<typeof certificateFiles>>;
  let peer: Peer<{ port: number }>;
  let client: StoqTransport;
  let injectors: FaultInjector[] = [];

  beforeAll(async () => {
    lab = await createLab({ hostSide: true, staticNeighbours: true, timeoutMs: 5 * 60_000 });
    certs = await certificateFiles();
    peer = await startPeer(lab, lab.b, ['server', lab.b.address, '0', certs.certFile, certs.keyFile, '15000', 'nogso']);
    injectors = [await attachFaults(lab, lab.a), await attachFaults(lab, lab.b)];
    client = await StoqTransport.create({ address: lab.a.address, port: 0, tls: { ca: certs.cert }, idleTimeoutMs: 15_000, udpGso: false });
  });

  afterAll(async () => {
    await client?.close();
    peer?.child.kill('SIGKILL');
    for (const i of injectors) await i.detach();
    await lab?.destroy();
    certs?.remove();
  });

  const cases: Array<[string, FaultRates, keyof Awaited<ReturnType<FaultInjector['counters']>>]> = [];
  for (const rate of [0.01, 0.05, 0.2]) {
    cases.push([`loss ${rate * 100}%`, { loss: rate }, 'dropped']);
    cases.push([`duplication ${rate * 100}%`, { duplicate: rate }, 'duplicated']);
    cases.push([`reordering ${rate * 100}%`, { reorder: rate }, 'released']);
  }
  cases.push(['all three at 5%', { loss: 0.05, duplicate: 0.05, reorder: 0.05 }, 'dropped']);

  it('a refused rate attaches nothing, so the next attach on that side works', async () => {
    // Side B carries an injector from beforeAll: take it off, fail an attach, attach again.
    const [, b] = injectors;
    await b!.detach();
    await expect(attachFaults(lab, lab.b, { loss: 1.5 })).rejects.toThrow(/not in \[0, 1\]/);
    const qdiscs = (await lab.exec(lab.b, 'tc', ['qdisc', 'show', 'dev', lab.b.ifname])).stdout;
    expect(qdiscs).not.toMatch(/clsact/);
    injectors[1] = await attachFaults(lab, lab.b); // "Exclusivity flag on" if the clsact had stayed
  });

  it('a reordered datagram waits for a successor at most about maxHoldMs (2 ms): a nudge sends it', async () => {
    // A delay is read from two processes' clocks (this one's before the send, the
    // receiver's on arrival) and so holds their scheduling too, and the nudger's: under
    // load one read 79 ms (another 58 ms, the other eight 0.5-4.4 ms). A long gap keeps a
    // nudged release (a few ms) and a release by the successor (GAP_MS) far apart.
    const GAP_MS = 200;
    const COUNT = 10;
    // Receiver in B: records the monotonic arrival time of each datagram (index in byte 0).
    const receiver = lab.spawn(lab.b, process.execPath, ['-e', `
      const s = require('node:dgram').createSocket('udp6');
      const got = [];
      s.on('message', (m) => got.push([m[0], Number(process.hrtime.bigint())]));
      s.bind(9393, process.argv[1], () => console.log('ready'));
      setTimeout(() => { console.log(JSON.stringify(got)); process.exit(0); }, ${GAP_MS * COUNT + 1500});
    `, lab.b.address]);
    let out = '';
    receiver.stdout!.on('data', (d) => (out += d));
    await new Promise<void>((resolve, reject) => {
      receiver.stdout!.on('data', () => out.includes('ready') && resolve());
      receiver.once('exit', (code) => reject(new Error(`receiver exited early (${code})`)));
    });
    const [a] = injectors;
    await a!.set({ reorder: 1 }); // every datagram is held; nothing follows it for GAP_MS
    const before = await a!.counters();
    const sender = (await import('node:dgram')).createSocket('udp6');
    const sentAt: number[] = [];
    try {
      for (let i = 0; i < COUNT; i++) {
        sentAt.push(Number(process.hrtime.bigint()));
        sender.send(Buffer.from([i]), 9393, lab.b.address);
        await new Promise((r) => setTimeout(r, GAP_MS));
      }
    } finally {
      await a!.set({});
      sender.close();
    }
    const after = await a!.counters();
    await new Promise((r) => receiver.once('exit', r));
    const got = JSON.parse(out.trim().split('\n').pop()!) as Array<[number, number]>;
    const delaysMs = got.map(([i, t]) => (t - sentAt[i]!) / 1e6);
    console.log(`held ${after.held - before.held}, freed by a nudge ${after.nudgeReleased - before.nudgeReleased}; delays ${delaysMs.map((d) => d.toFixed(1)).join(' ')} ms`);
    expect(got.map(([i]) => i)).toEqual([...Array(COUNT).keys()]);
    expect(after.nudgeReleased - before.nudgeReleased).toBeGreaterThanOrEqual(COUNT - 1);
    // Without nudges each would wait for the next datagram, GAP_MS later.
    expect(Math.max(...delaysMs)).toBeLessThan(GAP_MS / 2);
  });

  it('reordering packets sent from both CPUs at once: every held packet is released exactly once', async () => {
    // One hold slot serves every CPU; two floods on two CPUs race for it. A slot taken
    // without an atomic claim releases a packet twice or overwrites one (before the
    // claim: 14,243 released of 12,869 held).
    const [a] = injectors;
    await a!.set({ reorder: 0.5 });
    const before = await a!.counters();
    try {
      await Promise.all(['0', '1'].map((cpu) => lab.exec(lab.a, 'taskset', ['-c', cpu, udp6Flood, lab.b.address, '9400', '64', '20000', '5'], 20_000)));
    } finally {
      await a!.set({});
    }
    // Nudges (every 2 ms, from a process of their own) send whatever is still held: wait
    // for that, bounded, not a fixed 100 ms (the nudged delays above once read 79 ms).
    let after = await a!.counters();
    for (const deadline = Date.now() + 5_000; after.released - before.released < after.held - before.held && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 20));
      after = await a!.counters();
    }
    const held = after.held - before.held;
    const released = after.released - before.released;
    console.log(`two CPUs, reorder 50 %: seen ${after.seen - before.seen}, held ${held}, released ${released} (by a nudge ${after.nudgeReleased - before.nudgeReleased}), not held for a taken slot ${after.holdFailed - before.holdFailed}`);
    expect(held).toBeGreaterThan(1000);
    expect(released).toBe(held);
  }, 30_000);

  // The faults start once the connection is up. A handshake that loses packets at 20 %
  // takes its first RTT sample from a retransmitted flight (the smoothed RTT read 670-875
  // ms after 1-3 s handshakes), so the data's probe timeouts start at seconds and back
  // off from there. `stall-hunt --fault loss --rate 0.2` (174 echoes of 512 KiB, faults
  // from the first packet): after a clean handshake every transfer took at most 3.2 s;
  // the slow ones followed 1-3 s handshakes (up to 5.2 s), and three connections stopped
  // within their first 45 packets until the 6 s idle timeout closed them. One CI run of
  // this case did not finish within 60 s; it left no dump, so this is the likeliest
  // cause, not a proven one. Handshakes under loss are quiche's RFC 9002 recovery.
  it.each(cases)('%s: a 512 KiB echo comes back intact', async (_name, rates, proof) => {
    const conn = await client.connect(`[${lab.b.address}]:${peer.ready.port}`, { serverName: 'stoq.test' });
    for (const i of injectors) await i.set(rates);
    const before = await Promise.all(injectors.map((i) => i.counters()));
    try {
      const result = await echoTransfer(await conn.openStream(), 512 * KiB);
      expect(result.receivedBytes).toBe(result.bytes);
      expect(result.receivedSha256).toBe(result.sentSha256);
      await conn.close();
    } finally {
      for (const i of injectors) await i.set({});
    }
    const after = await Promise.all(injectors.map((i) => i.counters()));
    const injected = after.reduce((sum, c, k) => sum + c[proof] - before[k]![proof], 0);
    const seen = after.reduce((sum, c, k) => sum + c.seen - before[k]!.seen, 0);
    console.log(`${_name}: ${seen} packets seen, ${injected} ${proof}`);
    expect(injected).toBeGreaterThan(0);
  }, 60_000);
});
