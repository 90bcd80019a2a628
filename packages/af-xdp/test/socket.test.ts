// SPDX-License-Identifier: Apache-2.0
// Modes, validation, lifecycle and privilege errors against real sockets on a veth lab.
import { execFile } from 'node:child_process';
import { closeSync, openSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { createLab, type Lab } from '@stoq/netlab';
import { openPinnedMap, Umem, XskError, XskSocket, type XskSocketOptions } from '../src/index.js';
import { helper, isRoot, openWhenFree } from './helpers/env.js';

const run = promisify(execFile);
const code = (c: string) => expect.objectContaining({ code: c });

describe('option validation (no kernel needed)', () => {
  it('rejects bad names, sizes, modes and frame sizes with STOQ_ERR_INVALID_ARGUMENT before touching the kernel', () => {
    expect(() => XskSocket.open({ ifname: '' })).toThrow(code('STOQ_ERR_INVALID_ARGUMENT'));
    expect(() => XskSocket.open({ ifname: 'x'.repeat(16) })).toThrow(code('STOQ_ERR_INVALID_ARGUMENT'));
    expect(() => XskSocket.open({ ifname: 'lo', rxSize: 1000 })).toThrow(/power of two/);
    expect(() => XskSocket.open({ ifname: 'lo', mode: 'fast' as never })).toThrow(/mode must be/);
    expect(() => XskSocket.open({ ifname: 'lo', queueId: -1 })).toThrow(code('STOQ_ERR_INVALID_ARGUMENT'));
    expect(() => Umem.create({ frameSize: 3000 as never })).toThrow(/2048 or 4096/);
    expect(() => Umem.create({ fillSize: 3 })).toThrow(XskError);
    expect(() => Umem.create({ hugePages: 1 as never })).toThrow(/hugePages must be a boolean/);
    expect(() => Umem.create(null as never)).toThrow(code('STOQ_ERR_INVALID_ARGUMENT'));
    expect(() => Umem.create({ layout: 'packed' as never })).toThrow(/layout must be 'aligned' or 'staggered'/);
    // Staggered frames are 64 bytes further apart, so fewer fit under the 4 GiB offset limit.
    const alignedMax = Math.floor((2 ** 32 - 1) / 4096);
    expect(() => Umem.create({ frameCount: alignedMax, layout: 'staggered' })).toThrow(/frameCount must be an integer in \[1, 1032444\]/);
    expect(() => XskSocket.open({ ifname: 'stoq-no-such0' })).toThrow(code('STOQ_ERR_NO_SUCH_DEVICE'));
  });

  it('caps ring sizes at 2^18 and fill/completion rings at what the frames can use, before the kernel allocates them', () => {
    // Sizes the old code took (a 16-frame UMEM got a 2^19-entry fill ring; 2^30 took 8 GiB of kernel memory).
    expect(() => Umem.create({ frameCount: 16, fillSize: 2 ** 19 })).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/fillSize must be a power of two up to 262144, got 524288/) }));
    expect(() => Umem.create({ frameCount: 16, fillSize: 4096 })).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/fillSize 4096 is far above what 16 frame\(s\) can use \(at most 2048\)/) }));
    expect(() => Umem.create({ frameCount: 5000, compSize: 16384 })).toThrow(/compSize 16384 is far above what 5000 frame\(s\) can use \(at most 8192\)/);
    expect(() => Umem.create({ frameCount: 16, fillSize: 2 ** 30, compSize: 2 ** 30 })).toThrow(code('STOQ_ERR_INVALID_ARGUMENT'));
    for (const ring of ['rxSize', 'txSize', 'fillSize', 'compSize'] as const) {
      expect(() => XskSocket.open({ ifname: 'lo', [ring]: 2 ** 19 })).toThrow(new RegExp(`${ring} must be a power of two up to 262144`));
    }
  });

  it('rejects non-boolean flags and a malformed busyPoll before touching the kernel', () => {
    expect(() => XskSocket.open({ ifname: 'lo', needWakeup: 1 as never })).toThrow(code('STOQ_ERR_INVALID_ARGUMENT'));
    expect(() => XskSocket.open({ ifname: 'lo', needWakeup: 1 as never })).toThrow(/needWakeup must be a boolean/);
    expect(() => XskSocket.open({ ifname: 'lo', inhibitProgramLoad: 'yes' as never })).toThrow(/inhibitProgramLoad must be a boolean/);
    expect(() => XskSocket.open({ ifname: 'lo', busyPoll: 'yes' as never })).toThrow(/busyPoll must be a boolean or/);
  });
});

