// SPDX-License-Identifier: Apache-2.0
// @stoq/loader installed alone from its tarball: the prebuild loads (no compiler run at
// install), the README example works, and without the prebuild the install hook builds
// from the shipped sources, or names the missing system packages when it cannot.
import { copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { isRoot, repoRoot, withoutLibraryArgs } from '../src/env.ts';
import { fromTarballs, installAlone, readmeExample, resolvedStoq, userEnv, type Scratch } from '../src/scratch.ts';

let scratch: Scratch;
const installed = (...path: string[]): string => join(scratch.dir, 'node_modules/@stoq/loader', ...path);

beforeAll(async () => {
  scratch = await installAlone('@stoq/loader', inject('packed'));
  scratch.write('xdp-count.mjs', readmeExample(scratch, '@stoq/loader'));
  // The README's suggested object: this package's own test fixture.
  copyFileSync(join(repoRoot, 'packages/loader/build/fixtures/verdicts.bpf.o'), join(scratch.dir, 'verdicts.bpf.o'));
});
afterAll(() => scratch?.remove());

async function runExample(): Promise<void> {
  const out = await scratch.run(process.execPath, ['xdp-count.mjs', 'verdicts.bpf.o']);
  expect(out.code, out.stderr).toBe(0);
  expect(out.stdout).toMatch(/fast path possible: (true|false)/);
  expect(out.stdout).toMatch(/verdict DROP, \d+ ns per run/);
  expect(out.stdout).toMatch(/attached in (generic|native) mode/);
  expect(out.stdout).toContain('runs: 1000n');
}

it('installs from the local tarballs (with @stoq/native-support) and uses the prebuilt binary (nothing compiled)', () => {
  expect(resolvedStoq(scratch)).toEqual(fromTarballs('@stoq/loader', '@stoq/native-support'));
  expect(existsSync(installed('prebuilds/linux-x64/node.napi.glibc.node'))).toBe(true);
  expect(existsSync(installed('build'))).toBe(false);
});

it('runs the README example (probe, load, test run, attach, per-CPU map)', skipUnless(isRoot, 'needs root: the loader README example loads and attaches a BPF program'), runExample);

it('names libbpf.so.1 when the prebuilt binary cannot load it', skipUnless(isRoot, 'needs root: hiding libbpf.so.1 in a private mount namespace (unshare -m, mount --bind)'), async () => {
  const out = await scratch.run(...withoutLibraryArgs('libbpf.so.1', "await import('@stoq/loader')"));
  expect(out.code).not.toBe(0);
  expect(out.stderr).toContain('STOQ_ERR_NATIVE_LOAD');
  expect(out.stderr).toContain('needs libbpf.so.1 at run time: install libbpf1');
});

it('falls back to a source build when no prebuild fits', async () => {
  rmSync(installed('prebuilds'), { recursive: true });
  const out = await scratch.run('npm', ['rebuild', '@stoq/loader', '--foreground-scripts'], { timeoutMs: 150_000 });
  expect(out.code, out.stderr).toBe(0);
  expect(existsSync(installed('build/Release/stoq_loader.node'))).toBe(true);
  if (isRoot) await runExample();
});

it('names the missing system packages when the source build cannot run', async () => {
  rmSync(installed('build'), { recursive: true, force: true });
  rmSync(installed('prebuilds'), { recursive: true, force: true });
  // A PATH with node and sh only: no cmake, no compiler, no pkg-config. (Without sh npm
  // cannot run the script at all; this test once passed on npm echoing the script's text.)
  const bin = join(scratch.dir, 'bare-bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  symlinkSync('/bin/sh', join(bin, 'sh'));
  const npmCli = join(process.execPath, '../../lib/node_modules/npm/bin/npm-cli.js');
  const out = await scratch.run(process.execPath, [npmCli, 'rebuild', '@stoq/loader', '--foreground-scripts'], {
    env: userEnv({ PATH: bin }),
    timeoutMs: 60_000,
  });
  expect(out.code).not.toBe(0);
  expect(out.stderr).toContain('@stoq/loader: no prebuilt binary loads on this host and the source build failed. A source build needs: cmake, g++, pkg-config, libbpf-dev');
});
