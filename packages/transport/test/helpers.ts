// SPDX-License-Identifier: Apache-2.0
// Shared test plumbing: one development certificate per file, transports on loopback
// with guaranteed cleanup, and hashing helpers for content checks.
import { createHash, randomBytes } from 'node:crypto';
import type { Duplex, Readable, Writable } from 'node:stream';
import { once } from 'node:events';
import { createSelfSignedCertificate, StoqTransport, type SelfSignedCertificate, type StoqConnection, type TransportConfig } from '../src/index.js';

export const isRoot = process.getuid?.() === 0;

let certificate: Promise<SelfSignedCertificate> | null = null;
export function devCertificate(): Promise<SelfSignedCertificate> {
  certificate ??= createSelfSignedCertificate({ hostnames: ['localhost', '::1'] });
  return certificate;
}

const open = new Set<StoqTransport>();

/** Creates a transport that closeAll() will close. */
export async function transport(config: TransportConfig): Promise<StoqTransport> {
  const t = await StoqTransport.create({ address: '::1', port: 0, idleTimeoutMs: 10_000, ...config });
  open.add(t);
  return t;
}

export async function closeAll(): Promise<void> {
  const all = [...open];
  open.clear();
  await Promise.all(all.map((t) => t.close()));
}

/** A server (with the dev certificate) and a client that trusts it, on [::1]. */
export async function loopbackPair(server: TransportConfig = {}, client: TransportConfig = {}) {
  const { cert, key } = await devCertificate();
  const s = await transport({ tls: { cert, key }, ...server });
  const c = await transport({ tls: { ca: cert }, ...client });
  return { server: s, client: c, target: `[::1]:${s.address().port}` };
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Reads a stream to its end and returns the byte count and sha256. */
export async function drainHash(stream: Readable): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).byteLength;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/**
 * Writes `total` pseudo-random bytes (a random 1 MiB block, rotated per chunk so no
 * two chunks repeat) with backpressure, ends the stream, and returns the sha256.
 */
export async function writeRandom(stream: Writable, total: number, chunkSize = 256 * 1024): Promise<string> {
  const block = randomBytes(1024 * 1024 + chunkSize);
  const hash = createHash('sha256');
  let sent = 0;
  let i = 0;
  while (sent < total) {
    const n = Math.min(chunkSize, total - sent);
    const offset = (i++ * 7919) % (1024 * 1024);
    const chunk = Buffer.from(block.subarray(offset, offset + n));
    chunk.writeUInt32BE(i, 0);
    hash.update(chunk);
    sent += n;
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  stream.end();
  return hash.digest('hex');
}

/** Resolves when `predicate` holds, polling every 20 ms; rejects after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Opens a stream, writes `bytes` of random data with writeRandom() and collects what the
 * peer answers until its FIN (the hash-server peers answer "<bytes> <sha256>").
 */
export async function hashedReply(conn: StoqConnection, bytes: number, chunkSize?: number): Promise<{ sent: string; reply: string }> {
  const stream = (await conn.openStream()) as Duplex;
  const reply: Buffer[] = [];
  stream.on('data', (c: Buffer) => reply.push(c));
  const ended = once(stream, 'end');
  const sent = await writeRandom(stream, bytes, chunkSize);
  await ended;
  return { sent, reply: Buffer.concat(reply).toString() };
}

/** `promise`, or a rejection naming `what` after `ms` (for calls that used to hang). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** A loopback pair with one connection established, both ends in hand. */
export async function connectedPair(server: TransportConfig = {}, client: TransportConfig = {}) {
  const pair = await loopbackPair(server, client);
  const accepted = once(pair.server, 'connection') as Promise<[StoqConnection]>;
  const conn = await pair.client.connect(pair.target, { serverName: 'localhost' });
  const [peer] = await accepted;
  return { ...pair, conn, peer };
}
