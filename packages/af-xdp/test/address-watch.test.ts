// SPDX-License-Identifier: Apache-2.0
// watchIpv6Addresses against the kernel's real notifications: the watch runs in a child
// process inside a lab namespace (netlink sockets belong to the namespace they are opened
// in; a quiet namespace also shows that nothing fires without a change), and the test
// changes that namespace's addresses with `ip`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createLab, type Lab } from '@stoq/netlab';
import { watchIpv6Addresses } from '../src/index.js';
import { helper, isRoot, waitFor } from './helpers/env.js';

/** How long a notification may take to reach the callback. */
const NOTIFY_MS = 1000;
/** How long to watch for callbacks that must not come. */
const QUIET_MS = 300;

describe('watchIpv6Addresses without a lab', () => {
  it('takes a function; close() stops it, twice is fine', () => {
    expect(() => watchIpv6Addresses(undefined as never)).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/onChange must be a function/) }));
    const watch = watchIpv6Addresses(() => {});
    expect(watch.closed).toBe(false);
    watch.close();
    expect(watch.closed).toBe(true);
    watch.close();
  });
});

describe('watchIpv6Addresses in worker threads', () => {
  it('a worker that ends, or is terminated, with a watch open does not take the process down', async () => {
    // The watch's poll handle outlived the worker's environment: the process crashed
    // (SIGSEGV) when such a worker ended. Node's teardown now closes it.
    const script = `
      import { Worker } from 'node:worker_threads';
      const code = \`import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)}).then(({ watchIpv6Addresses }) => {
        globalThis.watch = watchIpv6Addresses(() => {});
        if (require('node:worker_threads').workerData.hold) { setInterval(() => {}, 1000); require('node:worker_threads').parentPort.postMessage('open'); }
      });\`;
      for (let i = 0; i < 3; i++) {
        const ends = new Worker(code, { eval: true, workerData: { hold: false }, execArgv: [] });
        await new Promise((r) => ends.once('exit', r));
        const held = new Worker(code, { eval: true, workerData: { hold: true }, execArgv: [] });
        await new Promise((r) => held.once('message', r));
        await held.terminate();
      }
      console.log('survived');`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (err += d));
    const [code, signal] = await Promise.race([
      once(child, 'exit') as Promise<[number | null, string | null]>,
      new Promise<[string, null]>((r) => setTimeout(() => r(['still running after 30 s', null]), 30_000)),
    ]);
    child.kill('SIGKILL');
    expect([code, signal], err).toEqual([0, null]);
    expect(out.trim()).toBe('survived');
  }, 40_000);
});

/** A watcher process in the lab's namespace B and the lines it printed. */
class Watcher {
  readonly lines: string[] = [];
  #stderr = '';
  constructor(readonly child: ChildProcess) {
    let buffered = '';
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      this.lines.push(...parts);
    });
    child.stderr!.on('data', (d: Buffer) => (this.#stderr += d.toString()));
  }

  get changes(): number {
    return this.lines.filter((l) => l.startsWith('change ')).length;
  }

  async waitLine(match: (line: string) => boolean, timeoutMs: number, what: string): Promise<void> {
    await waitFor(() => this.lines.some(match) || this.child.exitCode !== null, timeoutMs, what);
    if (!this.lines.some(match)) throw new Error(`watcher exited with ${this.child.exitCode} before ${what}: ${this.#stderr}`);
  }

  send(command: string): void {
    this.child.stdin!.write(`${command}\n`);
  }
}

