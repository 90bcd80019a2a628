// SPDX-License-Identifier: Apache-2.0
// The install step of a STOQ native package (its `install` script runs `stoq-install-addon`
// in the package folder; bin: install-addon-cli.ts). A prebuilt binary that loads is kept. One that only lacks a
// runtime library is kept too, with a warning naming the library: the install succeeds
// and importing the package throws STOQ_ERR_NATIVE_LOAD with the same hint until the
// library is there (a source build would need that library's -dev package anyway, so
// trying one only replaces the right advice with toolchain errors). Anything else, no
// prebuild for this host included, is built from the shipped sources with cmake-js; if
// that fails the install fails, saying what a source build needs.
//
// The package's package.json says what to tell the user:
//   "stoqNativeAddon": {
//     "sourceBuildNeeds": "cmake, g++, pkg-config, libbpf-dev (Debian/Ubuntu: apt-get install …)",
//     "runtimeLibraries": [{ "match": "libbpf\\.so", "hint": "install libbpf1 (Debian/Ubuntu)" }]
//   }
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadNativeAddon } from './addon.js';

/** The `stoqNativeAddon` field of a native package's package.json. */
export interface InstallAddonConfig {
  /** What a source build needs besides Node, with the Debian/Ubuntu command. */
  sourceBuildNeeds: string;
  /** Runtime libraries whose absence is reported (and tolerated) rather than built around. */
  runtimeLibraries?: ReadonlyArray<{
    /** A regular expression tested against the load error, e.g. `libbpf\\.so`. */
    match: string;
    /** What to install, e.g. `install libbpf1 (Debian/Ubuntu)`. */
    hint: string;
  }>;
}

/** What the install step did; `code` is the process exit code. */
export interface InstallAddonOutcome {
  /** The install script's exit code: 1 only when no binary loads and the source build failed. */
  code: 0 | 1;
  /** Kept a loading prebuild; kept one that lacks a runtime library; built from source; failed. */
  action: 'prebuilt' | 'prebuilt-missing-library' | 'built' | 'build-failed';
  /** What to print to stderr (the warning or the failure), if anything. */
  message?: string;
}

/**
 * Runs the install step for the package in `packageDir`. `build` runs the source build
 * and returns whether it succeeded (default: `cmake-js compile` in that folder).
 */
export function installAddon(packageDir: string, build: () => boolean = () => cmakeJsCompile(packageDir)): InstallAddonOutcome {
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { name: string; stoqNativeAddon?: InstallAddonConfig };
  const config = manifest.stoqNativeAddon;
  if (!config?.sourceBuildNeeds) throw new Error(`${manifest.name}: package.json has no stoqNativeAddon.sourceBuildNeeds`);
  const loadHints = (config.runtimeLibraries ?? []).map(({ match, hint }) => ({ match: new RegExp(match), hint }));
  try {
    loadNativeAddon({ packageDir, packageName: manifest.name, sourceBuildNeeds: config.sourceBuildNeeds, loadHints });
    return { code: 0, action: 'prebuilt' };
  } catch (error) {
    const e = error as { code?: string; message?: string; hint?: string };
    if (e.code === 'STOQ_ERR_NATIVE_LOAD' && loadHints.some(({ match }) => match.test(String(e.message)))) {
      return {
        code: 0,
        action: 'prebuilt-missing-library',
        message: `${e.message}\n${manifest.name}: installed, but ${e.hint}; until then importing it throws STOQ_ERR_NATIVE_LOAD.`,
      };
    }
  }
  if (build()) return { code: 0, action: 'built' };
  return {
    code: 1,
    action: 'build-failed',
    message: `${manifest.name}: no prebuilt binary loads on this host and the source build failed. A source build needs: ${config.sourceBuildNeeds}.`,
  };
}

function cmakeJsCompile(packageDir: string): boolean {
  // npm and pnpm put the package's own node_modules/.bin (cmake-js) on PATH for install scripts.
  const r = spawnSync('cmake-js', ['compile', '--log-level', 'warn'], { cwd: packageDir, stdio: 'inherit' });
  return r.status === 0;
}
