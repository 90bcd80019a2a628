// SPDX-License-Identifier: Apache-2.0
// timestamp_meta: BPF_PROG_TEST_RUN copies the output from data_meta, so the 8
// bytes the program put in front of the frame come back ahead of the frame.
// bpf_ktime_get_ns() is CLOCK_MONOTONIC, the clock of process.hrtime.bigint().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { LITTLE_ENDIAN } from '../src/layout.js';
import { quicShort, udp6Frame } from './support/frames.js';
import { XDP } from './support/fixtures.js';
import { LoadedStoqProgram, isRoot } from './support/kernel.js';


describe('timestamp_meta', skipUnless(isRoot, 'needs root: loading BPF programs and BPF_PROG_TEST_RUN (CAP_BPF, CAP_SYS_ADMIN)'), () => {
  let prog: LoadedStoqProgram;
  beforeAll(async () => {
    prog = await LoadedStoqProgram.load();
  });
  afterAll(() => prog?.close());
  const frame = udp6Frame({ payload: quicShort(80) });

  it('off (default): the frame comes back unchanged, no metadata', () => {
    const res = prog.run(frame);
    expect(res.retval).toBe(XDP.PASS);
    expect(res.data.equals(frame)).toBe(true);
  });

  it('on: 8 bytes of ktime in front of QUIC frames, within the run', () => {
    prog.writeConfig({ timestampMeta: true });
    const t0 = process.hrtime.bigint();
    const res = prog.run(frame);
    const t1 = process.hrtime.bigint();
    expect(res.retval).toBe(XDP.PASS);
    expect(res.data.length).toBe(frame.length + 8);
    expect(res.data.subarray(8).equals(frame)).toBe(true);
    const stamp = LITTLE_ENDIAN ? res.data.readBigUInt64LE(0) : res.data.readBigUInt64BE(0);
    expect(stamp).toBeGreaterThanOrEqual(t0);
    expect(stamp).toBeLessThanOrEqual(t1);
  });

  it('on: non-QUIC frames get no metadata', () => {
    prog.writeConfig({ timestampMeta: true });
    const other = udp6Frame({ dport: 53, payload: Buffer.alloc(30) });
    expect(prog.run(other).data.equals(other)).toBe(true);
  });
});