describe('watchIpv6Addresses (lab namespace)', skipUnless(isRoot, 'needs root: address changes in a veth lab\'s namespace'), () => {
  let lab: Lab;
  /** fd00:ID:ID::/64-style addresses of this lab, host number `n`. */
  let address: (n: number) => string;
  beforeAll(async () => {
    lab = await createLab();
    // The link-local address of B's veth finishes duplicate address detection 1-2 s after
    // link up, and that is an address notification: wait it out, so "nothing fires
    // without a change" below sees a quiet namespace.
    for (const deadline = Date.now() + 10_000; (await lab.exec(lab.b, 'ip', ['-6', 'addr', 'show', 'tentative'])).stdout.trim() !== ''; ) {
      if (Date.now() > deadline) throw new Error('duplicate address detection in the lab still running after 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    address = (n) => lab.b.address.replace(/::2$/, `::${(0x100 + n).toString(16)}`);
    expect(address(1)).not.toBe(lab.b.address);
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  const ip = (...args: string[]) => lab.exec(lab.b, 'ip', ['-6', ...args]);
  async function start(mode = 'plain'): Promise<Watcher> {
    const watcher = new Watcher(lab.spawn(lab.b, process.execPath, [helper('address-watcher.mjs'), mode], { stdio: ['pipe', 'pipe', 'pipe'] }));
    await watcher.waitLine((l) => l === 'ready', 15_000, 'the watcher to open its watch');
    return watcher;
  }
  /** Runs `ip` and waits for the next callback; returns the milliseconds from before `ip` started. */
  async function changeAndWait(w: Watcher, ...args: string[]): Promise<number> {
    const before = w.changes;
    const started = performance.now();
    await ip(...args);
    await waitFor(() => w.changes > before, NOTIFY_MS, `a callback after ip ${args.join(' ')}`);
    return performance.now() - started;
  }
  const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

  it('an address added and one removed each fire the callback within 1 s; nothing fires without a change, or after close()', async () => {
    const w = await start();
    await new Promise((r) => setTimeout(r, QUIET_MS));
    expect(w.changes).toBe(0);
    const added = await changeAndWait(w, 'addr', 'add', `${address(1)}/128`, 'dev', lab.b.ifname, 'nodad');
    const removed = await changeAndWait(w, 'addr', 'del', `${address(1)}/128`, 'dev', lab.b.ifname);
    console.log(`address watch in ${lab.b.netns}: added seen after ${added.toFixed(1)} ms, removed after ${removed.toFixed(1)} ms (each including the ip process)`);

    w.send('close');
    await w.waitLine((l) => l === 'closed true', 5000, 'close() twice');
    const atClose = w.changes;
    await ip('addr', 'add', `${address(2)}/128`, 'dev', lab.b.ifname, 'nodad');
    await ip('addr', 'del', `${address(2)}/128`, 'dev', lab.b.ifname);
    await new Promise((r) => setTimeout(r, QUIET_MS));
    expect(w.changes).toBe(atClose);
    w.send('exit');
    expect(await exited(w.child)).toBe(0);
    expect(w.lines.filter((l) => !/^(ready|change [\d.]+|closed true)$/.test(l))).toEqual([]);
  }, 30_000);

  it('notifications the kernel dropped (ENOBUFS: 800 addresses while the watcher is stopped) are still a change, and the watch goes on', async () => {
    const w = await start();
    // A veth pair of its own inside B (no dummy driver everywhere): deleting it takes its addresses.
    const dummy = `sqx${lab.id}`;
    await lab.exec(lab.b, 'ip', ['link', 'add', dummy, 'type', 'veth', 'peer', 'name', `sqy${lab.id}`]);
    await lab.exec(lab.b, 'ip', ['link', 'set', dummy, 'up']);
    await new Promise((r) => setTimeout(r, QUIET_MS)); // the link-local address comes and goes with it
    const before = w.changes;
    // Stopped, the watcher reads nothing (and costs no CPU) while the addresses are added.
    // `ip netns exec` execs node, so the child's pid is the watcher's.
    w.child.kill('SIGSTOP');
    // 800 notifications of several hundred bytes each overflow the 208 KiB receive buffer
    // (about 270 fit; adding is quadratic in the addresses of the interface, so not many more).
    const batch = Array.from({ length: 800 }, (_, i) => `addr add ${address(0x1000 + i)}/128 dev ${dummy} nodad`).join('\n');
    const started = performance.now();
    let batchMs = 0;
    try {
      const child = lab.spawn(lab.b, 'ip', ['-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdin!.end(`${batch}\n`);
      expect({ code: await exited(child), stderr }).toEqual({ code: 0, stderr: '' });
      batchMs = performance.now() - started;
      expect(w.changes).toBe(before);
    } finally {
      w.child.kill('SIGCONT');
    }
    await waitFor(() => w.changes > before, NOTIFY_MS, 'a callback after the overrun');
    // The kernel really dropped some: /proc/net/netlink counts them on the watch's socket
    // (protocol 0 = NETLINK_ROUTE, group mask 0x100 = RTMGRP_IPV6_IFADDR).
    const sockets = (await lab.exec(lab.b, 'cat', ['/proc/net/netlink'])).stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
    const watching = sockets.filter((f) => f[1] === '0' && (Number.parseInt(f[3]!, 16) & 0x100) !== 0);
    expect(watching).toHaveLength(1);
    const drops = Number(watching[0]![8]);
    expect(drops).toBeGreaterThan(0);
    const callbacks = w.changes - before;
    // Still watching: one more address is one more callback.
    await changeAndWait(w, 'addr', 'add', `${address(3)}/128`, 'dev', lab.b.ifname, 'nodad');
    console.log(`800 addresses added in ${batchMs.toFixed(0)} ms while the watcher was stopped: the kernel dropped ${drops} notifications; ${callbacks} callbacks after SIGCONT`);
    expect(w.lines.filter((l) => l.startsWith('error'))).toEqual([]);
    await lab.exec(lab.b, 'ip', ['link', 'del', dummy]);
    await ip('addr', 'del', `${address(3)}/128`, 'dev', lab.b.ifname);
    w.send('exit');
    expect(await exited(w.child)).toBe(0);
  }, 30_000);

  it('a carrier change fires the callback too (os.networkInterfaces() leaves out an interface without carrier; no address changes)', async () => {
    // A veth pair of its own inside B: its peer going down takes the carrier of the other end.
    const [up, peer] = [`sqc${lab.id}`, `sqd${lab.id}`];
    await lab.exec(lab.b, 'ip', ['link', 'add', up, 'type', 'veth', 'peer', 'name', peer]);
    // No IPv6 on the pair: no address of it comes or goes, only its links change.
    for (const name of [up, peer]) await lab.exec(lab.b, 'sysctl', ['-qw', `net.ipv6.conf.${name}.disable_ipv6=1`]);
    await lab.exec(lab.b, 'ip', ['link', 'set', up, 'up']);
    await lab.exec(lab.b, 'ip', ['link', 'set', peer, 'up']);
    const w = await start();
    await changeAndWait(w, 'link', 'set', peer, 'down');
    expect((await lab.exec(lab.b, 'ip', ['link', 'show', up])).stdout).toContain('NO-CARRIER');
    await changeAndWait(w, 'link', 'set', peer, 'up');
    await lab.exec(lab.b, 'ip', ['link', 'del', up]);
    w.send('exit');
    expect(await exited(w.child)).toBe(0);
  }, 30_000);

  it('a callback that throws is an uncaught exception, as from an EventEmitter listener; the watch goes on', async () => {
    const w = await start('throw');
    await changeAndWait(w, 'addr', 'add', `${address(4)}/128`, 'dev', lab.b.ifname, 'nodad');
    await w.waitLine((l) => l === 'uncaught listener failed', 5000, "the process's uncaughtException handler");
    await changeAndWait(w, 'addr', 'del', `${address(4)}/128`, 'dev', lab.b.ifname);
    w.send('exit');
    expect(await exited(w.child)).toBe(0);
  }, 30_000);

  it('an open watch does not keep the process alive', async () => {
    const child = lab.spawn(lab.b, process.execPath, [helper('address-watcher.mjs'), 'idle'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const w = new Watcher(child);
    const code = await Promise.race([exited(child), new Promise<string>((r) => setTimeout(() => r('still running after 10 s'), 10_000))]);
    expect(code).toBe(0);
    expect(w.lines).toEqual(['ready']);
  }, 30_000);
});
