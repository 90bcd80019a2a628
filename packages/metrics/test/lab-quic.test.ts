// SPDX-License-Identifier: Apache-2.0
// A real QUIC connection across the lab veth: ngtcp2's gtlsclient (side B) fetches a
// file from gtlsserver (side A) while stoq_xdp runs in native mode on A's interface.
// The collector must follow the connection through stoq_conntrack and count its packets.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeConntrack, decodeConntrackValue, encodeConntrackValue, ipv6ToBytes } from '@stoq/bpf-programs';
import { withLab } from '@stoq/netlab';
import { describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { createStoqCollector, toEbpfMetrics } from '../src/index.js';
import { StoqXdp } from './helpers/stoq-xdp.js';

const CLIENT = '/usr/bin/gtlsclient';
const SERVER = '/usr/sbin/gtlsserver';
const isRoot = process.getuid?.() === 0;
const haveNgtcp2 = existsSync(CLIENT) && existsSync(SERVER);

const QUIC_PORT = 9292;

/** Polls `ss` until something listens on [address]:port over UDP (bounded: 5 s). */
async function waitForUdpListener(address: string, port: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (execFileSync('ss', ['-H', '-uln', 'src', `[${address}]:${port}`], { encoding: 'utf8' }).trim() !== '') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listens on UDP port ${port} after 5 s`);
}

describe('a real QUIC connection through stoq_xdp (native XDP on veth)', skipUnless(isRoot && haveNgtcp2, !isRoot ? 'needs root: veth lab and native XDP attach' : 'gtlsclient/gtlsserver (Debian ngtcp2-client/ngtcp2-server) not installed'), () => {
  it('goes initial → established → closing → deleted in stoq_conntrack, its packets counted as quic_passed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stoq-metrics-lab-'));
    const prog = await StoqXdp.load();
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'pipe' });
      mkdirSync(join(dir, 'htdocs'));
      writeFileSync(join(dir, 'htdocs', 'blob'), Buffer.alloc(100_000, 7));

      await withLab({ hostSide: true, staticNeighbours: true }, async (lab) => {
        const link = prog.attach(lab.a.ifname, 'native');
        let server: ChildProcess | undefined;
        try {
          const collector = await createStoqCollector({ object: prog.object, process: false });
          const before = toEbpfMetrics(await collector.collect());
          if (!before.packetMetrics.available) throw new Error(before.packetMetrics.reason);
          expect(before.connectionMetrics.conntrack).toMatchObject({ available: true, entries: 0 });

          // The server is stopped right after it binds, so the client's first flight waits in
          // its socket: the entry must sit in `initial` until the server runs again.
          server = lab.spawn(lab.a, SERVER, ['-q', '-d', join(dir, 'htdocs'), lab.a.address, String(QUIC_PORT), join(dir, 'key.pem'), join(dir, 'cert.pem')]);
          await waitForUdpListener(lab.a.address, QUIC_PORT);
          server.kill('SIGSTOP');
          const client = lab.spawn(lab.b, CLIENT, ['-q', '--exit-on-all-streams-close', '--timeout=5s', lab.a.address, String(QUIC_PORT), `https://[${lab.a.address}]:${QUIC_PORT}/blob`]);
          const clientExit = new Promise<number | null>((resolve) => client.once('exit', resolve));
          let early = toEbpfMetrics(await collector.collect()).connectionMetrics.conntrack;
          for (let i = 0; i < 100 && !(early.available && early.entries > 0); i++) {
            await new Promise((resolve) => setTimeout(resolve, 50));
            early = toEbpfMetrics(await collector.collect()).connectionMetrics.conntrack;
          }
          expect(early).toEqual({ available: true, entries: 1, byState: { initial: 1, handshake: 0, established: 0, closing: 0 } });
          server.kill('SIGCONT');
          const timeout = setTimeout(() => client.kill(), 20_000);
          expect(await clientExit).toBe(0);
          clearTimeout(timeout);

          const after = toEbpfMetrics(await collector.collect());
          if (!after.packetMetrics.available) throw new Error(after.packetMetrics.reason);
          const conntrack = after.connectionMetrics.conntrack;
          if (!conntrack.available) throw new Error(conntrack.reason);
          expect(conntrack.entries).toBe(1);
          expect(conntrack.byState).toEqual({ initial: 0, handshake: 0, established: 1, closing: 0 });

          // The one entry is the client, and every QUIC packet it sent was counted as passed.
          const [only] = prog.conntrackMap.lookupBatch();
          if (only === undefined) throw new Error('stoq_conntrack is empty');
          const [key, value] = only;
          const entry = decodeConntrack(key, value);
          expect(ipv6ToBytes(entry.peerAddress)).toEqual(ipv6ToBytes(lab.b.address)); // the lab may write leading zeros
          expect(entry.localPort).toBe(QUIC_PORT);
          const quicPassed = after.packetMetrics.verdicts['quic_passed']!.total - before.packetMetrics.verdicts['quic_passed']!.total;
          expect(quicPassed).toBe(entry.packets);
          expect(quicPassed).toBeGreaterThan(3);
          console.log(`native XDP on veth: ${quicPassed} QUIC packets from the client, conntrack ${JSON.stringify(conntrack.byState)}`);

          // The transport marks a closed connection `closing` before deleting it after draining.
          prog.conntrackMap.update(key, encodeConntrackValue({ ...decodeConntrackValue(value), state: 'closing' }), 'exist');
          const closed = toEbpfMetrics(await collector.collect()).connectionMetrics.conntrack;
          expect(closed).toMatchObject({ available: true, byState: { initial: 0, handshake: 0, established: 0, closing: 1 } });
          // ...and deletes it after draining.
          expect(prog.conntrackMap.delete(key)).toBe(true);
          const deleted = toEbpfMetrics(await collector.collect()).connectionMetrics.conntrack;
          expect(deleted).toEqual({ available: true, entries: 0, byState: { initial: 0, handshake: 0, established: 0, closing: 0 } });
        } finally {
          server?.kill('SIGCONT'); // a stopped process would ignore the lab's SIGTERM
          link.detach();
        }
      });
    } finally {
      prog.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
