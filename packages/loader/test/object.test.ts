import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfError, BpfObject, XdpAction } from '../src/index.ts';
import { frame, INVALID_OBJECT, u32, u64, VERDICTS_OBJECT } from './support/fixtures.ts';

describe('BpfObject', () => {
  let object: BpfObject;
  beforeAll(async () => {
    object = await BpfObject.load(VERDICTS_OBJECT);
  });
  afterAll(() => object.close());

  it('lists programs and maps by name with their kernel types', () => {
    expect(object.programs().map((p) => [p.name, p.type, p.section])).toEqual([['verdicts', 'xdp', 'xdp']]);
    const maps = Object.fromEntries(object.maps().map((m) => [m.name, [m.type, m.keySize, m.valueSize, m.maxEntries]]));
    expect(maps).toEqual({
      verdict_counts: ['array', 4, 8, 4],
      percpu_packets: ['percpu_array', 4, 8, 1],
      by_first_byte: ['hash', 4, 8, 256],
      last_rx_queue: ['array', 4, 4, 1],
    });
    expect(object.program('verdicts').id).toBeGreaterThan(0);
  });

  it('testRun returns the verdict the program chose and the frame as it left it', () => {
    const program = object.program('verdicts');
    const drop = program.testRun(frame('D'));
    expect([drop.retval, drop.action]).toEqual([XdpAction.DROP, 'DROP']);
    expect(drop.data.length).toBe(64);
    expect(drop.data[1]).toBe(0);
    const rewritten = program.testRun(frame('W'));
    expect(rewritten.action).toBe('PASS');
    expect(rewritten.data[1]).toBe(0xab); // the program's rewrite is visible
    expect(program.testRun(frame('A')).action).toBe('ABORTED');
    expect(program.testRun(frame('P')).action).toBe('PASS');
  });

  it('testRun repeats in the kernel and counts every repetition', () => {
    const program = object.program('verdicts');
    const counts = object.map('verdict_counts');
    const before = counts.lookup(u32(XdpAction.DROP))!.readBigUInt64LE();
    const result = program.testRun(frame('D'), { repeat: 1000 });
    expect(result.durationNs).toBeGreaterThan(0);
    expect(counts.lookup(u32(XdpAction.DROP))!.readBigUInt64LE() - before).toBe(1000n);
  });

  it('testRun passes the XDP context (ingress interface and rx queue)', () => {
    object.program('verdicts').testRun(frame('P'), { ingressIfindex: 1, rxQueueIndex: 0 });
    expect(object.map('last_rx_queue').lookup(u32(0))!.readUInt32LE()).toBe(0);
    expect(() => object.program('verdicts').testRun(frame('P'), { ingressIfindex: 1, rxQueueIndex: 999 })).toThrow(
      expect.objectContaining({ code: 'STOQ_ERR_BPF_TEST_RUN', errnoCode: 'EINVAL' }),
    );
  });

  it('testRun rejects bad input with typed errors', () => {
    const program = object.program('verdicts');
    expect(() => program.testRun(Buffer.alloc(0))).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT' }));
    expect(() => program.testRun(frame('P'), { repeat: 0 })).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT' }));
    expect(() => program.testRun(Buffer.alloc(4))).toThrow(expect.objectContaining({ code: 'STOQ_ERR_BPF_TEST_RUN', errnoCode: 'EINVAL' }));
    expect(() => program.testRun(frame('P'), { dataSizeOut: 8 })).toThrow(expect.objectContaining({ errnoCode: 'ENOSPC' }));
    // null options are no options (a TypeError before); other non-objects are argument errors.
    expect(program.testRun(frame('D'), null as never).action).toBe('DROP');
    expect(() => program.testRun(frame('P'), 5 as never)).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/options must be an object, got 5/) }));
  });

  it('names unknown programs and maps with what exists', () => {
    expect(() => object.map('nope')).toThrow(/no map named "nope" \(has: (?=.*verdict_counts)(?=.*percpu_packets)(?=.*by_first_byte)(?=.*last_rx_queue)/);
    expect(() => object.program('nope')).toThrow(expect.objectContaining({ code: 'STOQ_ERR_BPF_NOT_FOUND' }));
  });
});

