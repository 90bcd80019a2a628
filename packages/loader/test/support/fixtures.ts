// Paths of the compiled test fixtures and of the child-process scripts.
import { fileURLToPath } from 'node:url';

export const VERDICTS_OBJECT = fileURLToPath(new URL('../../build/fixtures/verdicts.bpf.o', import.meta.url));
export const INVALID_OBJECT = fileURLToPath(new URL('../../build/fixtures/invalid.bpf.o', import.meta.url));
export const SUM_ITER_OBJECT = fileURLToPath(new URL('../../build/fixtures/sum_iter.bpf.o', import.meta.url));
export const CHILD_SCRIPT = fileURLToPath(new URL('./child.mjs', import.meta.url));

/** A frame whose first byte picks the fixture's verdict ('D' drop, 'A' abort, else pass). */
export function frame(first: string, length = 64): Buffer {
  const bytes = Buffer.alloc(length);
  bytes[0] = first.charCodeAt(0);
  return bytes;
}

export function u32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value);
  return bytes;
}

export function u64(value: bigint): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(value);
  return bytes;
}
