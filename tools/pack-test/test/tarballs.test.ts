// SPDX-License-Identifier: Apache-2.0
// Each tarball carries what its package needs at run time (and for a source build of
// the native addons) and nothing else; published manifests have real version ranges.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';

const packed = inject('packed');
const JUNK = [
  /^(test|tests|bench|coverage)\//,
  /^dist\/(test|tests)\//,
  /(^|\/)(__tests__|node_modules|\.turbo|CMakeFiles)\//,
  /^src\//,
  /^build\//,
  /\.test\.(js|d\.ts)$/,
  // No source maps: they would point at ../src, which is not shipped (tsconfig.base.json
  // turns sourceMap and declarationMap off).
  /\.map$/,
  /(?<!\.d)\.ts$/,
  /\.(tsbuildinfo|log|o\.tmp)$/,
  /CMakeCache\.txt$/,
  /(^|\/)(vitest\.config|tsconfig)[^/]*$/,
];
// Peer ranges on other @stoq packages, as published. @stoq/metrics accepts any 0.x of the
// loader and the BPF programs from 0.1.0 (not `^`, which on 0.x means one minor): with
// changesets' onlyUpdatePeerDependentsWhenOutOfRange, a breaking 0.x minor of either then
// does not force a major of metrics (its metric names are what its major promises).
const PEER_RANGES: Record<string, Record<string, string>> = {
  '@stoq/metrics': { '@stoq/loader': '>=0.1.0 <1.0.0', '@stoq/bpf-programs': '>=0.1.0 <1.0.0' },
};
// Runtime libraries of each prebuild and the oldest version its README promises to work with.
const NATIVE: Record<string, Record<string, { symbolPrefix: string; readmeMinimum: string }>> = {
  '@stoq/loader': { 'libbpf.so.1': { symbolPrefix: 'LIBBPF', readmeMinimum: '1.0' } },
  '@stoq/af-xdp': {
    'libxdp.so.1': { symbolPrefix: 'LIBXDP', readmeMinimum: '1.2' },
    'libbpf.so.1': { symbolPrefix: 'LIBBPF', readmeMinimum: '1.0' },
  },
  '@stoq/udp': {},
};
// What every prebuild may link besides the libraries above (a package with none links nothing else).
const RUNTIME = /^(libc|libm|libstdc\+\+|libgcc_s|ld-linux[^.]*)\.so/;

