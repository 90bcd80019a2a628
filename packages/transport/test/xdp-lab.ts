// SPDX-License-Identifier: Apache-2.0
// Plumbing for the XDP datapath tests: a lab veth (side A in this process's namespace
// so this process can attach XDP to it, side B in a namespace), a certificate on disk
// for the peer process, and the hash-server peer started in B with a chosen datapath.
import { type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, type Lab, type LabOptions } from '@stoq/netlab';
import { createSelfSignedCertificate, type EbpfStatus, type StoqConnection, type StoqTransport, type TransportConfig, type TransportStats } from '../src/index.js';
import { closeAll, sha256, transport } from './helpers.js';

const fixtures = join(import.meta.dirname, 'fixtures');

export interface Peer {
  child: ChildProcess;
  port: number;
  status: EbpfStatus;
  /** Asks the peer for its transport.stats(). */
  stats(): Promise<TransportStats>;
}

export interface XdpLab {
  lab: Lab;
  ca: string;
  startPeer(env: { STOQ_INTERFACE?: string; STOQ_DATAPATH?: string }, port?: number): Promise<Peer>;
  client(config?: TransportConfig): Promise<StoqTransport>;
  target(peer: Peer): string;
  destroy(): Promise<void>;
}

export async function createXdpLab(options: LabOptions = {}): Promise<XdpLab> {
  const lab = await createLab({ hostSide: true, timeoutMs: 5 * 60_000, ...options });
  let dir: string | undefined;
  let cert: string;
  try {
    dir = mkdtempSync(join(tmpdir(), 'stoq-xdp-'));
    const pair = await createSelfSignedCertificate({ hostnames: ['stoq.test'] });
    cert = pair.cert;
    writeFileSync(join(dir, 'cert.pem'), pair.cert);
    writeFileSync(join(dir, 'key.pem'), pair.key);
  } catch (error) {
    // The caller gets no handle to destroy: nothing may be left behind.
    if (dir) rmSync(dir, { recursive: true, force: true });
    await lab.destroy();
    throw error;
  }
  const certDir = dir;
  const peers: ChildProcess[] = [];

  async function startPeer(env: { STOQ_INTERFACE?: string; STOQ_DATAPATH?: string }, port = 0): Promise<Peer> {
    const child = lab.spawn(lab.b, 'env', [
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      process.execPath, join(fixtures, 'hash-server.mjs'), lab.b.address, String(port), join(certDir, 'cert.pem'), join(certDir, 'key.pem'), '10000',
    ]);
    peers.push(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const waiters: Array<(stats: TransportStats) => void> = [];
    let buffered = '';
    const ready = new Promise<{ port: number; status: EbpfStatus }>((resolve, reject) => {
      let readyPort = -1;
      child.stdout?.on('data', (d: Buffer) => {
        buffered += d.toString();
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line.startsWith('READY ')) readyPort = Number(line.slice(6));
          else if (line.startsWith('STATUS ')) resolve({ port: readyPort, status: JSON.parse(line.slice(7)) as EbpfStatus });
          else if (line.startsWith('STATS ')) waiters.shift()?.(JSON.parse(line.slice(6)) as TransportStats);
        }
      });
      child.once('exit', (code) => reject(new Error(`peer exited with ${code}: ${stderr}`)));
    });
    const { port: bound, status } = await ready;
    return {
      child,
      port: bound,
      status,
      stats: () => new Promise<TransportStats>((resolve) => {
        waiters.push(resolve);
        child.kill('SIGUSR2');
      }),
    };
  }

  return {
    lab,
    ca: cert,
    startPeer,
    client: (config = {}) => transport({ address: lab.a.address, tls: { ca: cert }, ...config }),
    target: (peer) => `[${lab.b.address}]:${peer.port}`,
    async destroy() {
      try {
        await closeAll();
      } finally {
        for (const p of peers) {
          if (p.exitCode === null && p.signalCode === null) {
            p.kill('SIGKILL');
            await once(p, 'exit');
          }
        }
        await lab.destroy();
        rmSync(certDir, { recursive: true, force: true });
      }
    },
  };
}

/** Sends one message and waits for the peer's echo; returns whether it came back intact. */
export async function echo(t: StoqTransport, conn: StoqConnection, bytes: number): Promise<boolean> {
  const message = randomBytes(bytes);
  const reply = once(conn, 'message');
  await t.send(conn, message);
  const [back] = (await reply) as [Buffer];
  return sha256(back) === sha256(message);
}
