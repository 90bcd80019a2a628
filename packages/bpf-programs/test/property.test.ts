// SPDX-License-Identifier: Apache-2.0
// Random and structure-aware mutated frames through the real program: it never
// aborts, only ever says DROP or PASS here (no socket is registered), and the class
// counters always add up to rx_packets.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { CLASS_COUNTER_NAMES, diffStats } from '../src/index.js';
import { FIXTURES, XDP } from './support/fixtures.js';
import { LoadedStoqProgram, isRoot } from './support/kernel.js';


// Offsets of fields worth corrupting in an untagged Ethernet/IPv6/UDP/QUIC frame.
const FIELD_OFFSETS = [12, 14, 18, 19, 20, 54, 56, 57, 58, 59, 62, 63, 67, 68];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(2000) }),
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(2000), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('field' as const), at: fc.constantFrom(...FIELD_OFFSETS), value: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(frame: Buffer, mutations: readonly Mutation[]): Buffer {
  let f = Buffer.from(frame);
  for (const m of mutations) {
    if (m.kind === 'truncate') f = f.subarray(0, 14 + (m.at % Math.max(1, f.length - 13)));
    else if (m.kind === 'byte' && f.length) f[m.at % f.length] = m.value;
    else if (m.kind === 'field' && m.at + 1 < f.length) f.writeUInt16BE(m.value, m.at);
    else if (m.kind === 'append') f = Buffer.concat([f, m.bytes]);
  }
  return f;
}

const randomFrame = fc.uint8Array({ minLength: 14, maxLength: 300 }).map((b) => Buffer.from(b));
const mutatedFrame = fc
  .tuple(fc.constantFrom(...FIXTURES.map((f) => f.frame)), fc.array(mutation, { minLength: 1, maxLength: 4 }))
  .map(([frame, ms]) => mutate(frame, ms))
  .filter((f) => f.length >= 14);

describe('stoq_xdp under random and mutated frames', skipUnless(isRoot, 'needs root: loading BPF programs and BPF_PROG_TEST_RUN (CAP_BPF, CAP_SYS_ADMIN)'), () => {
  let prog: LoadedStoqProgram;
  beforeAll(async () => {
    prog = await LoadedStoqProgram.load();
  });
  afterAll(() => prog?.close());

  it.each([
    ['random bytes', randomFrame, 600],
    ['mutated fixtures', mutatedFrame, 1400],
  ] as const)('%s: never ABORTED, counters add up', (_name, frames, numRuns) => {
    const before = prog.readStats();
    let sent = 0;
    let bytes = 0;
    fc.assert(
      fc.property(frames, (frame) => {
        const { retval } = prog.run(frame);
        sent++;
        bytes += frame.length;
        return retval === XDP.DROP || retval === XDP.PASS;
      }),
      { numRuns, seed: 0x5709 },
    );
    const d = diffStats(before, prog.readStats());
    expect(d.counters.rx_packets).toBe(sent);
    expect(d.counters.rx_bytes).toBe(bytes);
    expect(CLASS_COUNTER_NAMES.reduce((n, c) => n + d.counters[c], 0)).toBe(sent);
    expect(d.sizeHistogram.reduce((a, b) => a + b, 0)).toBe(sent);
  });
});
