// SPDX-License-Identifier: Apache-2.0
// The remaining public packages, each installed alone from its tarball: @stoq/netlab's
// README example, @stoq/bpf-programs' shipped object and header, `stoq doctor`, and
// @stoq/native-support's README example.
import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { isRoot } from '../src/env.ts';
import { installAlone, readmeExample, resolvedStoq } from '../src/scratch.ts';

const packed = inject('packed');

describe('@stoq/netlab', () => {
  it('runs the README example (ping across a fresh lab)', skipUnless(isRoot, 'needs root: the netlab README example creates a lab'), async () => {
    const scratch = await installAlone('@stoq/netlab', packed);
    try {
      scratch.write('lab.mjs', readmeExample(scratch, '@stoq/netlab'));
      const out = await scratch.run(process.execPath, ['lab.mjs'], { timeoutMs: 60_000 });
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toMatch(/1 packets transmitted, 1 received/);
    } finally {
      scratch.remove();
    }
  });
});

describe('@stoq/bpf-programs', () => {
  it('resolves its BPF object and header from the installed package', async () => {
    const scratch = await installAlone('@stoq/bpf-programs', packed);
    try {
      // The README's import line, then where the names point.
      scratch.write(
        'paths.mjs',
        "import { objectPath, headerPath, PROGRAM_NAME } from '@stoq/bpf-programs';\n" +
          'console.log(JSON.stringify({ objectPath, headerPath, PROGRAM_NAME }));\n',
      );
      const out = await scratch.run(process.execPath, ['paths.mjs']);
      expect(out.code, out.stderr).toBe(0);
      const { objectPath, headerPath, PROGRAM_NAME } = JSON.parse(out.stdout) as { objectPath: string; headerPath: string; PROGRAM_NAME: string };
      expect(PROGRAM_NAME).toBe('stoq_xdp');
      expect(objectPath.startsWith(scratch.dir)).toBe(true);
      const elf = readFileSync(objectPath);
      expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
      expect(elf.readUInt16LE(18)).toBe(247); // e_machine EM_BPF
      expect(readFileSync(headerPath, 'utf8')).toContain('stoq');
    } finally {
      scratch.remove();
    }
  });
});

describe('@stoq/cli', () => {
  it('installs with its @stoq dependencies from tarballs and runs `stoq doctor --json`', async () => {
    const scratch = await installAlone('@stoq/cli', packed);
    try {
      for (const from of Object.values(resolvedStoq(scratch))) expect(from).toMatch(/^file:.*\.tgz$/);
      const out = await scratch.run('node_modules/.bin/stoq', ['doctor', '--json'], { timeoutMs: 60_000 });
      // 0: fast path possible; 3: it is not (STOQ runs over node:dgram). Both are reports.
      expect([0, 3], out.stderr).toContain(out.code);
      expect(JSON.parse(out.stdout)).toBeTypeOf('object');
    } finally {
      scratch.remove();
    }
  });
});

describe('@stoq/native-support', () => {
  it('installs alone (no dependencies) and runs the README example', async () => {
    const scratch = await installAlone('@stoq/native-support', packed);
    try {
      expect(Object.keys(resolvedStoq(scratch))).toEqual(['@stoq/native-support']);
      scratch.write('native-support.mjs', readmeExample(scratch, '@stoq/native-support'));
      const out = await scratch.run(process.execPath, ['native-support.mjs']);
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toBe(
        'bind failed (hint: close the other socket first)\nEBUSY EOPNOTSUPP\ntrue true\ntrue STOQ_ERR_NATIVE_MISSING\n',
      );
    } finally {
      scratch.remove();
    }
  });
});
