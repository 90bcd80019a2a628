// SPDX-License-Identifier: Apache-2.0
// loadNativeAddon on a fake package in a temp dir: nothing built, or a .node file that is
// not a shared library. node-gyp-build is linked into it, as a native package depends on it.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NativeAddonError, loadNativeAddon, type NativeAddonOptions } from './addon.ts';
import { StoqNativeError } from './errors.ts';

let packageDir: string;
const options = (): NativeAddonOptions => ({
  packageDir,
  packageName: '@stoq/demo',
  sourceBuildNeeds: 'cmake and g++',
});
const installHint =
  'prebuilt binaries exist for linux-x64 (glibc); elsewhere build from source with `npm rebuild @stoq/demo` ' +
  '(needs cmake and g++; npm >= 11 first: `npm install-scripts approve @stoq/demo`), or in the repository run `pnpm --filter @stoq/demo build`';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

/** Runs `fn` with NODE_PATH cleared from require()'s global search paths. */
function withoutNodePath<T>(fn: () => T): T {
  const initPaths = () => (createRequire(import.meta.url)('node:module') as { _initPaths(): void })._initPaths();
  const saved = process.env['NODE_PATH'];
  delete process.env['NODE_PATH'];
  initPaths();
  try {
    return fn();
  } finally {
    if (saved !== undefined) process.env['NODE_PATH'] = saved;
    initPaths();
  }
}

beforeEach(() => {
  packageDir = mkdtempSync(join(tmpdir(), 'stoq-native-support-'));
  writeFileSync(join(packageDir, 'package.json'), JSON.stringify({ name: '@stoq/demo', version: '0.0.0' }));
  mkdirSync(join(packageDir, 'node_modules'));
  const nodeGypBuild = dirname(createRequire(import.meta.url).resolve('node-gyp-build/package.json'));
  symlinkSync(nodeGypBuild, join(packageDir, 'node_modules/node-gyp-build'), 'dir');
});
afterEach(() => rmSync(packageDir, { recursive: true, force: true }));

describe('loadNativeAddon', () => {
  it('throws STOQ_ERR_NATIVE_MISSING naming every path searched and the install hint when nothing is built', () => {
    const error = thrown(() => loadNativeAddon(options())) as NativeAddonError;
    expect(error).toBeInstanceOf(NativeAddonError);
    expect(error).toBeInstanceOf(StoqNativeError);
    expect(error).toMatchObject({ name: 'NativeAddonError', code: 'STOQ_ERR_NATIVE_MISSING', operation: 'load', hint: installHint });
    const target = `${process.platform}-${process.arch}`;
    expect(error.message).toBe(
      `@stoq/demo: no native addon for ${target} (searched build/Release, build/Debug and prebuilds/${target} in ${packageDir}) (hint: ${installHint})`,
    );
    expect(String((error.cause as Error).message)).toMatch(/No native build was found/);
  });

  it('takes the package folder as a file: URL too', () => {
    const error = thrown(() => loadNativeAddon({ ...options(), packageDir: pathToFileURL(`${packageDir}/`) })) as NativeAddonError;
    expect(error.code).toBe('STOQ_ERR_NATIVE_MISSING');
    expect(error.message).toContain(` in ${packageDir})`);
    expect(String((error.cause as Error).message)).toMatch(/No native build was found/);
  });

  it("builds the package's own error when it passes createError", () => {
    class PackageError extends Error {
      constructor(readonly code: string, message: string, readonly details: object) {
        super(message);
      }
    }
    const error = thrown(() => loadNativeAddon({ ...options(), createError: (code, message, details) => new PackageError(code, message, details) }));
    expect(error).toBeInstanceOf(PackageError);
    expect(error).toMatchObject({ code: 'STOQ_ERR_NATIVE_MISSING', details: { operation: 'load', hint: installHint } });
    // The hint is in `details`: appending it is the error class's business.
    expect((error as Error).message).not.toContain('(hint:');
  });

  it('names node-gyp-build, not a search that never ran, when node-gyp-build cannot be loaded', () => {
    rmSync(join(packageDir, 'node_modules/node-gyp-build'));
    // pnpm's bin shims put its store on NODE_PATH, where node-gyp-build would still be found.
    const error = withoutNodePath(() => thrown(() => loadNativeAddon(options()))) as NativeAddonError;
    expect(error).toBeInstanceOf(NativeAddonError);
    expect(error).toMatchObject({
      code: 'STOQ_ERR_NATIVE_LOAD',
      operation: 'load',
      hint: '@stoq/demo is installed without its dependency node-gyp-build; reinstall it (npm install / pnpm install)',
    });
    expect(error.message).toMatch(new RegExp(`^@stoq/demo: node-gyp-build, which finds the native addon, cannot be loaded from ${packageDir}: Cannot find module 'node-gyp-build'`));
    expect(error.message).not.toMatch(/searched|npm rebuild/);
    expect((error.cause as { code?: string }).code).toBe('MODULE_NOT_FOUND');
  });

  describe('a binary that exists but does not load', () => {
    let binary: string;
    beforeEach(() => {
      mkdirSync(join(packageDir, 'build/Release'), { recursive: true });
      binary = join(packageDir, 'build/Release/demo.node');
      writeFileSync(binary, 'not a shared library');
    });

    it('is STOQ_ERR_NATIVE_LOAD with the hint of the first matching cause', () => {
      const error = thrown(() =>
        loadNativeAddon({
          ...options(),
          loadHints: [
            { match: /libdemo\.so/, hint: 'install libdemo1' },
            { match: /invalid ELF header|file too short/, hint: 'rebuild it with `npm rebuild @stoq/demo`' },
            { match: /^/, hint: 'never reached' },
          ],
        }),
      ) as NativeAddonError;
      expect(error).toBeInstanceOf(NativeAddonError);
      expect(error).toMatchObject({ code: 'STOQ_ERR_NATIVE_LOAD', operation: 'load', hint: 'rebuild it with `npm rebuild @stoq/demo`' });
      expect(error.message).toMatch(new RegExp(`^@stoq/demo: ${binary} does not load: .*(invalid ELF header|file too short).* \\(hint: rebuild it`));
      expect(error.cause).toBeInstanceOf(Error);
    });

    it('is rethrown as it is when no hint matches', () => {
      const error = thrown(() => loadNativeAddon({ ...options(), loadHints: [{ match: /libdemo\.so/, hint: 'install libdemo1' }] }));
      expect(error).not.toBeInstanceOf(StoqNativeError);
      expect((error as Error).message).toMatch(/invalid ELF header|file too short/);
      expect(thrown(() => loadNativeAddon(options()))).not.toBeInstanceOf(StoqNativeError);
    });
  });
});
