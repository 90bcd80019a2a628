import { describe, expect, it } from 'vitest';
import { u32, u64 } from './support/fixtures.ts';
import { useIteratorObjects } from './support/iterator-objects.ts';

describe('BpfProgram.attachIterator (BPF_TRACE_ITER over a map)', () => {
  const objects = useIteratorObjects();

  const record = (bytes: Buffer) => ({ count: bytes.readBigUInt64LE(0), sum: bytes.readBigUInt64LE(8) });

  it('summarises every element of another object\'s map in the kernel, pass after pass', () => {
    const map = objects.maps.map('by_first_byte');
    let expected = 0n;
    for (let k = 0; k < 200; k++) {
      map.update(u32(k), u64(BigInt(k * 3)));
      expected += BigInt(k * 3);
    }
    const iterator = objects.iterators.program('sum_values').attachIterator({ map });
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
    const small = objects.maps.map('last_rx_queue'); // u32 values, the program reads u64
    expect(() => objects.iterators.program('sum_values').attachIterator({ map: small })).toThrow(
      expect.objectContaining({ code: 'STOQ_ERR_BPF_ITERATOR', errnoCode: 'EACCES' }),
    );
  });

  it('only iterator programs attach as iterators', () => {
    expect(() => objects.maps.program('verdicts').attachIterator()).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT' }));
  });

  it('a map-element iterator without { map }, or with something that is no map, is an argument error naming what to pass', () => {
    const program = objects.iterators.program('sum_values');
    // The kernel answers EBADF (the old code passed that on with no hint).
    expect(() => program.attachIterator()).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT', operation: 'attachIterator', message: expect.stringMatching(/iter\/bpf_map_elem.*pass attachIterator\(\{ map \}\)/) }));
    expect(() => program.attachIterator(null as never)).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/pass attachIterator\(\{ map \}\)/) }));
    expect(() => program.attachIterator({ map: {} as never })).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT', message: expect.stringMatching(/map must be a BpfMap/) }));
    expect(() => program.attachIterator({ map: { fd: 2 ** 31 - 1, name: 'gone' } as never })).toThrow(expect.objectContaining({ code: 'STOQ_ERR_BPF_ITERATOR', errnoCode: 'EBADF', hint: expect.stringMatching(/map gone is not an open BPF map/) }));
  });
});
