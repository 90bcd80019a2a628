import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { onBpffs } from './bpffs.js';

const isRoot = process.getuid?.() === 0;

describe('onBpffs', () => {
  it('is false for a path, or a path yet to be created, on an ordinary filesystem', () => {
    expect(onBpffs(tmpdir())).toBe(false);
    expect(onBpffs(join(tmpdir(), 'no-such-dir', 'pin'))).toBe(false);
  });

  it('is true on a bpf filesystem, also for a pin path not created yet', skipUnless(isRoot, 'needs root: mounting a bpf filesystem'), () => {
    const dir = mkdtempSync(join(tmpdir(), 'stoq-bpffs-'));
    try {
      execFileSync('mount', ['-t', 'bpf', 'bpf', dir]);
      try {
        expect(onBpffs(dir)).toBe(true);
        expect(onBpffs(join(dir, 'sub', 'map'))).toBe(true);
      } finally {
        execFileSync('umount', [dir]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
