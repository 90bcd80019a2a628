// SPDX-License-Identifier: Apache-2.0
// The one door to a package's .node file: node-gyp-build finds it (a local build wins over
// the shipped prebuild), a missing binary is reported with every path searched and what to
// install, and a binary that exists but does not load names its cause when it is known.
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StoqNativeError, type StoqNativeErrorDetails } from './errors.js';

/** The two ways loading a native addon fails. */
export type NativeAddonErrorCode = 'STOQ_ERR_NATIVE_MISSING' | 'STOQ_ERR_NATIVE_LOAD';

/** What `loadNativeAddon()` throws unless the package builds its own error (`createError`). */
export class NativeAddonError extends StoqNativeError<NativeAddonErrorCode> {
  /** `Symbol.for('@stoq/native-support.NativeAddonError')`. */
  protected static override readonly brand: symbol = Symbol.for('@stoq/native-support.NativeAddonError');
}

/** A known reason why a binary that exists does not load, and what to do about it. */
export interface NativeLoadHint {
  /** Tested against the message of the error `require()` threw, e.g. `/libbpf\.so/`. */
  match: RegExp;
  /** The hint of the STOQ_ERR_NATIVE_LOAD error, e.g. which Debian package to install. */
  hint: string;
}

/** Where a native package is and what to tell the user when its addon does not load. */
export interface NativeAddonOptions {
  /**
   * The package's root folder (its package.json, `build/` and `prebuilds/`), a path or a
   * `file:` URL such as `new URL('..', import.meta.url)`. node-gyp-build is resolved from
   * here, so it stays a dependency of the native package.
   */
  packageDir: string | URL;
  /** The package name messages start with, e.g. `'@stoq/udp'`. */
  packageName: string;
  /**
   * What a source build needs besides Node, e.g. `'cmake, g++, pkg-config and libbpf-dev'`:
   * the hint of STOQ_ERR_NATIVE_MISSING says where prebuilt binaries exist and how to
   * build from source with these.
   */
  sourceBuildNeeds: string;
  /**
   * Known causes of a binary that exists but does not load (first match wins), e.g. a
   * runtime library that is not installed. A failure none of them matches is rethrown as is.
   */
  loadHints?: readonly NativeLoadHint[];
  /** Builds the thrown error, e.g. as the package's own typed error; default `new NativeAddonError(…)`. */
  createError?: (code: NativeAddonErrorCode, message: string, details: StoqNativeErrorDetails) => Error;
}

/** Where prebuilt binaries exist, and how to build from source where none fits. */
function installHint(packageName: string, needs: string): string {
  return (
    `prebuilt binaries exist for linux-x64 (glibc); elsewhere build from source with \`npm rebuild ${packageName}\` ` +
    `(needs ${needs}; npm >= 11 first: \`npm install-scripts approve ${packageName}\`), ` +
    `or in the repository run \`pnpm --filter ${packageName} build\``
  );
}

/**
 * Loads the package's native addon: `build/Release`, `build/Debug`, then
 * `prebuilds/<platform>-<arch>` (node-gyp-build's order). Throws STOQ_ERR_NATIVE_MISSING
 * naming every path searched when none holds a binary for this host, and
 * STOQ_ERR_NATIVE_LOAD when a binary exists but fails for a reason in `loadHints`, or when
 * node-gyp-build itself cannot be loaded from `packageDir` (an incomplete install).
 *
 * @typeParam T - the addon's exports, as the package declares them.
 */
export function loadNativeAddon<T>(options: NativeAddonOptions): T {
  const { packageName } = options;
  const packageDir = resolve(options.packageDir instanceof URL ? fileURLToPath(options.packageDir) : options.packageDir);
  const createError = options.createError ?? ((code, message, details) => new NativeAddonError(code, message, details));
  const require = createRequire(join(packageDir, 'package.json'));
  let nodeGypBuild: { path(dir: string): string };
  try {
    nodeGypBuild = require('node-gyp-build') as typeof nodeGypBuild;
  } catch (error) {
    // Nothing was searched yet, and rebuilding the addon would not help: the install is incomplete.
    throw createError(
      'STOQ_ERR_NATIVE_LOAD',
      `${packageName}: node-gyp-build, which finds the native addon, cannot be loaded from ${packageDir}: ${firstLine(error)}`,
      { operation: 'load', hint: `${packageName} is installed without its dependency node-gyp-build; reinstall it (npm install / pnpm install)`, cause: error },
    );
  }
  let path: string;
  try {
    path = nodeGypBuild.path(packageDir);
  } catch (error) {
    // One line, so that a caller quoting the first line of the message keeps the hint too.
    const target = `${process.platform}-${process.arch}`;
    throw createError(
      'STOQ_ERR_NATIVE_MISSING',
      `${packageName}: no native addon for ${target} (searched build/Release, build/Debug and prebuilds/${target} in ${packageDir})`,
      { operation: 'load', hint: installHint(packageName, options.sourceBuildNeeds), cause: error },
    );
  }
  try {
    return require(path) as T;
  } catch (error) {
    const reason = String((error as Error | undefined)?.message ?? error);
    const known = options.loadHints?.find(({ match }) => match.test(reason));
    if (!known) throw error;
    throw createError('STOQ_ERR_NATIVE_LOAD', `${packageName}: ${path} does not load: ${firstLine(error)}`, {
      operation: 'load',
      hint: known.hint,
      cause: error,
    });
  }
}

function firstLine(error: unknown): string {
  return String((error as Error | undefined)?.message ?? error).split('\n')[0]!;
}
