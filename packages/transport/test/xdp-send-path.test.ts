// SPDX-License-Identifier: Apache-2.0
// The XDP datapath's transmit side against what the kernel path does by itself: the
// interface and path MTU, source-based policy routing, a link that goes down and comes
// back, a peer's (and our own) MAC changing, a send that fails halfway through a TX
// chunk, and latency samples only while stoq_xdp stamps them. The peer in B is a
// dgram transport, so every frame the XDP client builds has to be right for the kernel.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { constants } from 'node:os';
import type { Udp6FrameSpec } from '@stoq/af-xdp';
import { DgramDatapath } from '../src/datapath/dgram-datapath.js';
import { climbLadder } from '../src/datapath/xdp/ladder.js';
import { loadNativeModules, type NativeModules } from '../src/datapath/xdp/native-modules.js';
import { StoqError, StoqLinkDownError, type StoqConnection, type StoqTransport } from '../src/index.js';
import { closeAll, isRoot, sha256, within } from './helpers.js';
import { createXdpLab, echo, type Peer, type XdpLab } from './xdp-lab.js';

interface Capture {
  child: ChildProcess;
  ready: Promise<void>;
  output: Promise<string>;
}


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Longer than a next hop's refresh period (2 s). */
const REFRESH_MS = 2300;

/**
 * Lets a next hop refresh: a hop is re-read off the send path, so the first send after
 * the refresh period starts it (and still uses the old hop), and it completes on the
 * next turn of the event loop (setImmediate; a busy machine can deliver the echo first).
 */
async function refreshHops(t: StoqTransport, conn: StoqConnection): Promise<void> {
  await sleep(REFRESH_MS);
  expect(await echo(t, conn, 100)).toBe(true);
  await new Promise((resolve) => setImmediate(resolve));
}

