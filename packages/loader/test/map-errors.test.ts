// Failed map writes carry errno and a hint (DESIGN: every failed map update), flags
// are looked up as own names only, and lookupBatch copes with hash buckets larger
// than the batch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfError, BpfObject } from '../src/index.ts';
import { u32, u64, VERDICTS_OBJECT } from './support/fixtures.ts';

describe('BpfMap failures', () => {
  let object: BpfObject;
  beforeAll(async () => {
    object = await BpfObject.load(VERDICTS_OBJECT);
  });
  afterAll(() => object.close());

  const failure = (fn: () => unknown): BpfError => {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(BpfError);
      return error as BpfError;
    }
    throw new Error('expected a failure');
  };

  it('each failed update and delete has a hint naming its cause', () => {
    const hash = object.map('by_first_byte'); // hash, 256 entries
    const array = object.map('verdict_counts'); // array, 4 entries
    for (let k = 0; k < 256; k++) hash.update(u32(k), u64(0n));
    try {
      const full = failure(() => hash.update(u32(1000), u64(0n)));
      expect(full).toMatchObject({ code: 'STOQ_ERR_BPF_MAP', errnoCode: 'E2BIG', operation: 'map.update', hint: expect.stringMatching(/full/) });
      const exists = failure(() => hash.update(u32(1), u64(0n), 'noexist'));
      expect(exists).toMatchObject({ errnoCode: 'EEXIST', hint: expect.stringMatching(/'noexist' only creates/) });
    } finally {
      for (let k = 0; k < 256; k++) hash.delete(u32(k));
    }
    const missing = failure(() => hash.update(u32(300), u64(0n), 'exist'));
    expect(missing).toMatchObject({ errnoCode: 'ENOENT', hint: expect.stringMatching(/'exist' only replaces/) });
    const pastEnd = failure(() => array.update(u32(4), u64(0n)));
    expect(pastEnd).toMatchObject({ errnoCode: 'E2BIG', hint: expect.stringMatching(/past max_entries/) });
    const arrayDelete = failure(() => array.delete(u32(0)));
    expect(arrayDelete).toMatchObject({ code: 'STOQ_ERR_BPF_MAP', errnoCode: 'EINVAL', operation: 'map.delete', hint: expect.stringMatching(/array maps cannot delete/) });
  });

  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])('flags %s is an argument error, not a kernel one', (flags) => {
    expect(() => object.map('by_first_byte').update(u32(1), u64(0n), flags as never)).toThrow(
      expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/flags must be one of/) }),
    );
  });

  it('lookupBatch with a batch smaller than a hash bucket still returns every entry', () => {
    const hash = object.map('by_first_byte');
    // 256 keys in 256 buckets: some bucket holds two or more, which a batch of 1 cannot take.
    for (let k = 0; k < 256; k++) hash.update(u32(k), u64(BigInt(k)));
    try {
      for (const batchSize of [1, 2, 256]) {
        const entries = hash.lookupBatch({ batchSize });
        expect(hash.lastBatchMethod).toBe('batch');
        expect(entries.map(([k, v]) => [k.readUInt32LE(), Number(v.readBigUInt64LE())]).sort((a, b) => a[0]! - b[0]!)).toEqual(
          Array.from({ length: 256 }, (_, k) => [k, k]),
        );
      }
    } finally {
      for (let k = 0; k < 256; k++) hash.delete(u32(k));
    }
  });
});
