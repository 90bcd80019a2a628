// SPDX-License-Identifier: Apache-2.0
// Every row of the XDP classification contract, through the real program in the
// kernel (BPF_PROG_TEST_RUN): the verdict and exactly one class counter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { FIXTURES } from './support/fixtures.js';
import { expectOneFrame } from './support/expect.js';
import { LoadedStoqProgram, isRoot } from './support/kernel.js';


describe('stoq_xdp verdict table (default config)', skipUnless(isRoot, 'needs root: loading BPF programs and BPF_PROG_TEST_RUN (CAP_BPF, CAP_SYS_ADMIN)'), () => {
  let prog: LoadedStoqProgram;
  beforeAll(async () => {
    prog = await LoadedStoqProgram.load();
  });
  afterAll(() => prog?.close());

  it.each(FIXTURES)('$description', ({ frame, verdict, counter }) => {
    const before = prog.readStats();
    const res = prog.run(frame);
    expect(res.retval).toBe(verdict);
    expectOneFrame(before, prog.readStats(), frame.length, counter);
  });
});
