// SPDX-License-Identifier: Apache-2.0
// Interoperability with ngtcp2 + GnuTLS (Debian's ngtcp2-client/ngtcp2-server example
// programs, which speak HTTP/3). We speak just enough HTTP/3 by hand: ALPN 'h3', a
// control stream with empty SETTINGS, one request or response with a static-table QPACK
// header block. The QUIC and TLS underneath are the real thing on both sides.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { closeAll, devCertificate, transport } from './helpers.js';

const CLIENT = '/usr/bin/gtlsclient';
const SERVER = '/usr/sbin/gtlsserver';
const available = existsSync(CLIENT) && existsSync(SERVER);

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** QUIC variable-length integer (RFC 9000 §16). */
function readVarint(buf: Buffer, offset: number): [value: number, next: number] {
  const first = buf[offset] as number;
  const len = 1 << (first >> 6);
  let value = first & 0x3f;
  for (let i = 1; i < len; i++) value = value * 256 + (buf[offset + i] as number);
  return [value, offset + len];
}

function varint(n: number): Buffer {
  if (n < 64) return Buffer.from([n]);
  if (n < 16384) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  const b = Buffer.alloc(4);
  b.writeUInt32BE(0x80000000 + n);
  return b;
}

/** Concatenated payloads of the DATA frames (type 0) in an HTTP/3 frame sequence. */
function dataFrames(buf: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let o = 0; o < buf.length; ) {
    const [type, a] = readVarint(buf, o);
    const [length, b] = readVarint(buf, a);
    if (type === 0) out.push(buf.subarray(b, b + length));
    o = b + length;
  }
  return Buffer.concat(out);
}

function frame(type: number, payload: Buffer): Buffer {
  return Buffer.concat([varint(type), varint(payload.length), payload]);
}

/** The port of the one UDP socket process `pid` holds, from /proc, or null while it has none. */
function udpPortOf(pid: number): number | null {
  const inodes = new Set<string>();
  let table: string;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (socket) inodes.add(socket[1] as string);
    }
    table = readFileSync(`/proc/${pid}/net/udp6`, 'utf8');
  } catch {
    return null; // an fd closed while we listed them, or the process is gone: the caller looks again
  }
  // Columns: sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …
  const ports = table.split('\n').slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((columns) => inodes.has(columns[9] as string))
    .map((columns) => parseInt((columns[1] as string).split(':')[1] as string, 16));
  if (ports.length > 1) throw new Error(`pid ${pid} holds ${ports.length} UDP sockets, expected one`);
  return ports[0] ?? null;
}

/**
 * Waits (bounded) until `child` has bound its UDP socket and returns the port. gtlsserver
 * takes port 0 but cannot report the port it got; reading it back avoids probing a free
 * port first, which another process could take before gtlsserver binds it.
 */
async function boundUdpPort(child: ChildProcess, timeoutMs: number): Promise<number> {
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += String(c)));
  let closed = false; // 'close' comes after the exit and the last of its stderr
  child.once('close', () => (closed = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (closed || child.pid === undefined) throw new Error(`${SERVER} exited (${child.exitCode ?? child.signalCode}) before binding: ${stderr.trim()}`);
    const port = udpPortOf(child.pid);
    if (port !== null) return port;
    if (Date.now() > deadline) throw new Error(`${SERVER} bound no UDP port within ${timeoutMs} ms: ${stderr.trim()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const children: ChildProcess[] = [];
let dir: string;

describe('interoperability with ngtcp2 (gtlsclient / gtlsserver)', skipUnless(available, 'gtlsclient/gtlsserver (Debian ngtcp2-client/ngtcp2-server) not installed'), () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stoq-ngtcp2-'));
    const { cert, key } = await devCertificate();
    writeFileSync(join(dir, 'cert.pem'), cert);
    writeFileSync(join(dir, 'key.pem'), key);
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await closeAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ngtcp2 client → StoqTransport server: handshake, request in, response out', async () => {
    const { cert, key } = await devCertificate();
    const server = await transport({ tls: { cert, key, alpn: ['h3'] } });
    const body = randomBytes(300_000);
    const requests: Buffer[] = [];
    server.on('connection', (conn) =>
      conn.on('stream', (stream) => {
        const duplex = stream as Duplex;
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('error', () => {});
        stream.on('end', () => {
          if (!duplex.writable) return;
          requests.push(Buffer.concat(chunks));
          // HEADERS: QPACK prefix (0, 0) + indexed static field 25 (:status 200).
          duplex.end(Buffer.concat([frame(0x01, Buffer.from([0x00, 0x00, 0xd9])), frame(0x00, body)]));
        });
      }),
    );
    const download = join(dir, 'download');
    mkdirSync(download);
    const client = spawn(CLIENT, ['-q', '--exit-on-all-streams-close', `--download=${download}`, '--timeout=5s', '::1', String(server.address().port), 'https://localhost/file.bin']);
    children.push(client);
    const [code] = await once(client, 'exit');
    expect(code).toBe(0);
    expect(requests).toHaveLength(1);
    expect((requests[0] as Buffer)[0]).toBe(0x01); // its request starts with an HTTP/3 HEADERS frame
    expect(sha(readFileSync(join(download, 'file.bin')))).toBe(sha(body));
  }, 30_000);

  it('StoqTransport client → ngtcp2 server: verified handshake, request out, 200 kB file in', async () => {
    const htdocs = join(dir, 'htdocs');
    mkdirSync(htdocs);
    const file = randomBytes(200_000);
    writeFileSync(join(htdocs, 'blob'), file);
    const server = spawn(SERVER, ['-q', '-d', htdocs, '::1', '0', join(dir, 'key.pem'), join(dir, 'cert.pem')]);
    children.push(server);
    const port = await boundUdpPort(server, 5000);
    const { cert } = await devCertificate();
    const client = await transport({ tls: { ca: cert, alpn: ['h3'] } });
    const conn = await client.connect(`[::1]:${port}`, { serverName: 'localhost' });
    expect(conn.alpn).toBe('h3');
    conn.on('stream', (s) => s.resume()); // its control and QPACK streams
    const control = await conn.openStream({ unidirectional: true });
    control.write(Buffer.concat([Buffer.from([0x00]), frame(0x04, Buffer.alloc(0))])); // control stream, empty SETTINGS
    const request = await conn.openStream();
    // QPACK: prefix, :method GET (17), :scheme https (23), :authority literal, :path literal.
    const fields = Buffer.concat([
      Buffer.from([0x00, 0x00, 0xd1, 0xd7, 0x50, 9]), Buffer.from('localhost'), Buffer.from([0x51, 5]), Buffer.from('/blob'),
    ]);
    request.end(frame(0x01, fields));
    const chunks: Buffer[] = [];
    for await (const c of request) chunks.push(c as Buffer);
    expect(sha(dataFrames(Buffer.concat(chunks)))).toBe(sha(file));
    await conn.close(0x100); // H3_NO_ERROR
    server.kill('SIGTERM');
  }, 30_000);
});