describe('sockets on a veth lab', skipUnless(isRoot, 'needs root: AF_XDP sockets on a veth lab (CAP_NET_RAW, CAP_NET_ADMIN, CAP_BPF)'), () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await createLab({ hostSide: true, staticNeighbours: true, queues: 2 });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it("binds in copy mode on veth, refuses 'zerocopy' with a typed EOPNOTSUPP error, and 'auto' falls back", async () => {
    let zc: unknown;
    try {
      (await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, mode: 'zerocopy' }))).close();
    } catch (error) {
      zc = error;
    }
    expect(zc).toBeInstanceOf(XskError);
    expect(zc).toMatchObject({ code: 'STOQ_ERR_XSK_ZEROCOPY_UNSUPPORTED', errnoCode: 'EOPNOTSUPP', operation: 'xsk_socket__create' });
    expect((zc as XskError).hint).toMatch(/veth|driver/);

    const auto = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, mode: 'auto' }));
    try {
      expect(auto.mode).toBe('copy');
      expect(auto.fallbackReason).toMatch(/EOPNOTSUPP/);
      expect(auto.fd).toBeGreaterThan(2);
      // The standalone redirect program is attached while the socket lives.
      const { stdout } = await lab.exec(lab.a, 'ip', ['-d', 'link', 'show', 'dev', lab.a.ifname]);
      expect(stdout).toMatch(/prog\/xdp/);
    } finally {
      auto.close();
    }
    const { stdout } = await lab.exec(lab.a, 'ip', ['-d', 'link', 'show', 'dev', lab.a.ifname]);
    expect(stdout, 'the default program goes away with the last socket').not.toMatch(/prog\/xdp/);
  });

  it("a staggered UMEM binds in copy mode: 'zerocopy' is refused before the kernel, 'auto' says why", async () => {
    const umem = Umem.create({ frameCount: 512, frameSize: 2048, fillSize: 256, compSize: 64, layout: 'staggered' });
    try {
      expect(umem.frameStride).toBe(2112);
      expect(umem.buffer.byteLength).toBe(512 * 2112);
      expect(() => XskSocket.open({ ifname: lab.a.ifname, umem, mode: 'zerocopy' })).toThrow(code('STOQ_ERR_INVALID_ARGUMENT'));
      expect(() => XskSocket.open({ ifname: lab.a.ifname, umem, mode: 'zerocopy' })).toThrow(/copy mode only/);
      const socket = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, umem, mode: 'auto' }));
      try {
        expect(socket.mode).toBe('copy');
        expect(socket.fallbackReason).toMatch(/staggered UMEM/);
        expect(umem.freeFrames).toBe(512 - 256);
      } finally {
        socket.close();
      }
      expect(umem.freeFrames).toBe(512);
    } finally {
      umem.destroy();
    }
  });

  it('names the real queue count when the queue does not exist', () => {
    expect(() => XskSocket.open({ ifname: lab.a.ifname, queueId: 2 })).toThrow(code('STOQ_ERR_XSK_BAD_QUEUE'));
    expect(() => XskSocket.open({ ifname: lab.a.ifname, queueId: 2 })).toThrow(/has 2 RX queue/);
  });

  it.each(['aligned', 'staggered'] as const)('shares one UMEM across one socket per queue, and refuses a second socket on the same queue (layout %s)', async (layout) => {
    const umem = Umem.create({ frameCount: 1024, frameSize: 2048, fillSize: 512, compSize: 512, layout });
    // A failed first bind (zero-copy on veth; refused up front when staggered) must not spoil the UMEM for the next try.
    const zeroCopyRefusal = layout === 'aligned' ? 'STOQ_ERR_XSK_ZEROCOPY_UNSUPPORTED' : 'STOQ_ERR_INVALID_ARGUMENT';
    await expect(openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, queueId: 0, umem, mode: 'zerocopy' }))).rejects.toThrow(code(zeroCopyRefusal));
    const q0 = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, queueId: 0, umem, mode: 'copy' }));
    const q1 = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, queueId: 1, umem, mode: 'copy' }));
    try {
      expect(q1.fd).not.toBe(q0.fd);
      expect(q1.mode).toBe('copy');
      expect(q0.umem.buffer).toBe(q1.umem.buffer);
      // q0 took 512 frames for its fill ring, q1 min(512, half of the remaining 512) = 256.
      expect(umem.freeFrames).toBe(1024 - 512 - 256);
      expect(() => XskSocket.open({ ifname: lab.a.ifname, queueId: 0, umem })).toThrow(/already has a socket/);
      expect(() => umem.destroy()).toThrow(code('STOQ_ERR_XSK_BUSY'));
    } finally {
      q1.close();
      q0.close();
    }
    umem.destroy();
    expect(() => XskSocket.open({ ifname: lab.a.ifname, umem })).toThrow(code('STOQ_ERR_CLOSED'));
  });

  it("'zerocopy' over a shared UMEM whose first socket bound in copy mode is refused, not silently copy mode", async () => {
    const umem = Umem.create({ frameCount: 1024, frameSize: 2048, fillSize: 512, compSize: 512 });
    try {
      const q0 = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, queueId: 0, umem, mode: 'copy' }));
      try {
        // libxdp binds later sockets with XDP_SHARED_UMEM alone: the kernel would give copy mode.
        const refused = (() => {
          try {
            XskSocket.open({ ifname: lab.a.ifname, queueId: 1, umem, mode: 'zerocopy' }).close();
          } catch (error) {
            return error;
          }
          return undefined;
        })();
        expect(refused).toBeInstanceOf(XskError);
        expect(refused).toMatchObject({ code: 'STOQ_ERR_INVALID_ARGUMENT', operation: 'XskSocket.open' });
        expect((refused as XskError).message).toMatch(/'zerocopy' on .*:1 over a UMEM bound in copy mode \(by its socket on .*:0\)/);
        expect(umem.freeFrames, 'nothing was bound or lent').toBe(1024 - 512);
        const q1 = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, queueId: 1, umem, mode: 'auto' }));
        expect(q1.mode).toBe('copy');
        q1.close();
      } finally {
        q0.close();
      }
      // With no socket left the next one binds first and chooses: the kernel answers for veth.
      await expect(openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, queueId: 1, umem, mode: 'zerocopy' }))).rejects.toThrow(code('STOQ_ERR_XSK_ZEROCOPY_UNSUPPORTED'));
    } finally {
      umem.destroy();
    }
  });

  it('refuses rxFrames that would leave the socket unable to receive or to send, naming the numbers', async () => {
    const refused = (options: Partial<XskSocketOptions>, pattern: RegExp) => {
      expect(() => XskSocket.open({ ifname: lab.a.ifname, mode: 'copy', ...options })).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT', message: expect.stringMatching(pattern) }));
    };
    // One frame: half of it is none, and the old code lent 0 frames (every packet dropped).
    const one = Umem.create({ frameCount: 1, fillSize: 1, compSize: 1 });
    const hundred = Umem.create({ frameCount: 100 });
    try {
      refused({ umem: one }, /could not receive: the UMEM has 1 free frame\(s\) of 1/);
      // The old code lent all 100 frames and allocTx() found none, forever.
      refused({ umem: hundred, rxFrames: 2048 }, /rxFrames 2048 exceeds the 100 free frame\(s\) of the UMEM \(100 frames\)/);
      refused({ umem: hundred, rxFrames: 100 }, /rxFrames 100 leaves no frame to send from: it takes all 100 free frame/);
      refused({ umem: hundred, rxFrames: 0 }, /could not receive: rxFrames is 0 and the redirect program would steer the queue to it/);
      refused({ rxFrames: 4096 }, /rxFrames \(4096\) exceeds the fill ring \(2048\)/);
      expect(hundred.freeFrames, 'nothing was lent').toBe(100);
      // Send only: no frame lent, no program pointing at the socket unless the caller puts it in an XSKMAP.
      const sender = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, mode: 'copy', umem: hundred, rxFrames: 0, inhibitProgramLoad: true }));
      try {
        expect(hundred.freeFrames).toBe(100);
        expect(sender.allocTx(8).count).toBe(8);
      } finally {
        sender.close();
      }
      const socket = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, mode: 'copy', umem: hundred, rxFrames: 99 }));
      try {
        expect(hundred.freeFrames).toBe(1);
        expect(socket.allocTx(8).count).toBe(1);
      } finally {
        socket.close();
      }
    } finally {
      one.destroy();
      hundred.destroy();
    }
  });

  it('updateXskMap takes only an open XSKMAP fd: a bad number or another kind of fd is STOQ_ERR_INVALID_ARGUMENT, never STOQ_ERR_CLOSED', async () => {
    const socket = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, mode: 'copy', inhibitProgramLoad: true }));
    const pin = `/sys/fs/bpf/stoq-afxdp-array-${lab.id}`;
    try {
      const invalid = (fd: unknown, pattern: RegExp) => {
        expect(() => socket.updateXskMap(fd as number)).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT' }));
        let error: XskError | undefined;
        try {
          socket.updateXskMap(fd as number);
        } catch (e) {
          error = e as XskError;
        }
        expect(`${error!.message} ${error!.hint}`).toMatch(pattern);
      };
      // 1e12 used to wrap to an fd number in native code (and be reported as a closed socket).
      invalid(1e12, /mapFd must be a file descriptor \(an integer in \[0, 2147483647\]\), got 1000000000000/);
      invalid(-1, /mapFd must be a file descriptor/);
      invalid('3', /mapFd must be a file descriptor/);
      invalid(2 ** 31 - 1, /not a map fd/);
      const file = openSync('/dev/null', 'r');
      try {
        invalid(file, /not an XSKMAP fd/);
      } finally {
        closeSync(file);
      }
      // A BPF map of u32 values would take the socket's fd silently and never redirect.
      await run('bpftool', ['map', 'create', pin, 'type', 'array', 'key', '4', 'value', '4', 'entries', '4', 'name', 'stoq_not_xsk']);
      const array = openPinnedMap(pin);
      try {
        invalid(array, /not an XSKMAP fd/);
      } finally {
        closeSync(array);
      }
    } finally {
      socket.close();
      rmSync(pin, { force: true });
    }
    expect(() => socket.updateXskMap(3)).toThrow(code('STOQ_ERR_CLOSED'));
  });

  it('openPinnedMap: a path outside bpffs is STOQ_ERR_XSK_NO_BPFFS (not a privilege problem), a missing pin says so', () => {
    for (const path of ['/etc/hostname', '/proc/self/stat', '/nonexistent-dir/map']) {
      let error: XskError | undefined;
      try {
        closeSync(openPinnedMap(path));
      } catch (e) {
        error = e as XskError;
      }
      expect(error).toBeInstanceOf(XskError);
      expect(error).toMatchObject({ code: 'STOQ_ERR_XSK_NO_BPFFS', operation: 'bpf_obj_get', message: expect.stringContaining(`${path} is not on a bpf filesystem`) });
      expect(error!.hint).toMatch(/pin paths must be on a bpf filesystem, e\.g\. \/sys\/fs\/bpf/);
    }
    expect(() => openPinnedMap(`/sys/fs/bpf/stoq-afxdp-none-${lab.id}`)).toThrow(expect.objectContaining({ code: 'STOQ_ERR_XSK_SYSCALL', errnoCode: 'ENOENT', message: expect.stringMatching(/nothing is pinned at/) }));
  });

  it('use after close is a typed error, close is idempotent and safe with frames in flight', async () => {
    const socket = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, mode: 'copy' }));
    const tx = socket.allocTx(4);
    for (let i = 0; i < tx.count; i++) tx.setLength(i, 60);
    socket.send(); // queued, maybe not completed: close must still be safe
    socket.on('readable', () => undefined);
    expect(socket.fd).toBeGreaterThan(2);
    socket.close();
    socket.close();
    // Its number may belong to another file by now.
    expect(socket.fd).toBe(-1);
    for (const call of [() => socket.receive(), () => socket.allocTx(), () => socket.statistics(), () => socket.release(), () => socket.reap()]) {
      expect(call).toThrow(code('STOQ_ERR_CLOSED'));
    }
    // The UMEM's memory outlives the socket: old views stay readable.
    expect(socket.umem.bytes.byteLength).toBeGreaterThan(0);
    expect(socket.umem.bytes[0]).toBeTypeOf('number');
  });

  it('bad counts and UMEM views are typed errors, not TypeErrors or a wrong view', async () => {
    const socket = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, mode: 'copy', batchSize: 32 }));
    try {
      for (const call of [
        () => socket.receive('x' as never), () => socket.receive(-1), () => socket.releaseAndReceive(null as never), () => socket.releaseAndReceive(1.5),
        () => socket.allocTx('x' as never), () => socket.allocTx(-1), () => socket.allocTx(Number.NaN),
        () => socket.umem.view(Number.NaN, 10), () => socket.umem.view('a' as never, 1), () => socket.umem.view(0, undefined as never),
      ]) {
        expect(call).toThrow(code('STOQ_ERR_INVALID_ARGUMENT'));
      }
      // Above the batch capacity is not an error: the batch is the limit.
      expect(socket.allocTx(2 ** 32 + 1).count).toBe(32);
      socket.cancelTx();
      expect(socket.receive(0).count).toBe(0);
    } finally {
      socket.close();
    }
  });

  it('close() returns the frames allocTx() reserved to the shared UMEM and empties the TX batch', async () => {
    const umem = Umem.create({ frameCount: 4096, fillSize: 1024, compSize: 1024 });
    const q0 = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, queueId: 0, umem, mode: 'copy' }));
    const q1 = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, queueId: 1, umem, mode: 'copy', rxFrames: 512 }));
    try {
      const tx = q1.allocTx(200);
      expect(tx.count).toBe(200);
      q1.close();
      expect(umem.freeFrames).toBe(4096 - 1024);
      expect(tx.count).toBe(0);
      expect(() => tx.frame(0)).toThrow(code('STOQ_ERR_INVALID_ARGUMENT'));
      q0.close();
      expect(umem.freeFrames).toBe(4096);
    } finally {
      q1.close();
      q0.close();
      umem.destroy();
    }
  });

  it('a kick that fails after frames were queued empties the TX batch and says how many were queued', async () => {
    const own = await createLab({ hostSide: true });
    try {
      const socket = await openWhenFree(() => XskSocket.open({ ifname: own.a.ifname, mode: 'copy' }));
      try {
        const tx = socket.allocTx(4);
        for (let i = 0; i < tx.count; i++) tx.setLength(i, 60);
        // The interface goes away under the socket: the kernel unbinds it, sendto() says ENXIO.
        await run('ip', ['link', 'del', own.a.ifname]);
        let failure: unknown;
        try {
          socket.send();
        } catch (error) {
          failure = error;
        }
        expect(failure).toBeInstanceOf(XskError);
        expect(failure).toMatchObject({ operation: 'sendto(tx kick)', errnoCode: 'ENXIO', queued: 4 });
        expect(tx.count).toBe(0);
        expect(() => tx.frame(0)).toThrow(code('STOQ_ERR_INVALID_ARGUMENT'));
      } finally {
        socket.close();
      }
    } finally {
      await own.destroy();
    }
  });

  it('an unref()ed polling socket does not keep a process alive; a ref()ed one does', async () => {
    const script = `
      const { XskSocket } = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});
      // The previous test's socket frees the queue asynchronously: retry EBUSY briefly.
      let s;
      for (let i = 0; !s; i++) {
        try { s = XskSocket.open({ ifname: ${JSON.stringify(lab.a.ifname)}, mode: 'copy' }); }
        catch (e) { if (e.code !== 'STOQ_ERR_XSK_BUSY' || i > 150) throw e; await new Promise((r) => setTimeout(r, 20)); }
      }
      s.on('readable', () => {});
      if (process.argv[1] === 'unref') s.unref(); else setTimeout(() => { s.close(); console.log('closed by timer'); }, 500);
    `;
    const started = Date.now();
    const unref = await run(process.execPath, ['--input-type=module', '-e', script, 'unref'], { timeout: 10_000 });
    expect(unref.stdout).toBe('');
    const ref = await run(process.execPath, ['--input-type=module', '-e', script, 'ref'], { timeout: 10_000 });
    expect(ref.stdout).toContain('closed by timer');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  /**
   * Source of a worker (eval'd, CommonJS) that opens a copy-mode socket on
   * workerData.ifname, retrying while a just-closed socket still holds the queue, then
   * runs `then` with `s` (the socket) and `parentPort` in scope.
   */
  const socketWorker = (then: string): string => `
    const { parentPort, workerData } = require('node:worker_threads');
    import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)}).then(async ({ XskSocket }) => {
      let s;
      for (let i = 0; !s; i++) {
        try { s = XskSocket.open({ ifname: workerData.ifname, mode: 'copy' }); }
        catch (e) { if (e.code !== 'STOQ_ERR_XSK_BUSY' || i > 150) throw e; await new Promise((r) => setTimeout(r, 20)); }
      }
      ${then}
    });`;

  it('terminating a worker while it calls into its socket does not abort the process', async () => {
    // A native call cut short by terminate() sees every N-API call fail; node-addon-api
    // used to rethrow that out of the callback into std::terminate (exit 134, the whole process).
    const script = `
      import { Worker } from 'node:worker_threads';
      const code = ${JSON.stringify(socketWorker("parentPort.postMessage('open'); for (;;) s.statistics(); // builds objects natively: where terminate() lands"))};
      let errors = 0;
      for (let i = 0; i < 20; i++) {
        const worker = new Worker(code, { eval: true, workerData: { ifname: process.argv[1] }, execArgv: [] });
        worker.on('error', () => errors++);
        await new Promise((r) => worker.once('message', r));
        await new Promise((r) => setTimeout(r, i % 5));
        await worker.terminate();
      }
      console.log(JSON.stringify({ survived: true, errors }));`;
    const result = (await run(process.execPath, ['--input-type=module', '-e', script, lab.a.ifname], { timeout: 60_000 }).catch((e: unknown) => e)) as {
      code?: number; signal?: string; stdout: string; stderr: string;
    };
    expect(result.stderr).not.toMatch(/terminate called/);
    expect([result.code ?? 0, result.signal ?? null]).toEqual([0, null]);
    expect(JSON.parse(result.stdout)).toEqual({ survived: true, errors: 0 });
  });

  it("a worker ended while its socket polls for 'readable' does not take the process down", async () => {
    // The poll handle outlived the worker's environment: the process crashed (SIGSEGV)
    // on terminate(). Node's teardown now closes it (an async cleanup hook).
    const script = `
      import { Worker } from 'node:worker_threads';
      const code = ${JSON.stringify(socketWorker("s.on('readable', () => {}); globalThis.socket = s; parentPort.postMessage('polling');"))};
      for (let i = 0; i < 3; i++) {
        const worker = new Worker(code, { eval: true, workerData: { ifname: process.argv[1] }, execArgv: [] });
        await new Promise((r) => worker.once('message', r));
        await worker.terminate();
      }
      console.log(JSON.stringify({ survived: true }));`;
    const result = (await run(process.execPath, ['--input-type=module', '-e', script, lab.a.ifname], { timeout: 60_000 }).catch((e: unknown) => e)) as {
      code?: number; signal?: string; stdout: string; stderr: string;
    };
    expect([result.code ?? 0, result.signal ?? null], result.stderr).toEqual([0, null]);
    expect(JSON.parse(result.stdout)).toEqual({ survived: true });
  });

  it("a closed socket that had a 'readable' listener can be garbage-collected", async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let collected = false;
    const registry = new FinalizationRegistry(() => (collected = true));
    await (async () => {
      const socket = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, queueId: 1 }));
      socket.on('readable', () => socket.receive());
      registry.register(socket, 'socket');
      socket.close();
    })();
    for (let i = 0; i < 20 && !collected; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(collected).toBe(true);
  });

  it('the UMEM and the batch arrays count as V8 external memory, so the GC weighs them', async () => {
    // Both are external ArrayBuffers, whose length V8 counts by itself. Earlier tests'
    // UMEMs are garbage by now: collected first, so that a GC the new UMEM's external
    // memory triggers cannot free them inside the measured window (a clean-clone CI run
    // measured -25 MB).
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    gc();
    const before = process.memoryUsage().external;
    const umem = Umem.create({ frameCount: 4096, frameSize: 2048 });
    try {
      const umemBytes = 4096 * 2048;
      const afterUmem = process.memoryUsage().external;
      expect(afterUmem - before).toBeGreaterThanOrEqual(umemBytes);
      expect(afterUmem - before).toBeLessThan(umemBytes + 64 * 1024);
      const socket = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, queueId: 1, umem, batchSize: 4096 }));
      try {
        // Four arrays of 4096 Uint32 (64 KiB), allocated natively.
        const batchBytes = process.memoryUsage().external - afterUmem;
        expect(batchBytes).toBeGreaterThanOrEqual(4 * 4096 * 4);
        expect(batchBytes).toBeLessThan(2 * 4 * 4096 * 4);
      } finally {
        socket.close();
      }
    } finally {
      umem.destroy();
    }
  });

  it("an open socket whose 'readable' listener was removed can be garbage-collected, freeing its queue", async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let collected = false;
    const registry = new FinalizationRegistry(() => (collected = true));
    await (async () => {
      const socket = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, queueId: 1, mode: 'copy' }));
      const listener = () => socket.receive();
      socket.on('readable', listener);
      socket.off('readable', listener); // polling stops; the native side must drop the callback too
      registry.register(socket, 'socket');
    })();
    for (let i = 0; i < 20 && !collected; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(collected).toBe(true);
    // Collection tore the socket down: the queue binds again (kept, it stayed EBUSY).
    const again = await openWhenFree(() => XskSocket.open({ ifname: lab.a.ifname, queueId: 1, mode: 'copy' }));
    again.close();
  });

  it('a process without capabilities gets STOQ_ERR_XSK_PERMISSION with a hint', async () => {
    const { stdout } = await run('setpriv', [
      '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all',
      process.execPath, helper('open-unprivileged.mjs'), lab.a.ifname,
    ], { timeout: 10_000 });
    const result = JSON.parse(stdout.trim()) as Record<string, unknown>;
    expect(result).toMatchObject({ name: 'XskError', code: 'STOQ_ERR_XSK_PERMISSION' });
    expect(['EPERM', 'EACCES']).toContain(result.errnoCode);
    expect(result.hint).toMatch(/CAP_NET_RAW/);
  });
});
