// SPDX-License-Identifier: Apache-2.0
// Standalone mode (no inhibitProgramLoad): the redirect program is attached through a
// bpf_link, shared by the sockets of an interface (in one process and across processes),
// and gone from the interface when the last process holding it exits, SIGKILL included.
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { createLab, type Lab } from '@stoq/netlab';
import { ParsedUdp6Frame, parseUdp6Frame, Umem, XskError, XskSocket } from '../src/index.js';
import { helper, isRoot, openWhenFree, waitFor } from './helpers/env.js';

const run = promisify(execFile);
const PROGRAM = 'stoq_xsk_redir';
// libxdp's own default AF_XDP program: what earlier versions left behind after a crash.
// Where libxdp looks for its BPF objects: LIBXDP_OBJECT_PATH, else its build's libdir
// (/usr/lib/<multiarch triplet>/bpf on Debian/Ubuntu, whatever the architecture).
const LIBXDP_DIRS = [process.env['LIBXDP_OBJECT_PATH'], ...readdirSync('/usr/lib').filter((d) => d.includes('-linux-')).map((d) => `/usr/lib/${d}/bpf`), '/usr/lib/bpf', '/usr/local/lib/bpf'];
const LIBXDP_DEFAULT = LIBXDP_DIRS.filter((d) => d !== undefined && d !== '').map((d) => `${d}/xsk_def_xdp_prog.o`).find((path) => existsSync(path));
const noLibxdpDefault = LIBXDP_DEFAULT ? null : `xsk_def_xdp_prog.o not found in ${LIBXDP_DIRS.filter(Boolean).join(', ')} (libxdp's default program, Debian/Ubuntu package libxdp1)`;

interface Xdp {
  id: number;
  name: string;
  /** IFLA_XDP_ATTACHED: 1 native (driver), 2 generic (skb). */
  mode: number;
}

