// Memory and fd sampling for leak checks; `gc` comes from --expose-gc or is enabled
// at runtime through v8 flags (works in vitest's forked workers too).
import { readdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gcFn: (() => void) | undefined = (globalThis as { gc?: () => void }).gc;

export function collectGarbage(): void {
  if (!gcFn) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
}

export interface MemorySample {
  heapUsed: number;
  rss: number;
  external: number;
  fds: number;
}

export function sample(gc = true): MemorySample {
  if (gc) collectGarbage();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss, external: m.external, fds: readdirSync('/proc/self/fd').length };
}

export const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
