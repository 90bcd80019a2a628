// SPDX-License-Identifier: Apache-2.0
// A transport bound to '::' with stoq_xdp on a router's (or container host's) interface
// must not take the QUIC-port datagrams the host only forwards. Namespace A forwards IPv6
// between the lab link (A-B, where stoq_xdp and the transport run) and a veth to namespace
// C, where a plain node:dgram socket listens on the transport's port. B sends datagrams to
// C's address through A: C must get them all (stoq_host_addrs + check_local_addrs leave
// them to the kernel, which forwards them; before, stoq_xdp redirected them into the
// transport's AF_XDP socket and they were lost), while a QUIC client from B to A's own
// address still runs over AF_XDP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, type Lab } from '@stoq/netlab';
import { createSelfSignedCertificate, type TransportStats } from '../src/index.js';
import { isRoot } from './helpers.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const peerScript = join(fixtures, 'local-address-peer.mjs');
const PLAIN = 200;
const MESSAGES = 20;
/** C's side of the extra veth, and A's. */
const ADDRESS_C = 'fdfd:c::2';
const ADDRESS_A_TO_C = 'fdfd:c::1';

/** A line-oriented child: resolves lines as they come. */
function lines(child: ChildProcess): { next(prefix: string, timeoutMs: number): Promise<string> } {
  let buffered = '';
  const seen: string[] = [];
  const waiters: Array<() => void> = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout?.on('data', (d: Buffer) => {
    buffered += d.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      seen.push(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
    for (const w of waiters.splice(0)) w();
  });
  return {
    async next(prefix, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const at = seen.findIndex((l) => l.startsWith(prefix));
        if (at >= 0) return seen.splice(0, at + 1)[at]!.slice(prefix.length);
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no "${prefix}" line (exit ${child.exitCode}): ${stderr}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
  };
}

describe("stoq_xdp with the transport bound to '::' on a forwarding host", skipUnless(isRoot, 'needs root: lab namespaces with forwarding, XDP attach and AF_XDP sockets'), () => {
  let lab: Lab;
  let dir: string;
  let nsC: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    lab = await createLab({ hostSide: false, timeoutMs: 5 * 60_000 });
    dir = mkdtempSync(join(tmpdir(), 'stoq-forwarded-'));
    nsC = `stoqfwd-${lab.id}-c`;
    const nsA = lab.a.netns!;
    const [vethA, vethC] = [`fwd${lab.id}a`, `fwd${lab.id}c`];
    const run = async (cmd: string, args: string[]) => {
      const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const [code] = (await once(child, 'exit')) as [number | null];
      if (code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${stderr}`);
    };
    await run('ip', ['netns', 'add', nsC]);
    await run('ip', ['link', 'add', vethA, 'netns', nsA, 'type', 'veth', 'peer', 'name', vethC, 'netns', nsC]);
    await run('ip', ['-n', nsA, '-6', 'addr', 'add', `${ADDRESS_A_TO_C}/64`, 'dev', vethA, 'nodad']);
    await run('ip', ['-n', nsC, '-6', 'addr', 'add', `${ADDRESS_C}/64`, 'dev', vethC, 'nodad']);
    for (const [ns, dev] of [[nsA, vethA], [nsC, vethC], [nsC, 'lo']] as const) await run('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    await run('ip', ['-n', nsC, '-6', 'route', 'add', 'default', 'via', ADDRESS_A_TO_C, 'dev', vethC]);
    await run('ip', ['-n', lab.b.netns!, '-6', 'route', 'add', 'fdfd:c::/64', 'via', lab.a.address, 'dev', lab.b.ifname]);
    await run('ip', ['netns', 'exec', nsA, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
  }, 60_000);

  afterAll(async () => {
    try {
      for (const child of children) {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await once(child, 'exit');
        }
      }
    } finally {
      // C (and the veth end in it, so the pair) is ours; A and B are the lab's.
      if (nsC) spawn('ip', ['netns', 'del', nsC], { stdio: 'ignore' });
      if (nsC) await new Promise((r) => setTimeout(r, 100));
      await lab?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  it("C gets every datagram B sends it through A; QUIC from B to A's address still runs over AF_XDP", async () => {
    const { cert, key } = await createSelfSignedCertificate({ hostnames: ['stoq.test'] });
    const [certFile, keyFile] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
    writeFileSync(certFile, cert);
    writeFileSync(keyFile, key);

    // The transport in A, bound to '::', XDP on the lab interface (hash-server.mjs echoes messages).
    const server = lab.spawn(lab.a, 'env', [
      `STOQ_INTERFACE=${lab.a.ifname}`, 'STOQ_DATAPATH=xdp',
      process.execPath, join(fixtures, 'hash-server.mjs'), '::', '0', certFile, keyFile, '10000',
    ]);
    children.push(server);
    const out = lines(server);
    const port = Number(await out.next('READY ', 30_000));
    const status = JSON.parse(await out.next('STATUS ', 10_000)) as { datapath: string; xdpAttached: string[] };
    expect(status).toMatchObject({ datapath: 'xdp', xdpAttached: [lab.a.ifname] });
    const stats = async () => {
      server.kill('SIGUSR2');
      return JSON.parse(await out.next('STATS ', 10_000)) as TransportStats;
    };

    // A plain socket in C on the same port, at C's address.
    const listener = spawn('ip', ['netns', 'exec', nsC, process.execPath, peerScript, 'listen', ADDRESS_C, String(port), String(PLAIN), '8000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(listener);
    const heard = lines(listener);
    await heard.next('READY', 10_000);

    // The route through A works, and A's neighbour entry for C exists: the first datagrams
    // must not wait in (or overflow) A's queue of packets for an unresolved neighbour.
    await lab.exec(lab.b, 'ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', ADDRESS_C], 10_000);
    const before = (await stats()).xdp!;
    const fromB = (args: string[]) => lab.exec(lab.b, process.execPath, [peerScript, ...args], 30_000).then((r) => JSON.parse(r.stdout.trim()) as Record<string, number>);
    const [sent, client] = await Promise.all([
      fromB(['plain', ADDRESS_C, String(port), String(PLAIN), 'fwd']),
      fromB(['quic', lab.b.address, lab.a.address, String(port), certFile, String(MESSAGES)]),
    ]);
    const { received } = JSON.parse(`{${await heard.next('{', 15_000)}`) as { received: number };
    const after = (await stats()).xdp!;
    const moved = (name: keyof typeof after.programCounters) => after.programCounters[name] - before.programCounters[name];
    console.log(`bound to '::' on a forwarding host: C received ${received}/${PLAIN} datagrams sent to it through A; stoq_host_addrs ${after.hostAddresses} addresses; AF_XDP rx ${after.rxDatagrams - before.rxDatagrams}; quic_redirected +${moved('quic_redirected')}, quic_passed +${moved('quic_passed')}`);
    expect(sent).toEqual({ sent: PLAIN });
    expect(client).toEqual({ echoed: MESSAGES });
    expect(received).toBe(PLAIN);
    expect(after.hostAddresses).toBeGreaterThanOrEqual(2); // A's lab address, its link-local, ::1, the veth's
    expect(after.rxDatagrams - before.rxDatagrams).toBeGreaterThanOrEqual(MESSAGES);
    expect(moved('quic_redirected')).toBeGreaterThanOrEqual(MESSAGES);
    expect(moved('quic_passed')).toBeGreaterThanOrEqual(PLAIN);
    expect(after.rxUnparsed).toBe(before.rxUnparsed);
  }, 120_000);
});
