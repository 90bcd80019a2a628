// SPDX-License-Identifier: Apache-2.0
// Regression: a FIN written on its own after the data (what pipe() does on 'end')
// must reach the peer. With quiche's incremental scheduling, bare FINs of some
// streams were never sent when several connections each had several streams, and
// those streams stalled until the idle timeout.
import { afterEach, describe, expect, it } from 'vitest';
import type { Duplex } from 'node:stream';
import type { StoqConnection } from '../src/index.js';
import { closeAll, loopbackPair } from './helpers.js';

afterEach(closeAll);

/** Opens a stream, sends `payload` with its FIN, and resolves with the bytes echoed back before the peer's FIN. */
async function echo(conn: StoqConnection, payload: Buffer): Promise<number> {
  const stream = (await conn.openStream()) as Duplex;
  let bytes = 0;
  stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
  await new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('error', reject);
    stream.end(payload);
  });
  return bytes;
}

describe('bare FIN after data', () => {
  it('20 connections × 10 piped echo streams all end, well before the idle timeout', async () => {
    const { server, client, target } = await loopbackPair({ idleTimeoutMs: 30_000 }, { idleTimeoutMs: 30_000 });
    server.on('connection', (conn: StoqConnection) =>
      conn.on('stream', (peerStream) => {
        const stream = peerStream as Duplex; // the client opens bidirectional streams only
        stream.on('error', () => {});
        stream.pipe(stream); // echoes, then end() on 'end': a bare FIN after the data
      }),
    );
    const connections: StoqConnection[] = [];
    for (let i = 0; i < 20; i++) connections.push(await client.connect(target, { serverName: 'localhost' }));
    const payload = Buffer.alloc(2048, 0x5a);
    const started = performance.now();
    const results = await Promise.all(connections.flatMap((conn) => Array.from({ length: 10 }, () => echo(conn, payload))));
    expect(results).toHaveLength(200);
    expect(results.every((bytes) => bytes === payload.length)).toBe(true);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('a reply written after the peer finished, without end(), still arrives at once (the FIN hold lasts one loop turn)', async () => {
    const { server, client, target } = await loopbackPair();
    server.on('connection', (conn: StoqConnection) =>
      conn.on('stream', (stream) => {
        const duplex = stream as Duplex;
        duplex.resume();
        duplex.on('end', () => {
          duplex.write('reply');
          setTimeout(() => duplex.end(), 1500); // FIN much later
        });
      }),
    );
    const conn = await client.connect(target, { serverName: 'localhost' });
    const stream = (await conn.openStream()) as Duplex;
    const started = performance.now();
    const first = new Promise<number>((resolve) => stream.once('data', () => resolve(performance.now() - started)));
    const ended = new Promise<number>((resolve) => stream.once('end', () => resolve(performance.now() - started)));
    stream.end('request');
    expect(await first).toBeLessThan(1000); // not held until end()
    expect(await ended).toBeGreaterThanOrEqual(1400);
  });

  it('1,000 piped echo streams over 100 connections all end, none waits for the idle timeout', async () => {
    const { server, client, target } = await loopbackPair({ idleTimeoutMs: 30_000, limits: { maxConnections: 200 } }, { idleTimeoutMs: 30_000 });
    server.on('connection', (conn: StoqConnection) =>
      conn.on('stream', (stream) => {
        const duplex = stream as Duplex;
        duplex.on('error', () => {});
        duplex.pipe(duplex);
      }),
    );
    const connections: StoqConnection[] = [];
    for (let i = 0; i < 100; i++) connections.push(await client.connect(target, { serverName: 'localhost' }));
    const payload = Buffer.alloc(2048, 0x33);
    const started = performance.now();
    const results = await Promise.all(connections.flatMap((conn) => Array.from({ length: 10 }, () => echo(conn, payload))));
    expect(results.filter((bytes) => bytes === payload.length)).toHaveLength(1000);
    expect(performance.now() - started).toBeLessThan(20_000);
  }, 60_000);

  it('many writes after the peer finished arrive complete and in order (a held chunk is never overwritten)', async () => {
    const { server, client, target } = await loopbackPair();
    const reply = Buffer.from(Array.from({ length: 300 * 4096 }, (_, i) => (i * 7) & 0xff));
    server.on('connection', (conn: StoqConnection) =>
      conn.on('stream', (stream) => {
        const duplex = stream as Duplex;
        duplex.resume();
        duplex.on('end', () => {
          for (let i = 0; i < 300; i++) duplex.write(reply.subarray(i * 4096, (i + 1) * 4096));
          duplex.end();
        });
      }),
    );
    const conn = await client.connect(target, { serverName: 'localhost' });
    const stream = (await conn.openStream()) as Duplex;
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise((resolve) => stream.once('end', resolve));
    stream.end('request');
    await ended;
    expect(Buffer.concat(chunks).equals(reply)).toBe(true);
  });
});
