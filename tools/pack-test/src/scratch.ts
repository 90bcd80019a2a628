// SPDX-License-Identifier: Apache-2.0
// A scratch npm project under /tmp that depends on one packed package only. Its
// @stoq/* dependencies exist on no registry, so `overrides` point them at their local
// tarballs; everything else comes from the npm registry as for any user.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import type { Packed } from './packed.ts';

const execFileAsync = promisify(execFile);

export interface RunOutput {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Scratch {
  dir: string;
  /** Runs a command in the project; never throws on a non-zero exit. */
  run(command: string, args: string[], options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<RunOutput>;
  /** Writes a file into the project and returns its path. */
  write(name: string, content: string): string;
  remove(): void;
}

/** The environment of a user's shell: no pnpm/npm lifecycle variables leaking into npm. */
export function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm_|pnpm_|PNPM_|INIT_CWD$|VITEST)/i.test(key)));
  return { ...env, ...extra };
}

/** Every @stoq package `name` may pull in at install time (dependencies, optional ones, peers). */
export function stoqClosure(name: string, packed: Packed): string[] {
  const seen = new Set<string>();
  const visit = (current: string): void => {
    const entry = packed[current];
    if (!entry) throw new Error(`${current} was not packed (private, or not in the workspace)`);
    const { dependencies = {}, optionalDependencies = {}, peerDependencies = {} } = entry.manifest;
    for (const dep of Object.keys({ ...dependencies, ...optionalDependencies, ...peerDependencies }).filter((d) => d.startsWith('@stoq/'))) {
      if (!seen.has(dep)) {
        seen.add(dep);
        visit(dep);
      }
    }
  };
  visit(name);
  return [...seen];
}

/**
 * Installs `name` (plus `alongside`, packages its README tells the user to install next
 * to it) into a fresh project under the system temp dir.
 */
export async function installAlone(name: string, packed: Packed, alongside: string[] = []): Promise<Scratch> {
  const dir = mkdtempSync(join(tmpdir(), 'stoq-scratch-'));
  const spec = (pkg: string): string => `file:${packed[pkg]!.tarball}`;
  const direct = [name, ...alongside];
  const closure = [...new Set(direct.flatMap((pkg) => [pkg, ...stoqClosure(pkg, packed)]))];
  const manifest = {
    name: 'stoq-scratch',
    private: true,
    type: 'module',
    dependencies: Object.fromEntries(direct.map((pkg) => [pkg, spec(pkg)])),
    overrides: Object.fromEntries(closure.filter((pkg) => !direct.includes(pkg)).map((pkg) => [pkg, spec(pkg)])),
    // npm 11 runs a dependency's install script only when allowed; allow ours, so the
    // prebuild check (and the source fallback when it fails) really runs.
    allowScripts: Object.fromEntries(closure.map((pkg) => [spec(pkg), true])),
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  const scratch: Scratch = {
    dir,
    async run(command, args, options = {}) {
      try {
        const { stdout, stderr } = await execFileAsync(command, args, {
          cwd: dir,
          env: options.env ?? userEnv(),
          timeout: options.timeoutMs ?? 60_000,
          maxBuffer: 16 * 1024 * 1024,
        });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const e = error as { code?: number | string; stdout?: string; stderr?: string; message: string };
        return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: `${e.stderr ?? ''}\n${e.message}` };
      }
    },
    write(file, content) {
      const path = join(dir, file);
      writeFileSync(path, content);
      return path;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const install = await scratch.run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { timeoutMs: 120_000 });
  if (install.code !== 0) {
    scratch.remove();
    throw new Error(`npm install ${name} failed (${install.code}):\n${install.stdout}\n${install.stderr}`);
  }
  return scratch;
}

/** Where npm resolved each installed @stoq package from, per the scratch lockfile. */
export function resolvedStoq(scratch: Scratch): Record<string, string> {
  const lock = JSON.parse(readFileSync(join(scratch.dir, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { resolved?: string }>;
  };
  return Object.fromEntries(
    Object.entries(lock.packages)
      .filter(([path]) => path.startsWith('node_modules/@stoq/'))
      .map(([path, entry]) => [path.slice('node_modules/'.length), entry.resolved ?? '']),
  );
}

/** What `resolvedStoq()` returns when each of `names` was installed from its packed tarball. */
export function fromTarballs(...names: string[]): Record<string, unknown> {
  return Object.fromEntries(names.map((name) => [name, expect.stringMatching(new RegExp(`^file:.*${name.replace(/^@/, '').replace('/', '-')}-.*\\.tgz$`))]));
}

/**
 * The first js/ts code block of the README as published in the tarball: under its
 * "## Example" heading when there is one, else the first in the file.
 */
export function readmeExample(scratch: Scratch, name: string): string {
  const readme = readFileSync(join(scratch.dir, 'node_modules', name, 'README.md'), 'utf8');
  const section = readme.split(/^## Example\s*$/m)[1] ?? readme;
  const block = /^```(?:js|ts|mjs)\n([\s\S]*?)^```/m.exec(section);
  if (!block?.[1]) throw new Error(`${name} README has no js/ts example block`);
  return block[1];
}
