// SPDX-License-Identifier: Apache-2.0
// Bad input for stoq_xdp: random and structure-aware mutated frames through the real
// program, one test run each, checked frame by frame against the TS reference
// classifier and batch by batch against the kernel's counters. CI runs 1,000,000
// frames from a fixed seed (about 12 s on this VM); `pnpm fuzz` runs them from a
// fresh, printed seed (STOQ_FUZZ_SEED replays one, STOQ_FUZZ_FRAMES changes the count,
// STOQ_FUZZ_REPORT=path also writes the report as JSON).
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { LoadedStoqProgram, isRoot } from './support/kernel.js';
import { FUZZ_PHASES, runFuzz } from './support/fuzz-run.js';

const FRAMES = Number(process.env.STOQ_FUZZ_FRAMES ?? 1_000_000);
const SEED = Number(process.env.STOQ_FUZZ_SEED ?? 0x5709f022) >>> 0;


describe('stoq_xdp fuzzed with mutated frames vs the reference classifier', skipUnless(isRoot, 'needs root: loading BPF programs and BPF_PROG_TEST_RUN (CAP_BPF, CAP_SYS_ADMIN)'), () => {
  let prog: LoadedStoqProgram;
  beforeAll(async () => {
    prog = await LoadedStoqProgram.load();
  });
  afterAll(() => prog?.close());

  it(`${FRAMES} frames, seed 0x${SEED.toString(16)}: never ABORTED, verdicts and counters agree`, () => {
    const report = runFuzz(prog, { seed: SEED, frames: FRAMES });
    const classes = Object.entries(report.byCounter).sort(([, a], [, b]) => b - a).map(([c, n]) => `  ${c.padEnd(30)} ${n}`);
    console.log([
      `fuzz: ${report.frames} frames in ${(report.elapsedMs / 1000).toFixed(1)} s (${report.framesPerSecond} frames/s), seed 0x${SEED.toString(16)}, ${report.batches} batches over ${FUZZ_PHASES.length} configs`,
      ...FUZZ_PHASES.map((p, i) => `  config ${i}: ${p.name}`),
      'reference classes (rx_packets/rx_bytes included):', ...classes,
      `failures: ${report.failures.length}`,
      ...report.failures.map((f) => `  seed 0x${f.seed.toString(16)} batch ${f.batch} frame ${f.index} [${f.phase}]: ${f.problem}\n    ${f.frameHex}`),
    ].join('\n'));
    // For reports elsewhere (e.g. RELIABILITY.md): the same figures as JSON.
    if (process.env.STOQ_FUZZ_REPORT) writeFileSync(process.env.STOQ_FUZZ_REPORT, `${JSON.stringify({ seed: SEED, phases: FUZZ_PHASES, ...report }, null, 2)}\n`);
    expect(report.failures).toEqual([]);
    expect(report.frames).toBe(FRAMES);
  }, 240_000);

  // The checks themselves: a reference told the wrong port list must be caught, with the frame.
  it('a reference that disagrees with the kernel is caught and the frame printed', () => {
    const report = runFuzz(prog, { seed: SEED, frames: 5000, batchSize: 5000, referenceOverride: { quicPorts: [4433] } });
    expect(report.failures.length).toBeGreaterThan(0);
    const first = report.failures[0]!;
    expect(first.problem).toMatch(/verdict|counters moved/);
    expect(first.frameHex).toMatch(/^[0-9a-f]{28,}$/);
  });
});
