// Compiles the test fixtures (test/fixtures/*.bpf.c) into build/fixtures/*.bpf.o.
// Part of the build so tests never compile on their own.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';

mkdirSync('build/fixtures', { recursive: true });
for (const file of readdirSync('test/fixtures').filter((f) => f.endsWith('.bpf.c'))) {
  const out = `build/fixtures/${file.replace(/\.c$/, '.o')}`;
  execFileSync('clang', ['-g', '-O2', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', `test/fixtures/${file}`, '-o', out], {
    stdio: 'inherit',
  });
}
