import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfError, BpfMap, BpfObject, ensureBpffs, possibleCpus } from '../src/index.ts';
import { frame, u32, u64, VERDICTS_OBJECT } from './support/fixtures.ts';

describe('BpfMap', () => {
  let object: BpfObject;
  beforeAll(async () => {
    object = await BpfObject.load(VERDICTS_OBJECT);
  });
  afterAll(() => object.close());

  it('hash map: create, read, update, delete, with exist/noexist flags', () => {
    const map = object.map('by_first_byte');
    expect(map.lookup(u32(7))).toBeNull();
    map.update(u32(7), u64(1n), 'noexist');
    expect(map.lookup(u32(7))!.readBigUInt64LE()).toBe(1n);
    expect(() => map.update(u32(7), u64(2n), 'noexist')).toThrow(expect.objectContaining({ code: 'STOQ_ERR_BPF_MAP', errnoCode: 'EEXIST' }));
    map.update(u32(7), u64(3n), 'exist');
    expect(map.lookup(u32(7))!.readBigUInt64LE()).toBe(3n);
    expect(map.delete(u32(7))).toBe(true);
    expect(map.delete(u32(7))).toBe(false);
    expect(() => map.update(u32(7), u64(2n), 'exist')).toThrow(expect.objectContaining({ errnoCode: 'ENOENT' }));
  });

  it('iterates keys and entries, and the batch lookup sees the same entries', () => {
    const map = object.map('by_first_byte');
    for (let k = 100; k < 110; k++) map.update(u32(k), u64(BigInt(k * 10)));
    const entries = new Map([...map.entries()].map(([k, v]) => [k.readUInt32LE(), v.readBigUInt64LE()]));
    for (let k = 100; k < 110; k++) expect(entries.get(k)).toBe(BigInt(k * 10));
    expect([...map.keys()].length).toBe(entries.size);

    const batched = map.lookupBatch({ batchSize: 3 }); // smaller than the map: several kernel calls
    expect(map.lastBatchMethod).toBe('batch');
    expect(new Map(batched.map(([k, v]) => [k.readUInt32LE(), v.readBigUInt64LE()]))).toEqual(entries);
    for (let k = 100; k < 110; k++) map.delete(u32(k));
  });

  it('per-CPU values: one per possible CPU, summed by the caller', () => {
    const map = object.map('percpu_packets');
    expect(map.isPerCpu).toBe(true);
    const cpus = possibleCpus();
    map.update(u32(0), Array.from({ length: cpus }, (_, cpu) => u64(BigInt(cpu + 1))));
    const values = map.lookupPerCpu(u32(0))!;
    expect(values).toHaveLength(cpus);
    expect(values.map((v) => v.readBigUInt64LE())).toEqual(Array.from({ length: cpus }, (_, cpu) => BigInt(cpu + 1)));

    // The program increments this CPU's slot: the sum moves by exactly the runs.
    const sum = () => map.lookupPerCpu(u32(0))!.reduce((acc, v) => acc + v.readBigUInt64LE(), 0n);
    const before = sum();
    object.program('verdicts').testRun(frame('P'), { repeat: 250 });
    expect(sum() - before).toBe(250n);
    expect(() => map.lookup(u32(0))).toThrow(/per-CPU: use lookupPerCpu/);
  });

  it('rejects wrong key and value sizes before the kernel sees them', () => {
    const map = object.map('verdict_counts');
    expect(() => map.lookup(Buffer.alloc(3))).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/keys are 4 bytes/) }));
    expect(() => map.update(u32(0), Buffer.alloc(4))).toThrow(/values are 8 bytes/);
    expect(() => map.update(u32(0), u64(1n), 'sometimes' as never)).toThrow(/flags must be one of/);
    expect(map.lookup(u32(99))).toBeNull();
    expect(() => map.update(u32(99), u64(1n))).toThrow(expect.objectContaining({ code: 'STOQ_ERR_BPF_MAP', errnoCode: 'E2BIG' }));
  });

  it('pins to bpffs 0600 and unpins; other holders open it by name', () => {
    const bpffs = ensureBpffs();
    expect(bpffs.mountPoint, bpffs.reason).toBeTruthy();
    const path = `${bpffs.mountPoint}/stoq_loader_test_${process.pid}`;
    const map = object.map('verdict_counts');
    map.pin(path);
    try {
      expect((statSync(path).mode & 0o777).toString(8)).toBe('600');
      const opened = BpfMap.openByName('verdict_counts');
      try {
        expect(opened.length).toBeGreaterThanOrEqual(1);
        expect(opened.every((m) => m.keySize === 4 && m.valueSize === 8)).toBe(true);
      } finally {
        for (const m of opened) m.close();
      }
    } finally {
      map.unpin();
    }
    expect(existsSync(path)).toBe(false);
    expect(() => map.pin('relative/path')).toThrow(/absolute/);
  });

  it('a second pin() before unpin() is refused, so unpin() leaves no pin behind', () => {
    const bpffs = ensureBpffs();
    expect(bpffs.mountPoint, bpffs.reason).toBeTruthy();
    const first = `${bpffs.mountPoint}/stoq_loader_pin1_${process.pid}`;
    const second = `${bpffs.mountPoint}/stoq_loader_pin2_${process.pid}`;
    const map = object.map('verdict_counts');
    map.pin(first);
    try {
      expect(map.pinnedAt).toBe(first);
      for (const path of [second, first]) {
        expect(() => map.pin(path)).toThrow(expect.objectContaining({
          code: 'STOQ_ERR_BPF_PIN', errnoCode: 'EEXIST', operation: 'pin', message: expect.stringContaining(`already pinned at ${first}`), hint: expect.stringMatching(/unpin\(\) first/),
        }));
      }
      expect(existsSync(second)).toBe(false);
      // Another map on the same path: the kernel's EEXIST, the path named once (it was twice).
      let taken: BpfError | undefined;
      try {
        object.map('by_first_byte').pin(first);
      } catch (e) {
        taken = e as BpfError;
      }
      expect(taken).toMatchObject({ code: 'STOQ_ERR_BPF_PIN', errnoCode: 'EEXIST', message: `pin: File exists (${first})` });
    } finally {
      map.unpin();
      rmSync(second, { force: true });
    }
    // The old code remembered only the last pin: unpin() left the first one forever.
    expect(existsSync(first)).toBe(false);
    expect(map.pinnedAt).toBeNull();
    map.pin(second);
    map.unpin();
    expect(existsSync(second)).toBe(false);
  });

  it('a pin path outside bpffs is STOQ_ERR_BPF_PIN saying so, not a permission problem; a missing directory says so too', () => {
    const bpffs = ensureBpffs();
    const dir = mkdtempSync(join(tmpdir(), 'stoq-loader-pin-'));
    const map = object.map('verdict_counts');
    try {
      const path = join(dir, 'map');
      let error: BpfError | undefined;
      try {
        map.pin(path);
      } catch (e) {
        error = e as BpfError;
      }
      expect(error).toBeInstanceOf(BpfError);
      expect(error).toMatchObject({ code: 'STOQ_ERR_BPF_PIN', errnoCode: 'EPERM', operation: 'pin', message: `pin: ${path} is not on a bpf filesystem` });
      expect(error!.hint).toMatch(/^pin paths must be on a bpf filesystem, e\.g\. \/.*\/verdict_counts$/);
      expect(map.pinnedAt).toBeNull();
      const deep = `${bpffs.mountPoint}/stoq_loader_no_dir_${process.pid}/map`;
      expect(() => map.pin(deep)).toThrow(expect.objectContaining({ code: 'STOQ_ERR_BPF_PIN', errnoCode: 'ENOENT', hint: expect.stringMatching(/mkdir -p/) }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('argument and state errors name the method: openByName(non-string), entriesPerCpu() of a map that is not per-CPU', () => {
    for (const name of [123, '', null]) {
      expect(() => BpfMap.openByName(name as never)).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT', operation: 'openByName', message: expect.stringMatching(/name must be a non-empty string/) }));
    }
    expect(() => [...object.map('by_first_byte').entriesPerCpu()]).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT', operation: 'map.entriesPerCpu', message: expect.stringMatching(/not a per-CPU map: use entries\(\)/) }));
  });
});