describe('BpfObject failures', () => {
  it('a program the verifier rejects gives STOQ_ERR_BPF_VERIFIER with the log', async () => {
    const error = await BpfObject.load(INVALID_OBJECT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BpfError);
    const e = error as BpfError;
    expect(e.code).toBe('STOQ_ERR_BPF_VERIFIER');
    expect(e.errnoCode).toBe('EACCES');
    expect(e.operation).toBe('load');
    expect(e.verifierLog).toMatch(/invalid access to packet/);
    expect(e.verifierLog).toMatch(/processed \d+ insns/);
    expect(e.message).toMatch(/verifier rejected.*outside of the packet/);
    expect(e.hint).toMatch(/verifierLog/);
  });

  it('a missing file and a file that is not BPF are told apart', () => {
    expect(() => BpfObject.open('/nonexistent/x.bpf.o')).toThrow(expect.objectContaining({ code: 'STOQ_ERR_BPF_NOT_FOUND' }));
    const dir = mkdtempSync(join(tmpdir(), 'stoq-loader-'));
    try {
      const junk = join(dir, 'junk.o');
      writeFileSync(junk, 'not an ELF file at all');
      const error = (() => { try { BpfObject.open(junk); } catch (e) { return e; } })() as BpfError;
      expect(error.code).toBe('STOQ_ERR_BPF_OPEN');
      // libbpf's own LIBBPF_ERRNO__FORMAT (4001) used to leak as errno, "Unknown error 4001", path twice.
      expect(error).toMatchObject({ errno: constants.errno.ENOEXEC, errnoCode: 'ENOEXEC', operation: 'open' });
      expect(error.message).toMatch(/^open: BPF object format invalid \(/);
      expect(error.message).not.toMatch(/Unknown error/);
      const [first] = error.message.split('\n'); // libbpf's log follows, naming the file its own way
      expect(first!.split(junk).length - 1, first).toBe(1);
      expect((error.cause as { libbpfErrno?: number }).libbpfErrno).toBe(4001);
      expect(error.hint).toMatch(/clang -target bpf/);
      // A directory fails inside libelf (LIBBPF_ERRNO__LIBELF): a real errno as well.
      expect(() => BpfObject.open(dir)).toThrow(expect.objectContaining({ code: 'STOQ_ERR_BPF_OPEN', errnoCode: 'ENOEXEC' }));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('using a closed object is a typed error, close is idempotent', async () => {
    const object = await BpfObject.load(VERDICTS_OBJECT);
    const map = object.map('verdict_counts');
    const program = object.program('verdicts');
    object.close();
    object.close();
    // The operation is the method that was called, not just 'map' or 'program'.
    expect(() => map.lookup(u32(0))).toThrow(expect.objectContaining({ code: 'STOQ_ERR_CLOSED', operation: 'map.lookup' }));
    expect(() => map.update(u32(0), u64(1n))).toThrow(expect.objectContaining({ code: 'STOQ_ERR_CLOSED', operation: 'map.update' }));
    expect(() => [...map.keys()]).toThrow(expect.objectContaining({ code: 'STOQ_ERR_CLOSED', operation: 'map.keys' }));
    expect(() => map.fd).toThrow(expect.objectContaining({ code: 'STOQ_ERR_CLOSED', operation: 'map.fd' }));
    expect(() => program.testRun(frame('P'))).toThrow(expect.objectContaining({ code: 'STOQ_ERR_CLOSED', operation: 'testRun' }));
    expect(() => program.id).toThrow(expect.objectContaining({ code: 'STOQ_ERR_CLOSED', operation: 'program.id' }));
    expect(() => object.map('verdict_counts')).toThrow(expect.objectContaining({ code: 'STOQ_ERR_CLOSED' }));
  });

  it('loading twice is refused', async () => {
    const object = await BpfObject.load(VERDICTS_OBJECT);
    try {
      await expect(object.load()).rejects.toMatchObject({ code: 'STOQ_ERR_INVALID_ARGUMENT' });
    } finally {
      object.close();
    }
  });

  it('objects dropped without close() release their fds when collected', () => {
    // A separate process with --expose-gc: load 200 objects, drop them, collect, count fds.
    const script = `
      import { BpfObject } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
      import { readdirSync } from 'node:fs';
      const fds = () => readdirSync('/proc/self/fd').length;
      const baseline = fds();
      let held = [];
      for (let i = 0; i < 200; i++) held.push(await BpfObject.load(${JSON.stringify(VERDICTS_OBJECT)}));
      const peak = fds();
      held = null;
      for (let i = 0; i < 20; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
      console.log(JSON.stringify({ baseline, peak, after: fds() }));`;
    const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    const { baseline, peak, after } = JSON.parse(out) as { baseline: number; peak: number; after: number };
    expect(peak - baseline).toBeGreaterThanOrEqual(200 * 5); // 1 program + 4 maps each, really held
    expect(after - baseline).toBeLessThan(50);
  });

  it('a worker that exits or is terminated while load() runs does not abort the process', () => {
    // The load completes during the worker's teardown, when its promise can no longer
    // be settled: that used to throw out of the completion and std::terminate (exit 134).
    const script = `
      import { Worker } from 'node:worker_threads';
      import { readdirSync } from 'node:fs';
      const fds = () => readdirSync('/proc/self/fd').length;
      const code = \`
        const { parentPort } = require('node:worker_threads');
        import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)}).then(({ BpfObject }) => {
          BpfObject.open(${JSON.stringify(VERDICTS_OBJECT)}).load().catch(() => {});
          BpfObject.open(${JSON.stringify(VERDICTS_OBJECT)}).load().catch(() => {});
          if (process.argv.includes('exit')) process.exit(0);
          parentPort.postMessage('loading');
        });\`;
      const baseline = fds();
      for (const how of ['exit', 'terminate']) {
        for (let i = 0; i < 20; i++) {
          const worker = new Worker(code, { eval: true, argv: [how], execArgv: [] });
          if (how === 'terminate') { await new Promise((r) => worker.once('message', r)); await worker.terminate(); }
          else await new Promise((r) => worker.once('exit', r));
        }
      }
      console.log(JSON.stringify({ survived: true, leaked: fds() - baseline }));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
    expect(child.stderr).not.toMatch(/terminate called/);
    expect(child.status).toBe(0);
    const result = JSON.parse(child.stdout) as { survived: boolean; leaked: number };
    expect(result.survived).toBe(true);
    expect(result.leaked).toBeLessThan(20); // 2 objects of 5 fds per worker: released with it
  });
});

