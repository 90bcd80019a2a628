// SPDX-License-Identifier: Apache-2.0
// Each tarball carries what its package needs at run time (and for a source build of
// the native addons) and nothing else; published manifests have real version ranges.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  /\.test\.(js|d\.ts)(\.map)?$/,
  /(?<!\.d)\.ts$/,
  /\.(tsbuildinfo|log|o\.tmp)$/,
  /CMakeCache\.txt$/,
  /(^|\/)(vitest\.config|tsconfig)[^/]*$/,
];
const NATIVE = { '@stoq/loader': ['libbpf.so.1'], '@stoq/af-xdp': ['libxdp.so.1', 'libbpf.so.1'] } as const;

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

/** The shared libraries an ELF file asks the dynamic loader for (readelf -d NEEDED). */
function neededLibraries(tarball: string, path: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'stoq-elf-'));
  try {
    const file = join(dir, 'addon.node');
    writeFileSync(file, execFileSync('tar', ['-xzOf', tarball, `package/${path}`], { maxBuffer: 64 * 1024 * 1024 }));
    const dynamic = execFileSync('readelf', ['-d', file], { encoding: 'utf8' });
    return [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

it('packs every public workspace package', () => {
  expect(Object.keys(packed).sort()).toEqual(
    ['@stoq/af-xdp', '@stoq/bpf-programs', '@stoq/cli', '@stoq/loader', '@stoq/metrics', '@stoq/netlab', '@stoq/transport'],
  );
});

describe.each(Object.values(packed).map((p) => [p.name, p] as const))('%s tarball', (name, pkg) => {
  it('holds no tests, sources or build junk', () => {
    expect(pkg.files.filter((file) => JUNK.some((re) => re.test(file)))).toEqual([]);
    expect(pkg.files).toContain('package.json');
    expect(pkg.files).toContain('README.md');
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

  it('depends on other @stoq packages by a caret range on their current version', () => {
    const { dependencies = {}, optionalDependencies = {}, peerDependencies = {} } = pkg.manifest;
    for (const [dep, range] of Object.entries({ ...dependencies, ...optionalDependencies, ...peerDependencies })) {
      expect(range, `${name} → ${dep}`).not.toMatch(/^(workspace|catalog|file|link):/);
      if (dep.startsWith('@stoq/')) expect(range, `${name} → ${dep}`).toBe(`^${packed[dep]!.version}`);
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
    expect(pkg.manifest.scripts).toMatchObject({ install: expect.stringContaining('cmake-js compile') });
    expect(Object.keys(pkg.manifest.dependencies ?? {})).toEqual(expect.arrayContaining(['node-gyp-build', 'cmake-js', 'node-addon-api']));
  });

  it(`links dynamically to ${libraries.join(' and ')} (the runtime requirement its README states)`, () => {
    expect(neededLibraries(pkg.tarball, prebuild)).toEqual(expect.arrayContaining([...libraries]));
  });
});

it('@stoq/bpf-programs ships the compiled object and the shared header', () => {
  expect(packed['@stoq/bpf-programs']!.files).toEqual(expect.arrayContaining(['dist/stoq_xdp.bpf.o', 'dist/stoq_shared.h']));
});
