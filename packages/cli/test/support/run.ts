// Runs the built `stoq` (or any node script) as a child, optionally inside a lab
// namespace, and collects its output; every run is bounded by a timeout.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Lab, LabSide } from '@stoq/netlab';
import { skipUnless } from '../../../../vitest.skip.ts';

export const STOQ = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
export const support = (file: string) => fileURLToPath(new URL(`./${file}`, import.meta.url));
export const isRoot = process.getuid?.() === 0;

/**
 * Options for a describe() whose tests need root (BPF programs, XDP, lab namespaces): when
 * not root they are skipped with the reason printed and recorded (../../../../vitest.skip.ts).
 */
export function needsRoot(what: string): ReturnType<typeof skipUnless> {
  return skipUnless(isRoot, `not root: ${what} (needs CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN and lab namespaces)`);
}

export interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function start(args: string[], where?: { lab: Lab; side: LabSide }, input?: Buffer | string): ChildProcess {
  const child = where
    ? where.lab.spawn(where.side, process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  if (input !== undefined) child.stdin!.end(input);
  return child;
}

export function finish(child: ChildProcess, timeoutMs: number): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export function run(args: string[], options: { where?: { lab: Lab; side: LabSide }; input?: Buffer | string; timeoutMs?: number } = {}): Promise<Outcome> {
  return finish(start(args, options.where, options.input), options.timeoutMs ?? 60_000);
}

/** Resolves with the first stdout line of a child that parses as JSON. */
export function firstJsonLine<T>(child: ChildProcess, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`no JSON line within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      for (const line of buffered.split('\n').slice(0, -1)) {
        if (!line.startsWith('{')) continue;
        clearTimeout(timer);
        resolve(JSON.parse(line) as T);
        return;
      }
    });
    child.once('exit', (code) => reject(new Error(`exited (${code}) before a JSON line; stderr: ${stderr}`)));
  });
}
