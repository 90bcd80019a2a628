// SPDX-License-Identifier: Apache-2.0
// @stoq/udp installed alone from its tarball: the prebuild loads (nothing compiled), and
// the README example sends ten datagrams with one GSO send over ::1 (no root needed).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { fromTarballs, installAlone, readmeExample, resolvedStoq, type Scratch } from '../src/scratch.ts';

let scratch: Scratch;
beforeAll(async () => {
  scratch = await installAlone('@stoq/udp', inject('packed'));
});
afterAll(() => scratch?.remove());

it('installs from the local tarballs (with @stoq/native-support) and uses the prebuilt binary (nothing compiled)', () => {
  expect(resolvedStoq(scratch)).toEqual(fromTarballs('@stoq/udp', '@stoq/native-support'));
  expect(existsSync(join(scratch.dir, 'node_modules/@stoq/udp/build'))).toBe(false);
});

it('runs the README example: ten datagrams from one send', async () => {
  scratch.write('udp-example.mjs', readmeExample(scratch, '@stoq/udp'));
  const out = await scratch.run(process.execPath, ['udp-example.mjs'], { timeoutMs: 30_000 });
  expect(out.code, out.stderr).toBe(0);
  expect(out.stdout).toBe('UDP GSO: supported\nsegment size: 1200\n10 datagrams: 1200 1200 1200 1200 1200 1200 1200 1200 1200 300\n');
});
