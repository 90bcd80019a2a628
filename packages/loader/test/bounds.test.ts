// Sizes and counts at both doors: TS refuses them with STOQ_ERR_INVALID_ARGUMENT, and the
// addon itself never wraps them (2**32 + 100 → 100) or lets a C++ exception kill the process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject } from '../src/index.ts';
import { native } from '../src/binding.ts';
import { frame, u32, u64, VERDICTS_OBJECT } from './support/fixtures.ts';
import { useIteratorObjects } from './support/iterator-objects.ts';

const invalid = expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT', errnoCode: 'EINVAL' });
const nativeEinval = (what: RegExp) => expect.objectContaining({ errno: 22, message: expect.stringMatching(what) });

describe('testRun sizes', () => {
  let object: BpfObject;
  beforeAll(async () => {
    object = await BpfObject.load(VERDICTS_OBJECT);
  });
  afterAll(() => object.close());

  it.each([2 ** 31, 2 ** 32 + 100, 16 * 1024 * 1024 + 1, 0, -1, 1.5, Number.NaN, Infinity])('dataSizeOut %s is an argument error', (dataSizeOut) => {
    expect(() => object.program('verdicts').testRun(Buffer.alloc(100), { dataSizeOut })).toThrow(invalid);
  });

  it('the largest dataSizeOut still runs, and repeat beyond its bound is refused', () => {
    const program = object.program('verdicts');
    expect(program.testRun(frame('P'), { dataSizeOut: 16 * 1024 * 1024 }).data.length).toBe(64);
    expect(() => program.testRun(frame('P'), { repeat: 2 ** 32 + 1 })).toThrow(invalid);
    expect(() => program.testRun(Buffer.alloc(16 * 1024 * 1024 + 1))).toThrow(invalid);
  });

  it('the addon refuses sizes TS would have caught, as errno errors, and the process lives on', () => {
    const fd = object.program('verdicts').fd;
    const run = (repeat: number, dataSizeOut: number) => () => native.testRun(fd, frame('P'), repeat, dataSizeOut);
    expect(run(1, 2 ** 31)).toThrow(nativeEinval(/dataSizeOut must be an integer/)); // was std::length_error → abort
    expect(run(1, 2 ** 32 + 100)).toThrow(nativeEinval(/dataSizeOut/)); // was a silent wrap to 100
    expect(run(2 ** 32 + 1, 100)).toThrow(nativeEinval(/repeat/)); // was a silent wrap to 1
    expect(() => native.testRun(fd, frame('P'), 1, 100, Buffer.alloc(8192))).toThrow(nativeEinval(/ctxIn/));
    expect(native.testRun(fd, frame('D'), 1, 100).retval).toBe(1); // still works afterwards
  });
});

describe('iterator read sizes', () => {
  const objects = useIteratorObjects();

  it('maxBytes past 1 GiB is an argument error, not a wrap to 0', () => {
    const map = objects.maps.map('by_first_byte');
    map.update(u32(1), u64(5n));
    const iterator = objects.iterators.program('sum_values').attachIterator({ map });
    try {
      expect(() => iterator.read(2 ** 32)).toThrow(invalid);
      expect(() => iterator.read(2 ** 30 + 1)).toThrow(invalid);
      expect(iterator.read(2 ** 30).length).toBe(16);
      expect(iterator.read(16).length).toBe(16);
      expect(() => iterator.read(15)).toThrow(expect.objectContaining({ code: 'STOQ_ERR_BPF_ITERATOR', errnoCode: 'E2BIG' }));
    } finally {
      iterator.close();
      map.delete(u32(1));
    }
  });

  it('the addon refuses a wrapped maxBytes itself', () => {
    const linkFd = native.iterLinkCreate(objects.iterators.program('sum_values').fd, objects.maps.map('by_first_byte').fd);
    try {
      expect(() => native.iterRead(linkFd, 2 ** 32)).toThrow(nativeEinval(/maxBytes/)); // was E2BIG: 2**32 wrapped to 0
      expect(native.iterRead(linkFd, 2 ** 30).length).toBe(16);
    } finally {
      native.closeFd(linkFd);
    }
  });
});

describe('map sizes at the addon', () => {
  it('key, value and batch sizes outside their bounds are errno errors', async () => {
    const object = await BpfObject.load(VERDICTS_OBJECT);
    try {
      const fd = object.map('by_first_byte').fd;
      expect(() => native.mapLookup(fd, u32(0), 2 ** 32 + 8)).toThrow(nativeEinval(/valueLength/));
      expect(() => native.mapNextKey(fd, null, 2 ** 32 + 4)).toThrow(nativeEinval(/keySize/));
      expect(() => native.mapLookupBatch(fd, 4, 8, 2 ** 32 + 1)).toThrow(nativeEinval(/batchSize/));
      expect(() => native.mapLookupBatch(fd, 2 ** 32 + 4, 8, 16)).toThrow(nativeEinval(/keySize/));
    } finally {
      object.close();
    }
  });
});
