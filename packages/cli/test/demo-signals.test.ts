// `stoq demo` cleans up after itself however it ends: --flood 0, SIGTERM and a burst of
// SIGINTs in the middle of the transfer leave no certificate directory, no namespace and
// no netlab owner record behind.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OWNERS_DIR } from '@stoq/netlab';
import { finish, needsRoot, STOQ } from './support/run.js';

// The demo makes its certificate directory in os.tmpdir(): a private one shows what it leaves.
const tmp = mkdtempSync(join(tmpdir(), 'stoq-cli-demo-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function startDemo(args: string[]) {
  const child = spawn(process.execPath, [STOQ, 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: tmp } });
  return { child, done: finish(child, 120_000) };
}

interface OwnerRecord {
  pid: number;
  namespaces: string[];
  hostLinks: string[];
}

/** The lab a demo process owns, from netlab's owner records. */
function labOf(pid: number): { file: string; record: OwnerRecord } | null {
  for (const f of existsSync(OWNERS_DIR) ? readdirSync(OWNERS_DIR) : []) {
    try {
      const record = JSON.parse(readFileSync(join(OWNERS_DIR, f), 'utf8')) as OwnerRecord;
      if (record.pid === pid) return { file: join(OWNERS_DIR, f), record };
    } catch {
      // being written, or removed meanwhile
    }
  }
  return null;
}

const namespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });

/** Removes what a test's own demo left (only that lab), so a failing test leaves nothing either. */
function removeLeftovers(lab: { file: string; record: OwnerRecord }): void {
  for (const link of lab.record.hostLinks) spawnQuiet('ip', ['link', 'del', link]);
  for (const ns of lab.record.namespaces) spawnQuiet('ip', ['netns', 'del', ns]);
  rmSync(lab.file, { force: true });
}
function spawnQuiet(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

/** What a failing run left in the private tmpdir goes, so the next test starts empty. */
function emptyTmp(): void {
  for (const f of readdirSync(tmp)) rmSync(join(tmp, f), { recursive: true, force: true });
}

/** Starts a long demo and resolves once the transfer runs (its progress bar is on stderr). */
async function demoInTransfer() {
  const demo = startDemo(['--megabytes', '4000', '--rounds', '10']);
  await new Promise<void>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no transfer within 60 s: ${err}`)), 60_000);
    demo.child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (/transfer \d/.test(err)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const lab = labOf(demo.child.pid!);
  return { ...demo, lab };
}

describe('stoq demo cleans up however it ends', needsRoot('stoq demo builds a lab and attaches stoq_xdp'), () => {
  it('--flood 0 completes (exit 0, flood.sent 0) and removes its certificate directory', async () => {
    try {
      const { done } = startDemo(['--flood', '0', '--megabytes', '1', '--rounds', '10', '--json']);
      const { code, stdout, stderr } = await done;
      expect(stderr).not.toMatch(/SyntaxError|\n\s+at /);
      expect(code, stderr).toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({ environment: 'lab', flood: { sent: 0 }, bulk: { intact: true } });
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      emptyTmp();
    }
  });

  it('SIGTERM mid-transfer: exit 143, no certificate directory, no lab left', async () => {
    const demo = await demoInTransfer();
    expect(demo.lab).not.toBeNull();
    try {
      demo.child.kill('SIGTERM');
      const { code, signal } = await demo.done;
      expect(readdirSync(tmp)).toEqual([]);
      expect(existsSync(demo.lab!.file)).toBe(false);
      for (const ns of demo.lab!.record.namespaces) expect(namespaces()).not.toContain(ns);
      expect([code, signal]).toEqual([143, null]);
    } finally {
      removeLeftovers(demo.lab!);
      emptyTmp();
    }
  });

  // Ctrl-C pressed twice, or `timeout -s INT`, which signals the process and then its whole
  // group: a second SIGINT during the lab teardown must not cut the teardown short.
  it('a burst of SIGINTs mid-transfer: exit 130, the lab and the certificate directory are gone', async () => {
    const demo = await demoInTransfer();
    expect(demo.lab).not.toBeNull();
    try {
      const burst = setInterval(() => demo.child.exitCode === null && demo.child.signalCode === null && demo.child.kill('SIGINT'), 5);
      const { code, signal } = await demo.done;
      clearInterval(burst);
      expect(existsSync(demo.lab!.file)).toBe(false);
      for (const ns of demo.lab!.record.namespaces) expect(namespaces()).not.toContain(ns);
      expect(readdirSync(tmp)).toEqual([]);
      expect([code, signal]).toEqual([130, null]);
    } finally {
      removeLeftovers(demo.lab!);
      emptyTmp();
    }
  });
});