describe('standalone mode: redirect program through a bpf_link (veth lab, 2 queues)', skipUnless(isRoot, 'needs root: AF_XDP sockets and a bpf_link on a veth lab (CAP_NET_RAW, CAP_NET_ADMIN, CAP_BPF)'), () => {
  let lab: Lab;
  const owners = new Set<ChildProcess>();

  /** The XDP program on side A's veth, as the kernel reports it, or null. */
  const attached = async (): Promise<Xdp | null> => {
    const { stdout } = await run('ip', ['-d', '-j', 'link', 'show', 'dev', lab.a.ifname]);
    const xdp = (JSON.parse(stdout) as Array<{ xdp?: { mode: number; prog?: { id: number; name: string } } }>)[0]?.xdp;
    return xdp?.prog ? { id: xdp.prog.id, name: xdp.prog.name, mode: xdp.mode } : null;
  };
  /** Ids of the programs attached through XDP bpf_links (system-wide). */
  const xdpLinkPrograms = async (): Promise<number[]> => {
    // bpftool walks every link in the system; one released between its listing and its
    // read (another test's process exiting) makes it fail with a JSON error: read again.
    for (let attempt = 1; ; attempt++) {
      try {
        const { stdout } = await run('bpftool', ['-j', 'link', 'show']);
        return (JSON.parse(stdout || '[]') as Array<{ type: string; prog_id: number }>).filter((l) => l.type === 'xdp').map((l) => l.prog_id);
      } catch (error) {
        if (attempt === 5) throw new Error(`bpftool -j link show failed 5 times: ${(error as { stdout?: string }).stdout ?? String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  /** Starts a process that opens standalone sockets on `queues` and waits to be killed. */
  const startOwner = async (queues: number[]): Promise<ChildProcess> => {
    const child = lab.spawn(lab.a, process.execPath, [helper('standalone-owner.mjs'), lab.a.ifname, ...queues.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
    owners.add(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (err += d));
    await waitFor(() => out.includes('"ready":true') || child.exitCode !== null, 15_000, 'the standalone owner to open its sockets');
    if (!out.includes('"ready":true')) throw new Error(`standalone owner exited with ${child.exitCode}: ${err}`);
    return child;
  };
  const kill = async (child: ChildProcess): Promise<void> => {
    const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
    child.kill('SIGKILL');
    await exited;
    owners.delete(child);
  };

  beforeAll(async () => {
    lab = await createLab({ hostSide: true, staticNeighbours: true, queues: 2 });
  });
  afterEach(async () => {
    for (const child of owners) await kill(child);
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('sockets on both queues share one program (native mode, bpf_link), each receives its queue, and it leaves with the last socket', async () => {
    // Peer side: queue 0 sends from CPU 0, queue 1 from CPU 1 (XPS), so each of our queues gets one sender's datagrams.
    await lab.exec(lab.b, 'sh', ['-c', `echo 1 > /sys/class/net/${lab.b.ifname}/queues/tx-0/xps_cpus && echo 2 > /sys/class/net/${lab.b.ifname}/queues/tx-1/xps_cpus`]);
    const umem = Umem.create({ frameCount: 2048, frameSize: 2048, fillSize: 512, compSize: 512 });
    const q0 = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, queueId: 0, mode: 'copy', umem }));
    const q1 = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, queueId: 1, mode: 'copy', umem }));
    try {
      const program = await attached();
      expect(program).toMatchObject({ name: PROGRAM, mode: 1 });
      expect(await xdpLinkPrograms(), 'attached through a bpf_link, not netlink').toContain(program!.id);

      const received = [0, 0];
      const parsed = new ParsedUdp6Frame();
      [q0, q1].forEach((socket, queue) =>
        socket.on('readable', () => {
          for (let batch = socket.receive(); batch.count > 0; batch = socket.releaseAndReceive()) {
            for (let i = 0; i < batch.count; i++) if (parseUdp6Frame(batch.packet(i), parsed) && parsed.dstPort === 9292) received[queue]!++;
          }
        }),
      );
      await Promise.all(
        [0, 1].map((cpu) => lab.exec(lab.b, 'taskset', ['-c', String(cpu), process.execPath, helper('udp-sender.mjs'), lab.a.address, '9292', '100', '16', '1'], 30_000)),
      );
      await waitFor(() => received[0]! + received[1]! >= 200, 10_000, '200 datagrams over both queues');
      expect(received).toEqual([100, 100]);

      q0.close();
      expect(await attached(), 'still there for queue 1').toMatchObject({ id: program!.id });
    } finally {
      q0.close();
      q1.close();
      umem.destroy();
    }
    expect(await attached(), 'gone with the last socket').toBeNull();
  });

  it('a SIGKILLed owner leaves nothing attached: the peer reaches the kernel stack, and the next open attaches afresh', async () => {
    const owner = await startOwner([0]);
    const program = await attached();
    expect(program).toMatchObject({ name: PROGRAM, mode: 1 });
    await kill(owner);
    // The kernel released the link with the process's files, before the parent saw the exit.
    expect(await attached()).toBeNull();
    expect(await xdpLinkPrograms()).not.toContain(program!.id);
    const ping = await lab.exec(lab.b, 'ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', lab.a.address], 10_000);
    expect(ping.stdout).toMatch(/2 received/);

    const socket = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, mode: 'copy' }));
    try {
      const next = await attached();
      expect(next).toMatchObject({ name: PROGRAM, mode: 1 });
      expect(next!.id).not.toBe(program!.id);
    } finally {
      socket.close();
    }
    expect(await attached()).toBeNull();
  });

  it("a second process joins the first one's program; it stays while either lives and leaves with the last", async () => {
    const first = await startOwner([0]);
    const program = await attached();
    const second = await startOwner([1]);
    expect(await attached(), 'joined, not replaced').toEqual(program);
    await kill(first);
    expect(await attached(), 'held by the second process').toEqual(program);
    await kill(second);
    expect(await attached()).toBeNull();
  });

  it(
    "leaves someone else's program alone: STOQ_ERR_XSK_BUSY names it (here libxdp's default program, attached through netlink as earlier versions left it)",
    skipUnless(noLibxdpDefault === null, noLibxdpDefault ?? ''),
    async () => {
      const pinDir = `/sys/fs/bpf/stoq-afxdp-standalone-${lab.id}`;
      const umem = Umem.create({ frameCount: 512, frameSize: 2048 });
      mkdirSync(pinDir);
      try {
        await run('bpftool', ['prog', 'load', LIBXDP_DEFAULT!, `${pinDir}/prog`, 'type', 'xdp']);
        await run('bpftool', ['net', 'attach', 'xdpdrv', 'pinned', `${pinDir}/prog`, 'dev', lab.a.ifname]);
        rmSync(pinDir, { recursive: true }); // only the attachment holds it now, like after a crash
        const leftover = await attached();
        expect(leftover).toMatchObject({ name: 'xsk_def_prog', mode: 1 });

        let error: unknown;
        try {
          (await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, mode: 'copy', umem, rxFrames: 256 }))).close();
        } catch (e) {
          error = e;
        }
        // open() lends its frames before it attaches; a failed attach gives them back.
        expect(umem.freeFrames, 'the frames lent before the attach failed').toBe(512);
        expect(error).toBeInstanceOf(XskError);
        expect(error).toMatchObject({
          code: 'STOQ_ERR_XSK_BUSY',
          errnoCode: 'EBUSY',
          operation: 'bpf_link_create(XDP)',
          hint: expect.stringMatching(/xsk_def_prog.*netlink.*ip link set dev \S+ xdp off/),
        });
        expect(await attached(), 'not touched').toEqual(leftover);
      } finally {
        await run('bpftool', ['net', 'detach', 'xdpdrv', 'dev', lab.a.ifname]).catch(() => undefined);
        rmSync(pinDir, { recursive: true, force: true });
      }
      expect(await attached()).toBeNull();
      try {
        // The same UMEM binds again once the interface is free.
        (await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, mode: 'copy', umem, rxFrames: 256 }))).close();
        expect(umem.freeFrames).toBe(512);
      } finally {
        umem.destroy();
      }
    },
  );

  it('an interface without native XDP (lo) fails with EOPNOTSUPP and a hint, and keeps nothing attached', async () => {
    // In the peer namespace: its loopback carries no traffic of anyone else.
    const script = `
      const { XskSocket } = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
      try { XskSocket.open({ ifname: 'lo', mode: 'copy' }).close(); console.log('{}'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, errnoCode: e.errnoCode, operation: e.operation, hint: e.hint })); }`;
    const { stdout } = await lab.exec(lab.b, process.execPath, ['--input-type=module', '-e', script], 15_000);
    expect(JSON.parse(stdout.trim())).toMatchObject({ code: 'STOQ_ERR_XSK_SYSCALL', errnoCode: 'EOPNOTSUPP', operation: 'bpf_link_create(XDP)', hint: expect.stringMatching(/native/) });
    const lo = await lab.exec(lab.b, 'ip', ['-d', 'link', 'show', 'dev', 'lo']);
    expect(lo.stdout).not.toMatch(/prog\/xdp/);
  });
});
