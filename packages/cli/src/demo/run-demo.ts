// Orchestrates the demo: a lab (two namespaces and a veth, when root), the server
// and client as child processes, an IPv4 flood against the server, then a summary
// of what was really used and measured.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { effectiveCapabilities } from '@stoq/loader';
import { createLab, type Lab } from '@stoq/netlab';
import { onMessages, type ChildMessage, type ServerReport } from './protocol.js';
import { ProgressBar } from './progress.js';

export interface DemoOptions {
  bulkBytes: number;
  echoRounds: number;
  floodPackets: number;
  port: number;
}

export interface DemoResult {
  environment: 'lab' | 'loopback';
  whyNotLab?: string;
  server: ServerReport;
  bulk: { bytes: number; seconds: number; bitsPerSecond: number; intact: boolean };
  latencyUs: { min: number; p50: number; p95: number; p99: number; max: number; samples: number };
  flood: { sent: number } | null;
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** Resolves with the first message of `type` from a child; rejects on its error or early exit. */
class ChildChannel {
  private readonly waiters = new Map<string, (m: ChildMessage) => void>();
  private failure: Error | null = null;
  private readonly failed: Promise<never>;

  constructor(readonly name: string, readonly child: ChildProcess, onProgress?: (bytes: number) => void) {
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    this.failed = new Promise<never>((_, reject) => {
      child.once('exit', (code, signal) => {
        this.failure ??= new Error(`${name} exited (${signal ?? code}) before finishing${stderr ? `:\n${stderr.trim()}` : ''}`);
        reject(this.failure);
      });
    });
    this.failed.catch(() => undefined);
    onMessages(child.stdout!, (m) => {
      if (m.type === 'progress') onProgress?.(m.bytes);
      else if (m.type === 'error') {
        this.failure = Object.assign(new Error(`${name}: ${m.message}`), m.code ? { code: m.code } : {});
      }
      this.waiters.get(m.type)?.(m);
    });
  }

