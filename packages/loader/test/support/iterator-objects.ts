// The two objects the iterator tests use, loaded once per describe block that calls
// this (vitest hooks register in the calling block) and closed after it.
import { afterAll, beforeAll } from 'vitest';
import { BpfObject } from '../../src/index.ts';
import { SUM_ITER_OBJECT, VERDICTS_OBJECT } from './fixtures.ts';

export interface IteratorObjects {
  /** verdicts.bpf.o, for its maps (by_first_byte: u32 → u64). */
  maps: BpfObject;
  /** sum_iter.bpf.o: the sum_values map-element iterator. */
  iterators: BpfObject;
}

export function useIteratorObjects(): IteratorObjects {
  const objects = {} as IteratorObjects;
  beforeAll(async () => {
    objects.maps = await BpfObject.load(VERDICTS_OBJECT);
    objects.iterators = await BpfObject.load(SUM_ITER_OBJECT);
  });
  afterAll(() => {
    objects.iterators?.close();
    objects.maps?.close();
  });
  return objects;
}
