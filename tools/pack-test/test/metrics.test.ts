// SPDX-License-Identifier: Apache-2.0
// @stoq/metrics installed from its tarball next to @stoq/loader and @stoq/bpf-programs
// (its optional peers, as its README says): the README example counts real frames of
// stoq_xdp, takes a snapshot, exports it to a prom-client registry and serves it.
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { isRoot } from '../src/env.ts';
import { installAlone, readmeExample, resolvedStoq, type Scratch } from '../src/scratch.ts';

let scratch: Scratch;
beforeAll(async () => {
  scratch = await installAlone('@stoq/metrics', inject('packed'), ['@stoq/loader', '@stoq/bpf-programs']);
});
afterAll(() => scratch?.remove());

it('installs from local tarballs only', () => {
  const resolved = resolvedStoq(scratch);
  expect(Object.keys(resolved).sort()).toEqual(['@stoq/bpf-programs', '@stoq/loader', '@stoq/metrics', '@stoq/native-support']);
  for (const from of Object.values(resolved)) expect(from).toMatch(/^file:.*\.tgz$/);
});

it('runs the README example: kernel counters, snapshot, Prometheus text, /metrics endpoint', skipUnless(isRoot, 'needs root: the metrics README example reads real BPF maps'), async () => {
  scratch.write('metrics-example.mjs', readmeExample(scratch, '@stoq/metrics'));
  const out = await scratch.run(process.execPath, ['metrics-example.mjs'], { timeoutMs: 30_000 });
  expect(out.code, out.stderr).toBe(0);
  expect(out.stdout).toContain('{ total: 5, perSecond: null }');
  expect(out.stdout).toMatch(/zeroCopyOps|reason: 'datapath: no datapath was given/);
  expect(out.stdout).toContain('stoq_xdp_packets_total{verdict="non_ip_passed"} 5');
  expect(out.stdout).toMatch(/^200 http:\/\/\[::1\]:\d+\/metrics$/m);
});
