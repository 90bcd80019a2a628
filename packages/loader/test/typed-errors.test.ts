// Failures that used to escape as plain Errors (or with a false hint) are BpfErrors.
import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync, unlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BpfError, BpfObject, ensureBpffs, probe } from '../src/index.ts';
import { native } from '../src/binding.ts';
import { SUM_ITER_OBJECT, VERDICTS_OBJECT } from './support/fixtures.ts';

function bpfLinkFds(): Set<number> {
  const fds = new Set<number>();
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) === 'anon_inode:bpf_link') fds.add(Number(name));
    } catch {
      // the fd readdir itself used, closed by now
    }
  }
  return fds;
}

describe('typed errors', () => {
  it('close() while load() runs is STOQ_ERR_BPF_LOAD EBUSY with a hint, and close() works once it settled', async () => {
    const object = BpfObject.open(VERDICTS_OBJECT);
    const loading = object.load();
    let error: unknown;
    try {
      object.close();
    } catch (e) {
      error = e;
    }
    await loading;
    expect(error).toBeInstanceOf(BpfError);
    expect(error).toMatchObject({ code: 'STOQ_ERR_BPF_LOAD', errnoCode: 'EBUSY', operation: 'close', hint: expect.stringMatching(/await it/) });
    object.close();
    expect(() => object.map('verdict_counts')).toThrow(expect.objectContaining({ code: 'STOQ_ERR_CLOSED' }));
  });

  it('unpin() of a pin someone else removed is STOQ_ERR_BPF_PIN ENOENT, then a no-op', async () => {
    const object = await BpfObject.load(VERDICTS_OBJECT);
    try {
      const bpffs = ensureBpffs();
      expect(bpffs.mountPoint, bpffs.reason).toBeTruthy();
      const path = `${bpffs.mountPoint}/stoq_loader_unpin_${process.pid}`;
      const map = object.map('verdict_counts');
      map.pin(path);
      unlinkSync(path);
      expect(() => map.unpin()).toThrow(expect.objectContaining({ name: 'BpfError', code: 'STOQ_ERR_BPF_PIN', errnoCode: 'ENOENT', operation: 'unpin', hint: expect.stringMatching(/already removed/) }));
      expect(() => map.unpin()).not.toThrow();
    } finally {
      object.close();
    }
  });

  it('an iterator whose link fd fails to close reports STOQ_ERR_BPF_ITERATOR', async () => {
    const maps = await BpfObject.load(VERDICTS_OBJECT);
    const iterators = await BpfObject.load(SUM_ITER_OBJECT);
    try {
      const before = bpfLinkFds();
      const iterator = iterators.program('sum_values').attachIterator({ map: maps.map('by_first_byte') });
      const [linkFd] = [...bpfLinkFds()].filter((fd) => !before.has(fd));
      expect(linkFd).toBeDefined();
      native.closeFd(linkFd!); // pulled from under the iterator: its own close(2) now fails with EBADF
      expect(() => iterator.close()).toThrow(expect.objectContaining({ name: 'BpfError', code: 'STOQ_ERR_BPF_ITERATOR', errnoCode: 'EBADF' }));
      expect(iterator.attached).toBe(false);
    } finally {
      iterators.close();
      maps.close();
    }
  });

  it('probe(null) is probe() (a TypeError before); options that are not an object are an argument error', () => {
    expect(probe(null as never).interface).toBeUndefined();
    expect(() => probe('lo' as never)).toThrow(expect.objectContaining({ name: 'BpfError', code: 'STOQ_ERR_INVALID_ARGUMENT', operation: 'probe', message: expect.stringMatching(/options must be an object, got "lo"/) }));
  });

  it('probe() inside a network namespace reports the JIT state as unknown, without a /proc hint', () => {
    // net.core.bpf_jit_enable exists only in the initial network namespace.
    const script = `import { probe } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
      const r = probe(); process.stdout.write(JSON.stringify({ jit: r.jit, hints: r.hints }));`;
    const { jit, hints } = JSON.parse(execFileSync('unshare', ['--net', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' })) as { jit: Record<string, unknown>; hints: string[] };
    expect(jit).toEqual({ ok: false, value: null, errno: 'ENOENT' });
    expect(hints.filter((h) => /bpf_jit_enable|\/proc/.test(h))).toEqual([]);
  });
});