  next<T extends ChildMessage['type']>(type: T, timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>> {
    const got = new Promise<Extract<ChildMessage, { type: T }>>((resolve) => {
      this.waiters.set(type, (m) => resolve(m as Extract<ChildMessage, { type: T }>));
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name}: no '${type}' within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([got, this.failed, timeout]).finally(() => clearTimeout(timer));
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/**
 * The lab needs CAP_SYS_ADMIN (network namespaces) and CAP_NET_ADMIN (veth, XDP).
 * Without them, or if building it fails, the same demo runs on [::1] and says why.
 */
async function tryLab(): Promise<{ lab: Lab | null; whyNot?: string }> {
  const held = effectiveCapabilities();
  const missing = (['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'] as const).filter((cap) => !held.has(cap));
  const fallback = 'the demo runs on [::1] over the kernel UDP socket (no XDP, no AF_XDP)';
  if (missing.length) return { lab: null, whyNot: `missing ${missing.join(', ')} for network namespaces and XDP (run as root): ${fallback}` };
  try {
    return { lab: await createLab({ ipv4: true, timeoutMs: 5 * 60_000 }) };
  } catch (error) {
    return { lab: null, whyNot: `could not build the lab (${(error as Error).message.split('\n')[0]}): ${fallback}` };
  }
}

/**
 * Until the demo is over, SIGINT/SIGTERM/SIGHUP end it here, synchronously: its children are
 * killed, its certificate directory removed, and process.exit() runs netlab's exit hook, which
 * tears the lab down. The listeners stay registered meanwhile, so a second signal (Ctrl-C twice,
 * or `timeout`, which signals the process and then its whole group) cannot hit a process whose
 * signal disposition is back to the default halfway through the teardown.
 * Not netlab's signal handler: the demo also runs without a lab (on [::1], children outside
 * any namespace), and it exits 128+n as documented where netlab re-raises the signal.
 */
function guardProcess(cleanupSync: () => void): () => void {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const onSignal = (signal: NodeJS.Signals) => {
    cleanupSync();
    process.exit(128 + (osConstants.signals[signal] ?? 0));
  };
  for (const signal of signals) process.on(signal, onSignal);
  process.on('exit', cleanupSync);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
    process.off('exit', cleanupSync);
  };
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const children: ChildProcess[] = [];
  let certDir: string | null = null;
  const cleanupSync = () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  };
  const unguard = guardProcess(cleanupSync);
  certDir = mkdtempSync(join(tmpdir(), 'stoq-demo-'));
  let lab: Lab | null = null;
  const node = process.execPath;
  try {
    const lab0 = await tryLab();
    lab = lab0.lab;
    const whyNotLab = lab0.whyNot;
    const serverArgs = [here('./server.js'), lab ? lab.a.address : '::1', String(options.port), lab ? lab.a.ifname : '', certDir];
    const serverChild = lab
      ? lab.spawn(lab.a, node, serverArgs, { stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(node, serverArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(serverChild);
    const server = new ChildChannel('server', serverChild);
    const listening = await server.next('listening', 30_000);

    let flood: Promise<{ sent: number }> | null = null;
    if (lab?.a.address4) {
      const floodArgs = [here('./flood.js'), lab.a.address4, String(listening.port), String(options.floodPackets), '10000'];
      const floodChild = lab.spawn(lab.b, node, floodArgs);
      children.push(floodChild);
      flood = new Promise((resolve, reject) => {
        let out = '';
        floodChild.stdout?.on('data', (d: Buffer) => (out += d.toString()));
        floodChild.once('error', reject);
        floodChild.once('close', (code, signal) => {
          if (code !== 0) return reject(new Error(`flood exited (${signal ?? code})`));
          try {
            const result = JSON.parse(out) as { sent?: unknown };
            if (typeof result.sent !== 'number') throw new Error('no count');
            resolve({ sent: result.sent });
          } catch {
            reject(new Error(`flood exited 0 without its result (printed ${JSON.stringify(out.slice(0, 200))})`));
          }
        });
      });
      // Awaited only after the transfer: until then a failure must not be an unhandled rejection.
      flood.catch(() => undefined);
    }

    const bar = new ProgressBar('transfer', options.bulkBytes);
    const clientArgs = [here('./client.js'), listening.address, String(listening.port), listening.certPath, String(options.bulkBytes), String(options.echoRounds)];
    const clientChild = lab ? lab.spawn(lab.b, node, clientArgs) : spawn(node, clientArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(clientChild);
    const client = new ChildChannel('client', clientChild, (bytes) => bar.update(bytes));
    const bulk = await client.next('bulk-done', 10 * 60_000);
    bar.finish();
    const latency = await client.next('latency-done', 2 * 60_000);
    const floodResult = flood ? await flood : null;

    serverChild.stdin?.write('report\n');
    const report = await server.next('server-report', 10_000);
    serverChild.stdin?.end('quit\n');

    const sorted = [...latency.samplesUs].sort((a, b) => a - b);
    return {
      environment: lab ? 'lab' : 'loopback',
      ...(whyNotLab ? { whyNotLab } : {}),
      server: report.report,
      bulk: {
        bytes: bulk.bytes,
        seconds: bulk.seconds,
        bitsPerSecond: (bulk.bytes * 8) / bulk.seconds,
        intact: bulk.sha256 === bulk.serverSha256 && bulk.bytes === bulk.serverBytes,
      },
      latencyUs: {
        min: sorted[0] ?? 0,
        p50: percentile(sorted, 50),
        p95: percentile(sorted, 95),
        p99: percentile(sorted, 99),
        max: sorted[sorted.length - 1] ?? 0,
        samples: sorted.length,
      },
      flood: floodResult,
    };
  } finally {
    cleanupSync();
    await lab?.destroy();
    unguard();
  }
}
