import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject } from '../src/index.ts';
import { SUM_ITER_OBJECT, u32, u64, VERDICTS_OBJECT } from './support/fixtures.ts';

describe('BpfProgram.attachIterator (BPF_TRACE_ITER over a map)', () => {
  let maps: BpfObject;
  let iterators: BpfObject;
  beforeAll(async () => {
    maps = await BpfObject.load(VERDICTS_OBJECT);
    iterators = await BpfObject.load(SUM_ITER_OBJECT);
  });
  afterAll(() => {
    iterators?.close();
    maps?.close();
  });

  const record = (bytes: Buffer) => ({ count: bytes.readBigUInt64LE(0), sum: bytes.readBigUInt64LE(8) });

  it('summarises every element of another object\'s map in the kernel, pass after pass', () => {
    const map = maps.map('by_first_byte');
    let expected = 0n;
    for (let k = 0; k < 200; k++) {
      map.update(u32(k), u64(BigInt(k * 3)));
      expected += BigInt(k * 3);
    }
    const iterator = iterators.program('sum_values').attachIterator({ map });
    try {
      const first = iterator.read();
      expect(first.length).toBe(16);
      expect(record(first)).toEqual({ count: 200n, sum: expected });
      map.delete(u32(0));
      map.delete(u32(199));
      expect(record(iterator.read())).toEqual({ count: 198n, sum: expected - 199n * 3n }); // counters reset between passes
    } finally {
      iterator.close();
      iterator.close();
    }
    expect(() => iterator.read()).toThrow(expect.objectContaining({ code: 'STOQ_ERR_CLOSED' }));
  });

  it('the kernel refuses a map whose values are smaller than the program reads', () => {
    const small = maps.map('last_rx_queue'); // u32 values, the program reads u64
    expect(() => iterators.program('sum_values').attachIterator({ map: small })).toThrow(
      expect.objectContaining({ code: 'STOQ_ERR_BPF_ITERATOR', errnoCode: 'EACCES' }),
    );
  });

  it('only iterator programs attach as iterators', () => {
    expect(() => maps.program('verdicts').attachIterator()).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT' }));
  });
});
