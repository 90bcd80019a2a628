// SPDX-License-Identifier: Apache-2.0
// Receiver child processes: a live receiver (one JSON line at exit) and a drain
// receiver (a line protocol on stdin/stdout, every wait bounded).
import { spawn } from 'node:child_process';
import { SECONDS } from './config.mjs';

/** Starts a receiver, waits for "ready", returns a promise of its JSON result. */
export function startReceiver(cmd, args) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${cmd} exited (${code}) before ready: ${err.trim()}`)));
  });
  const result = new Promise((resolve, reject) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), (SECONDS + 20) * 1000);
    child.once('exit', (code) => {
      clearTimeout(killer);
      const line = out.trim().split('\n').pop();
      if (code === 0 && line?.startsWith('{')) resolve(JSON.parse(line));
      else reject(new Error(`${cmd} failed (${code}): ${err.trim().split('\n').filter((l) => !l.startsWith('lib')).join(' | ')}`));
    });
  });
  return { ready, result };
}

/**
 * A drain receiver: "ready", then one JSON line per request line. Every wait is
 * bounded; kill() is safe to call at any time.
 */
export function startDrainReceiver(cmd, args) {
  const child = spawn('taskset', ['-c', '1', cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = [];
  const waiters = [];
  let buffered = '';
  let err = '';
  let exited = false;
  child.stderr.on('data', (d) => (err += d));
  child.stdout.on('data', (d) => {
    buffered += d;
    for (let i; (i = buffered.indexOf('\n')) >= 0; ) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      // Anything but the protocol (e.g. V8 traces from BENCH_NODE_ARGS) goes to stderr.
      if (line === 'ready' || line.startsWith('{')) lines.push(line);
      else process.stderr.write(`  [${cmd.split('/').pop()}] ${line}\n`);
    }
    while (lines.length && waiters.length) waiters.shift().resolve(lines.shift());
  });
  child.stdin.on('error', () => {}); // EPIPE if it died; the pending read reports it
  child.once('exit', (code) => {
    exited = true;
    for (const w of waiters.splice(0)) w.reject(new Error(`${cmd} exited (${code}): ${err.trim()}`));
  });
  const nextLine = (timeoutMs) =>
    lines.length
      ? Promise.resolve(lines.shift())
      : new Promise((resolve, reject) => {
          if (exited) return reject(new Error(`${cmd} exited: ${err.trim()}`));
          const timer = setTimeout(() => reject(new Error(`${cmd}: no answer in ${timeoutMs} ms`)), timeoutMs);
          waiters.push({ resolve: (l) => (clearTimeout(timer), resolve(l)), reject: (e) => (clearTimeout(timer), reject(e)) });
        });
  return {
    ready: nextLine(20_000).then((l) => {
      if (l !== 'ready') throw new Error(`${cmd}: expected ready, got ${l}`);
    }),
    async request(line, timeoutMs = 20_000) {
      child.stdin.write(`${line}\n`);
      return JSON.parse(await nextLine(timeoutMs));
    },
    kill: () => exited || child.kill('SIGKILL'),
    exited: () => new Promise((r) => (exited ? r() : child.once('exit', r))),
  };
}
