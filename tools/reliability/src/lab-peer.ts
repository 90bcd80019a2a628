// Starts src/peer.ts (built) in a lab namespace, with the certificate files it needs.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab, LabSide } from '@stoq/netlab';
import { createSelfSignedCertificate } from '@stoq/transport';

const peerScript = fileURLToPath(new URL('../dist/peer.js', import.meta.url));

/** A development certificate for 'stoq.test' written to a private temp dir. */
export async function certificateFiles() {
  const { cert, key } = await createSelfSignedCertificate({ hostnames: ['stoq.test'] });
  const dir = mkdtempSync(join(tmpdir(), 'stoq-reliability-'));
  writeFileSync(join(dir, 'cert.pem'), cert, { mode: 0o600 });
  writeFileSync(join(dir, 'key.pem'), key, { mode: 0o600 });
  return { cert, key, certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Peer<T> {
  child: ChildProcess;
  ready: T;
  output: () => string;
}

export async function startPeer<T>(lab: Lab, side: LabSide, args: string[], timeoutMs = 30_000): Promise<Peer<T>> {
  const child = lab.spawn(side, process.execPath, [peerScript, ...args]);
  let output = '';
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const ready = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`peer not ready after ${timeoutMs} ms: ${output}`)), timeoutMs);
    let line = '';
    child.stdout?.on('data', (d: Buffer) => {
      line += d.toString();
      const m = /READY (.*)\n/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(JSON.parse(m[1]!) as T);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`peer exited with ${code}: ${output}`));
    });
  });
  return { child, ready, output: () => output };
}
