// SPDX-License-Identifier: Apache-2.0
// @stoq/af-xdp installed alone from its tarball: the prebuild loads, and the README
// example opens a copy-mode socket on a lab veth (veth has no zero-copy AF_XDP).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { withLab } from '@stoq/netlab';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { isRoot, withoutLibraryArgs, withoutLibraryCommand } from '../src/env.ts';
import { fromTarballs, installAlone, readmeExample, resolvedStoq, type Scratch } from '../src/scratch.ts';

let scratch: Scratch;
beforeAll(async () => {
  scratch = await installAlone('@stoq/af-xdp', inject('packed'));
});
afterAll(() => scratch?.remove());

it('installs from the local tarballs (with @stoq/native-support) and uses the prebuilt binary (nothing compiled)', () => {
  expect(resolvedStoq(scratch)).toEqual(fromTarballs('@stoq/af-xdp', '@stoq/native-support'));
  expect(existsSync(join(scratch.dir, 'node_modules/@stoq/af-xdp/build'))).toBe(false);
});

it('runs the README example on a lab veth', skipUnless(isRoot, 'needs root: the af-xdp README example opens an AF_XDP socket on a lab veth'), async () => {
  await withLab({ hostSide: true, staticNeighbours: true }, async (lab) => {
    // The example names its interface 'veth0'; the lab's host-side end has a random name.
    const example = readmeExample(scratch, '@stoq/af-xdp');
    expect(example).toContain("ifname: 'veth0'");
    scratch.write('af-xdp-example.mjs', example.replaceAll("'veth0'", JSON.stringify(lab.a.ifname)));
    const out = await scratch.run(process.execPath, ['af-xdp-example.mjs'], { timeoutMs: 30_000 });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`^copy zero-copy bind on ${lab.a.ifname}:0 failed \\(EOPNOTSUPP\\)`));
  });
});

it('names libxdp.so.1 when the prebuilt binary cannot load it', skipUnless(isRoot, 'needs root: hiding libxdp.so.1 in a private mount namespace (unshare -m, mount --bind)'), async () => {
  const out = await scratch.run(...withoutLibraryArgs('libxdp.so.1', "await import('@stoq/af-xdp')"));
  expect(out.code).not.toBe(0);
  expect(out.stderr).toContain('STOQ_ERR_NATIVE_LOAD');
  expect(out.stderr).toContain('install libxdp1 and libbpf1');
});

it('installs without libxdp.so.1, keeping the prebuild and naming the library (no source build)', skipUnless(isRoot, 'needs root: hiding libxdp.so.1 in a private mount namespace (unshare -m, mount --bind)'), async () => {
  const out = await scratch.run(...withoutLibraryCommand('libxdp.so.1', 'npm', ['rebuild', '@stoq/af-xdp', '--foreground-scripts']), { timeoutMs: 60_000 });
  expect(out.code, out.stdout + out.stderr).toBe(0);
  expect(out.stderr).toContain('@stoq/af-xdp: installed, but it needs libxdp.so.1 and libbpf.so.1 at run time: install libxdp1 and libbpf1');
  expect(existsSync(join(scratch.dir, 'node_modules/@stoq/af-xdp/build'))).toBe(false);
  // With the library back, the same install loads.
  const ok = await scratch.run(process.execPath, ['--input-type=module', '-e', "await import('@stoq/af-xdp'); console.log('loaded')"]);
  expect(ok.stdout.trim()).toBe('loaded');
});