/** Every file path a manifest points at (exports, types, bin). */
function manifestTargets(manifest: Record<string, unknown>): string[] {
  const targets: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') targets.push(value);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(manifest.exports);
  walk(manifest.types);
  walk(manifest.bin);
  return targets.map((t) => t.replace(/^\.\//, ''));
}

/** Extracts one file of a tarball to a temp file for `fn`, then removes it. */
function withExtracted<T>(tarball: string, path: string, fn: (file: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'stoq-elf-'));
  try {
    const file = join(dir, 'addon.node');
    writeFileSync(file, execFileSync('tar', ['-xzOf', tarball, `package/${path}`], { maxBuffer: 64 * 1024 * 1024 }));
    return fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The shared libraries an ELF file asks the dynamic loader for (readelf -d NEEDED). */
function neededLibraries(file: string): string[] {
  const dynamic = execFileSync('readelf', ['-d', file], { encoding: 'utf8' });
  return [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
}

/** The newest symbol version the file needs from a library (e.g. LIBBPF_1.0.0 → [1, 0, 0]). */
function newestSymbolVersion(file: string, prefix: string): number[] {
  const symbols = execFileSync('objdump', ['-T', file], { encoding: 'utf8' });
  const versions = [...symbols.matchAll(new RegExp(`\\b${prefix}_([0-9.]+)\\b`, 'g'))].map((m) => m[1]!.split('.').map(Number));
  return versions.reduce((a, b) => (compareVersions(a, b) >= 0 ? a : b), [0]);
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

it('packs every public workspace package', () => {
  expect(Object.keys(packed).sort()).toEqual(
    ['@stoq/af-xdp', '@stoq/bpf-programs', '@stoq/cli', '@stoq/loader', '@stoq/metrics', '@stoq/native-support', '@stoq/netlab', '@stoq/transport', '@stoq/udp'],
  );
});

describe.each(Object.values(packed).map((p) => [p.name, p] as const))('%s tarball', (name, pkg) => {
  it('holds no tests, sources or build junk', () => {
    expect(pkg.files.filter((file) => JUNK.some((re) => re.test(file)))).toEqual([]);
    expect(pkg.files).toContain('package.json');
    expect(pkg.files).toContain('README.md');
  });

  it('ships the licence texts its manifest names', () => {
    // Apache-2.0 §4(a): recipients get a copy of the licence with the work.
    expect(pkg.files).toContain('LICENSE');
    expect(String(pkg.manifest.license)).toMatch(/^Apache-2\.0\b/);
    // The BPF objects and header are (GPL-2.0-only OR BSD-2-Clause), like their sources.
    if (pkg.files.some((f) => f.endsWith('.bpf.o'))) {
      expect(pkg.manifest.license).toBe('Apache-2.0 AND (GPL-2.0-only OR BSD-2-Clause)');
      expect(pkg.files).toEqual(expect.arrayContaining(['dist/LICENSE-BPF', 'dist/GPL-2.0.txt']));
    }
  });

  it('contains every file its manifest points at', () => {
    const targets = manifestTargets(pkg.manifest);
    expect(targets.length).toBeGreaterThan(0);
    expect(targets.filter((target) => !pkg.files.includes(target))).toEqual([]);
  });

  it('ships compiled JS with its type declarations', () => {
    const js = pkg.files.filter((f) => f.startsWith('dist/') && f.endsWith('.js'));
    expect(js.length).toBeGreaterThan(0);
    if (pkg.manifest.types) expect(js.filter((f) => !pkg.files.includes(f.replace(/\.js$/, '.d.ts')))).toEqual([]);
  });

  it('depends on other @stoq packages by a caret range on their current version (peers: the 0.x range they declare)', () => {
    const { dependencies = {}, optionalDependencies = {}, peerDependencies = {} } = pkg.manifest;
    for (const [dep, range] of Object.entries({ ...dependencies, ...optionalDependencies, ...peerDependencies })) {
      expect(range, `${name} → ${dep}`).not.toMatch(/^(workspace|catalog|file|link):/);
      if (!dep.startsWith('@stoq/')) continue;
      const expected = dep in peerDependencies ? PEER_RANGES[name]?.[dep] : `^${packed[dep]!.version}`;
      expect(range, `${name} → ${dep}`).toBe(expected);
    }
  });
});

describe.each(Object.entries(NATIVE))('%s native payload', (name, libraries) => {
  const pkg = packed[name]!;
  const prebuild = 'prebuilds/linux-x64/node.napi.glibc.node';

  it('ships a linux-x64 prebuild, the sources and the cmake-js build for the fallback', () => {
    expect(pkg.files).toContain(prebuild);
    expect(pkg.files).toContain('CMakeLists.txt');
    expect(pkg.files.filter((f) => /^native\/.*\.cc$/.test(f)).length).toBeGreaterThan(0);
    expect(pkg.manifest.binary).toEqual({ napi_versions: [8] });
    // The install step (stoq-install-addon, @stoq/native-support) runs cmake-js compile when no binary loads.
    expect(pkg.manifest.scripts).toMatchObject({ install: 'test -d src || stoq-install-addon' });
    expect(pkg.manifest.stoqNativeAddon).toMatchObject({ sourceBuildNeeds: expect.stringContaining('cmake') });
    expect(Object.keys(pkg.manifest.dependencies ?? {})).toEqual(
      expect.arrayContaining(['@stoq/native-support', 'node-gyp-build', 'cmake-js', 'node-addon-api']),
    );
  });

  it('needs no newer glibc than its README says', () => {
    const readme = withExtracted(pkg.tarball, 'README.md', (file) => readFileSync(file, 'utf8'));
    const stated = /glibc ≥ (\d+\.\d+)/.exec(readme);
    expect(stated, `${name} README names no glibc minimum`).not.toBeNull();
    withExtracted(pkg.tarball, prebuild, (file) => {
      const newest = newestSymbolVersion(file, 'GLIBC');
      expect(compareVersions(newest, stated![1]!.split('.').map(Number)), `needs GLIBC_${newest.join('.')}`).toBeLessThanOrEqual(0);
    });
  });

  it(`links dynamically to ${Object.keys(libraries).join(' and ') || 'the C/C++ runtime only'}, no newer than its README says`, () => {
    withExtracted(pkg.tarball, prebuild, (file) => {
      expect(neededLibraries(file)).toEqual(expect.arrayContaining(Object.keys(libraries)));
      if (Object.keys(libraries).length === 0) expect(neededLibraries(file).filter((library) => !RUNTIME.test(library))).toEqual([]);
      for (const [library, { symbolPrefix, readmeMinimum }] of Object.entries(libraries)) {
        const newest = newestSymbolVersion(file, symbolPrefix);
        expect(newest.length, `${library}: no ${symbolPrefix}_* symbol versions`).toBeGreaterThan(1);
        expect(compareVersions(newest, readmeMinimum.split('.').map(Number)), `${library} needs ${newest.join('.')}`).toBeLessThanOrEqual(0);
      }
    });
  });
});

it('@stoq/bpf-programs ships the compiled object and the shared header', () => {
  expect(packed['@stoq/bpf-programs']!.files).toEqual(expect.arrayContaining(['dist/stoq_xdp.bpf.o', 'dist/stoq_shared.h']));
});
