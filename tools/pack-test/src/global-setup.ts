// SPDX-License-Identifier: Apache-2.0
// Packs every non-private workspace package with `pnpm pack` (which runs each prepack
// hook, e.g. placing the native prebuilds) into one temporary folder, removed afterwards.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { Packed } from './packed.ts';

const root = resolve(import.meta.dirname, '../../..');

function workspacePackageDirs(): string[] {
  return ['packages', 'tools'].flatMap((group) =>
    readdirSync(join(root, group), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(root, group, entry.name)),
  );
}

export default function setup(project: TestProject): () => void {
  const out = mkdtempSync(join(tmpdir(), 'stoq-pack-'));
  const packed: Packed = {};
  for (const dir of workspacePackageDirs()) {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string; private?: boolean };
    if (manifest.private) continue;
    execFileSync('pnpm', ['pack', '--pack-destination', out], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    const tarball = join(out, `${manifest.name.replace(/^@/, '').replace('/', '-')}-${manifest.version}.tgz`);
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((path) => path.replace(/^package\//, ''));
    const published = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }));
    packed[manifest.name] = { name: manifest.name, version: manifest.version, tarball, files, manifest: published };
  }
  project.provide('packed', packed);
  return () => rmSync(out, { recursive: true, force: true });
}