describe('XDP send path', skipUnless(isRoot, 'needs root: XDP attach and AF_XDP sockets on a veth lab'), () => {
  let x: XdpLab;
  let peer: Peer;
  let A: string;

  beforeAll(async () => {
    x = await createXdpLab();
    peer = await x.startPeer({});
    A = x.lab.a.ifname;
  });
  afterEach(async () => {
    await closeAll();
  });
  afterAll(async () => {
    await x?.destroy();
  });

  const ipA = (...args: string[]) => x.lab.exec(x.lab.a, 'ip', args);
  const ipB = (...args: string[]) => x.lab.exec(x.lab.b, 'ip', args);

  /** python3 `args` in B: `ready` once it prints READY, `output` (all of stdout) once it exits 0; killed after 15 s. */
  function startCapture(args: string[]): Capture {
    const child = x.lab.spawn(x.lab.b, 'python3', args);
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const output = new Promise<string>((resolve, reject) => child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`capture in B exited with ${code ?? signal}: ${stderr}`));
    }));
    const ready = new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (/^READY$/m.test(stdout)) resolve();
      });
      output.then(() => reject(new Error(`capture in B ended before READY: ${stdout}`)), reject);
    });
    // Awaited (or not) by the caller; a failure is reported there, not as unhandled.
    output.catch(() => {});
    return { child, ready, output };
  }

  async function connected(config: { idleTimeoutMs?: number } = {}) {
    const t = await x.client({ interface: A, datapath: 'xdp', ...config });
    const conn = await t.connect(x.target(peer), { serverName: 'stoq.test' });
    return { t, conn };
  }

  it('a datagram larger than the next hop’s MTU goes through the kernel: interface MTU read at attach, a route mtu picked up at refresh', async () => {
    const setMtu = async (mtu: number) => {
      await ipA('link', 'set', 'dev', A, 'mtu', String(mtu));
      await ipB('link', 'set', 'dev', x.lab.b.ifname, 'mtu', String(mtu));
    };
    try {
      await setMtu(1280);
      const { t, conn } = await connected({ idleTimeoutMs: 20_000 });
      expect(await within(echo(t, conn, 100), 5000, 'echo 100 B')).toBe(true);
      // quiche's full datagrams (1350 B, 1398-byte IPv6 packets) do not fit 1280.
      expect(await within(echo(t, conn, 64 * 1024), 10_000, 'echo 64 KiB at mtu 1280')).toBe(true);
      const small = t.stats().xdp!;
      expect(small.txViaKernelMtu).toBeGreaterThan(20);
      expect(small.txDatagrams).toBeGreaterThan(0); // the small ones still leave through AF_XDP

      await setMtu(1500);
      await refreshHops(t, conn);
      const before = t.stats().xdp!;
      expect(await within(echo(t, conn, 64 * 1024), 10_000, 'echo 64 KiB at mtu 1500')).toBe(true);
      const wide = t.stats().xdp!;
      expect(wide.txDatagrams - before.txDatagrams).toBeGreaterThan(30);
      expect(wide.txViaKernelMtu - before.txViaKernelMtu).toBe(0);

      // A route mtu (what a Packet Too Big leaves behind, too) below the interface's.
      await ipA('-6', 'route', 'add', `${x.lab.b.address}/128`, 'dev', A, 'mtu', '1300');
      await refreshHops(t, conn);
      expect(await within(echo(t, conn, 64 * 1024), 10_000, 'echo 64 KiB with route mtu 1300')).toBe(true);
      const routed = t.stats().xdp!;
      console.log(`MTU: 64 KiB echoed at 1280 with ${small.txViaKernelMtu} datagrams via the kernel, at 1500 with ${wide.txViaKernelMtu - before.txViaKernelMtu}, with route mtu 1300 with ${routed.txViaKernelMtu - wide.txViaKernelMtu}`);
      expect(routed.txViaKernelMtu - wide.txViaKernelMtu).toBeGreaterThan(20);
    } finally {
      await ipA('-6', 'route', 'del', `${x.lab.b.address}/128`, 'dev', A).catch(() => {});
      await setMtu(1500);
    }
  }, 60_000);

  it("bound to one address, 'ip rule from' policy routing picks the next hop, as for the kernel socket", async () => {
    const b = x.lab.b.address;
    const cleanup: Array<() => Promise<unknown>> = [];
    try {
      // Main table: B through a gateway whose MAC nobody has. Table 1234, for traffic
      // from our bound address: B on-link.
      await ipA('-6', 'neigh', 'replace', 'fe80::dead', 'lladdr', '02:00:00:00:de:ad', 'dev', A, 'nud', 'permanent');
      cleanup.push(() => ipA('-6', 'neigh', 'del', 'fe80::dead', 'dev', A));
      await ipA('-6', 'route', 'add', `${b}/128`, 'via', 'fe80::dead', 'dev', A);
      cleanup.push(() => ipA('-6', 'route', 'del', `${b}/128`, 'via', 'fe80::dead', 'dev', A));
      await ipA('-6', 'route', 'add', `${b}/128`, 'dev', A, 'table', '1234');
      cleanup.push(() => ipA('-6', 'route', 'flush', 'table', '1234'));
      await ipA('-6', 'rule', 'add', 'from', x.lab.a.address, 'lookup', '1234', 'prio', '100');
      cleanup.push(() => ipA('-6', 'rule', 'del', 'from', x.lab.a.address, 'lookup', '1234', 'prio', '100'));

      const { t, conn } = await connected();
      expect(t.address().address).toBe(x.lab.a.address);
      for (let i = 0; i < 3; i++) {
        expect(await within(echo(t, conn, 3000), 5000, `echo ${i}`)).toBe(true);
        await sleep(100);
      }
      const stats = t.stats().xdp!;
      expect(stats.txDatagrams).toBeGreaterThan(5); // over AF_XDP, to B's own MAC
    } finally {
      for (const undo of cleanup.reverse()) await undo().catch(() => {});
    }
  }, 30_000);

  it('interface down with frames on the TX ring: no busy loop, STOQ_ERR_LINK_DOWN (ENETDOWN) reported once; up again: the connection carries on over AF_XDP', async () => {
    await x.lab.exec(x.lab.a, 'sysctl', ['-qw', `net.ipv6.conf.${A}.keep_addr_on_down=1`]);
    const { t, conn } = await connected({ idleTimeoutMs: 30_000 });
    let delayed: Promise<[Buffer]> | undefined;
    let delayedHash = '';
    const errors: Error[] = [];
    t.on('datapathError', (e) => errors.push(e));
    expect(await echo(t, conn, 2000)).toBe(true);
    try {
      await ipA('link', 'set', A, 'down');
      // Sent while down: its frames wait on the TX ring, its echo comes once the link is back.
      const message = randomBytes(20_000);
      delayed = once(conn, 'message') as Promise<[Buffer]>;
      void t.send(conn, message).catch(() => {});
      delayedHash = sha256(message);
      await sleep(200);
      const cpu0 = process.cpuUsage();
      const wall0 = performance.now();
      await sleep(2000);
      const cpu = process.cpuUsage(cpu0);
      const share = (cpu.user + cpu.system) / 1000 / (performance.now() - wall0);
      const down = t.stats().xdp!;
      const linkErrors = errors.filter((e) => e instanceof StoqLinkDownError);
      console.log(`link down for 2 s: CPU ${(100 * share).toFixed(1)}% of a core; reported: ${linkErrors.map((e) => e.message).join(' | ')}`);
      expect(share).toBeLessThan(0.25);
      expect(linkErrors).toHaveLength(1);
      expect(linkErrors[0]!.message).toMatch(new RegExp(`${A}.*administratively down.*ip link show ${A}`));
      expect(linkErrors[0]).toBeInstanceOf(StoqError);
      expect(linkErrors[0]).toMatchObject({
        name: 'StoqLinkDownError', code: 'STOQ_ERR_LINK_DOWN', errno: -constants.errno.ENETDOWN, errnoCode: 'ENETDOWN',
        interface: A, operation: 'send', hint: `check: ip link show ${A}`,
      });
      expect(errors.filter((e) => /ENETDOWN|AF_XDP transmit/.test(e.message))).toHaveLength(1);
      expect(down.linkDown).toBe(1);
    } finally {
      await ipA('link', 'set', A, 'up');
    }
    const [back] = await within(delayed!, 15_000, 'the echo of what was sent while the link was down');
    expect(sha256(back)).toBe(delayedHash);
    expect(await within(echo(t, conn, 2000), 5000, 'echo after the link came back')).toBe(true);
    const before = t.stats().xdp!.txDatagrams;
    expect(await within(echo(t, conn, 64 * 1024), 10_000, 'echo 64 KiB after')).toBe(true);
    expect(t.stats().xdp!.txDatagrams - before).toBeGreaterThan(30);
    expect(errors.filter((e) => e instanceof StoqLinkDownError)).toHaveLength(1);
  }, 60_000);

  it('latency samples are recorded only while stoq_xdp stamps frames (timestampMeta)', async () => {
    const { t, conn } = await connected();
    // The 2 MiB echo coming back passes every RX frame (1024) at least once, so each holds
    // a recent stamp where the metadata goes: without timestampMeta, that is what is left.
    expect(await echo(t, conn, 2 * 1024 * 1024)).toBe(true);
    const count = () => t.stats().xdp!.latency?.count ?? 0;
    expect(count()).toBeGreaterThan(1024);
    t.updateXdpConfig({ timestampMeta: false });
    const off = count();
    const rx = t.stats().xdp!.rxDatagrams;
    expect(await echo(t, conn, 2 * 1024 * 1024)).toBe(true);
    expect(t.stats().xdp!.rxDatagrams - rx).toBeGreaterThan(1024);
    expect(count()).toBe(off);
    t.updateXdpConfig({ timestampMeta: true });
    expect(await echo(t, conn, 256 * 1024)).toBe(true);
    expect(count()).toBeGreaterThan(off);
  }, 30_000);

  it('a send that fails halfway through a TX chunk: every datagram still leaves (through the kernel), the reserved frames go back', async () => {
    const native = await loadNativeModules();
    if (!native.ok) throw new Error(native.reason);
    const real = native.modules.afXdp;
    let builds = 0;
    let failAt = 0;
    const modules: NativeModules = {
      ...native.modules,
      afXdp: {
        ...real,
        buildUdp6Frame: (frame: Uint8Array, spec: Udp6FrameSpec, payload: Uint8Array) => {
          if (++builds === failAt) throw new Error('injected: building this frame failed');
          return real.buildUdp6Frame(frame, spec, payload);
        },
      },
    };
    // A plain UDP receiver in B that reports what it got.
    const receiver = x.lab.spawn(x.lab.b, process.execPath, ['-e', `
      const s = require('node:dgram').createSocket('udp6');
      const got = new Set();
      s.on('message', (m) => { got.add(m.toString()); });
      s.bind(0, '${x.lab.b.address}', () => console.log('PORT ' + s.address().port));
      process.on('SIGUSR2', () => console.log('GOT ' + JSON.stringify([...got])));`]);
    let out = '';
    receiver.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const dgram = await DgramDatapath.bind({ address: x.lab.a.address, port: 0, recvBufferSize: 1 << 20, sendBufferSize: 1 << 20 });
    const { datapath } = await climbLadder({
      modules, ifname: A, dgram, boundAddress: x.lab.a.address, programConfig: { quicPorts: [dgram.localAddress().port] },
    });
    try {
      expect(datapath).not.toBeNull();
      const errors: Error[] = [];
      datapath!.start(() => {}, (e) => errors.push(e));
      const deadline = Date.now() + 5000;
      while (!/PORT (\d+)/.test(out) && Date.now() < deadline) await sleep(20);
      const to = { address: x.lab.b.address, port: Number(/PORT (\d+)/.exec(out)![1]) };
      // Warm up until the next hop is known and frames leave through AF_XDP.
      let warm = 0;
      while (datapath!.stats().txDatagrams === 0 && Date.now() < deadline) {
        datapath!.send([{ data: Buffer.from(`warm ${warm++}`), to }]);
        await sleep(50);
      }
      expect(datapath!.stats().txDatagrams).toBeGreaterThan(0);
      const socket = datapath!.metricsParts().sockets[0]!;
      await sleep(50);
      socket.reap();
      const free = socket.statistics().socket.umemFreeFrames;
      const before = datapath!.stats();

      builds = 0;
      failAt = 5;
      const names = Array.from({ length: 10 }, (_, i) => `batch ${i}`);
      datapath!.send(names.map((n) => ({ data: Buffer.from(n), to })));
      failAt = 0;
      const after = datapath!.stats();
      expect(errors.map((e) => e.message)).toEqual(['injected: building this frame failed']);
      expect(after.txErrors - before.txErrors).toBe(1);
      // The four frames built before the failure, the failed one and the five after it: the kernel.
      expect(after.txViaKernel - before.txViaKernel).toBe(10);
      expect(after.txRingFull).toBe(before.txRingFull);
      await sleep(50);
      socket.reap();
      expect(socket.statistics().socket.umemFreeFrames).toBe(free);

      let got: string[] = [];
      while (Date.now() < deadline + 5000) {
        const line = once(receiver.stdout!, 'data');
        receiver.kill('SIGUSR2');
        await line;
        await sleep(20);
        got = JSON.parse(/GOT (.*)\n/.exec(out.slice(out.lastIndexOf('GOT ')))![1]!) as string[];
        if (names.every((n) => got.includes(n))) break;
        await sleep(100);
      }
      expect(names.filter((n) => !got.includes(n))).toEqual([]);
    } finally {
      await datapath?.close();
      await dgram.close();
      receiver.kill('SIGKILL');
    }
  }, 30_000);

  it('our own MAC changing while attached: frames carry the new source MAC from the next refresh', async () => {
    const original = x.lab.a.mac;
    const changed = '02:5a:00:00:00:0a';
    // A raw capture in B: the source MACs of frames from our port. Python takes 0.2 s to
    // start here, over 0.6 s on a loaded machine: the frames to judge are sent only once it
    // says READY (a fixed 500 ms wait missed every frame in 4 of 5 runs under load).
    const capture = (port: number) => startCapture(['-c', `
import json, socket, struct, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86dd))
s.bind(('${x.lab.b.ifname}', 0))
s.settimeout(0.2)
macs = {}
end = time.time() + 4
print('READY', flush=True)
while time.time() < end and sum(macs.values()) < 20:
    try:
        f = s.recv(2048)
    except socket.timeout:
        continue
    if len(f) < 62 or f[20] != 17 or struct.unpack('!H', f[54:56])[0] != ${port}:
        continue
    mac = ':'.join('%02x' % b for b in f[6:12])
    macs[mac] = macs.get(mac, 0) + 1
print(json.dumps(macs))`]);
    const { t, conn } = await connected();
    const port = t.address().port;
    let seen: Capture | undefined;
    try {
      expect(await echo(t, conn, 2000)).toBe(true);
      await ipA('link', 'set', 'dev', A, 'address', changed);
      // B learns our new MAC (this test is about what we send).
      await ipB('-6', 'neigh', 'replace', x.lab.a.address, 'lladdr', changed, 'dev', x.lab.b.ifname, 'nud', 'permanent');
      await refreshHops(t, conn);
      seen = capture(port);
      await within(seen.ready, 10_000, 'the capture in B to start');
      const tx = t.stats().xdp!.txDatagrams;
      for (let i = 0; i < 5; i++) expect(await within(echo(t, conn, 8000), 5000, `echo ${i}`)).toBe(true);
      expect(t.stats().xdp!.txDatagrams - tx).toBeGreaterThan(5); // the capture saw AF_XDP frames
      const macs = JSON.parse((await seen.output).trim().split('\n').pop()!) as Record<string, number>;
      console.log('source MACs of our frames after the change:', JSON.stringify(macs));
      expect(Object.keys(macs)).toEqual([changed]);
    } finally {
      seen?.child.kill('SIGKILL');
      await ipA('link', 'set', 'dev', A, 'address', original);
      await ipB('-6', 'neigh', 'del', x.lab.a.address, 'dev', x.lab.b.ifname).catch(() => {});
    }
  }, 30_000);

  // Last: it changes the peer's MAC for good.
  it("the peer's MAC changes: the kernel is made to re-validate the neighbour entry, and AF_XDP traffic recovers", async () => {
    // Shorter kernel neighbour timers on our side (REACHABLE for 1-3 s, DELAY 1 s): the
    // mechanism is the same, the test just does not wait ~40 s for REACHABLE to expire.
    await x.lab.exec(x.lab.a, 'sysctl', ['-qw', `net.ipv6.neigh.${A}.base_reachable_time_ms=2000`, `net.ipv6.neigh.${A}.delay_first_probe_time=1`]);
    const { t, conn } = await connected({ idleTimeoutMs: 60_000 });
    expect(await echo(t, conn, 2000)).toBe(true);
    const newMac = '02:11:22:33:44:55';
    await ipB('link', 'set', x.lab.b.ifname, 'address', newMac);
    // B keeps our MAC: it never solicits us, so nothing but our own probing tells us.
    await ipB('-6', 'neigh', 'replace', x.lab.a.address, 'lladdr', x.lab.a.mac, 'dev', x.lab.b.ifname, 'nud', 'permanent');
    // Our frames now go to a MAC nobody has. Keep sending (QUIC datagrams, past the
    // connection's backed-off retransmissions) until the kernel has re-validated the
    // entry: FAILED (the old MAC stopped answering), or already the new MAC.
    const started = Date.now();
    const entry = async () => (await ipA('-6', 'neigh', 'show', 'to', x.lab.b.address, 'dev', A)).stdout.trim();
    let seen = await entry();
    while (!/FAILED|INCOMPLETE/.test(seen) && !seen.includes(newMac)) {
      if (Date.now() - started > 25_000) throw new Error(`the neighbour entry was never re-validated: ${seen}; ${JSON.stringify(t.stats().xdp)}`);
      try {
        conn.sendDatagram(randomBytes(64));
      } catch {
        // datagram queue full: the next round sends
      }
      await sleep(250);
      seen = await entry();
    }
    const took = Date.now() - started;
    const { neighbourProbes: probes, txViaKernel: viaKernel } = t.stats().xdp!;
    // A new connection's first flight goes through the kernel (no usable entry), which
    // resolves the new MAC; from then on its traffic is AF_XDP again.
    const fresh = await within(t.connect(x.target(peer), { serverName: 'stoq.test' }), 15_000, 'a new connection');
    expect(await within(echo(t, fresh, 2000), 10_000, 'echo on the new connection')).toBe(true);
    await refreshHops(t, fresh);
    const tx = t.stats().xdp!.txDatagrams;
    expect(await within(echo(t, fresh, 64 * 1024), 10_000, 'echo 64 KiB on the new connection')).toBe(true);
    const stats = t.stats().xdp!;
    console.log(`peer MAC changed: entry re-validated after ${took} ms (${seen}), ${probes} neighbour re-validations asked of the kernel (no datagram; ${viaKernel} datagrams via the kernel so far); now: ${await entry()}; AF_XDP tx +${stats.txDatagrams - tx}`);
    expect(probes).toBeGreaterThan(0);
    expect(await entry()).toContain(newMac);
    expect(stats.txDatagrams - tx).toBeGreaterThan(30);
  }, 70_000);
});
