// SPDX-License-Identifier: Apache-2.0
// Writes a close or destroy cuts off fail with a typed error, and a write after end()
// fails alone: what end() already flushed still reaches the peer, with its FIN.
import { once } from 'node:events';
import type { Duplex, Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, connectedPair, within } from './helpers.js';

afterEach(closeAll);

const CHUNK = 64 * 1024;
const WRITES = 32;

/** A stream with writes pending behind the peer's small, unread flow-control window. */
async function stalledWrites() {
  const pair = await connectedPair({ limits: { maxStreamData: 256 * 1024, maxData: 1 << 20 } });
  pair.peer.on('stream', (s: Readable) => {
    s.on('error', () => {});
    s.pause();
  });
  const stream = await pair.conn.openStream();
  stream.on('error', () => {});
  const results: Promise<unknown>[] = [];
  for (let i = 0; i < WRITES; i++) {
    results.push(new Promise((resolve) => stream.write(Buffer.alloc(CHUNK, i), (error) => resolve(error ?? 'ok'))));
  }
  await new Promise((r) => setTimeout(r, 200));
  return { ...pair, stream, results: Promise.all(results) };
}

describe('writes cut off by a close or destroy', () => {
  it.each([
    ['conn.close()', (p: Awaited<ReturnType<typeof stalledWrites>>) => void p.conn.close()],
    ['transport.close()', (p: Awaited<ReturnType<typeof stalledWrites>>) => void p.client.close()],
    ['stream.destroy()', (p: Awaited<ReturnType<typeof stalledWrites>>) => void p.stream.destroy()],
  ])('%s fails every pending write with STOQ_ERR_CLOSED', async (_name, cut) => {
    const pair = await stalledWrites();
    cut(pair);
    const results = await within(pair.results, 5000, 'the write callbacks');
    const failed = results.filter((r) => r !== 'ok');
    expect(failed.length).toBeGreaterThan(0);
    for (const error of failed) expect(error).toMatchObject({ code: 'STOQ_ERR_CLOSED', name: 'StoqClosedError' });
  }, 15_000);
});

describe('a write after end()', () => {
  it('fails with ERR_STREAM_WRITE_AFTER_END, but the ended data and the FIN still reach the peer', async () => {
    const { conn, peer } = await connectedPair();
    const arrived = once(peer, 'stream') as Promise<[Duplex]>;
    const stream = await conn.openStream();
    const errors: unknown[] = [];
    stream.on('error', (e) => errors.push(e));
    stream.end('ended data');
    const writeError = new Promise((resolve) => stream.write('too late', resolve));
    expect(await writeError).toMatchObject({ code: 'ERR_STREAM_WRITE_AFTER_END' });
    const [peerStream] = await within(arrived, 3000, 'the peer stream');
    const chunks: Buffer[] = [];
    peerStream.on('data', (c: Buffer) => chunks.push(c));
    const peerError = new Promise((resolve) => peerStream.once('error', resolve));
    const ended = once(peerStream, 'end');
    await within(Promise.race([ended, peerError.then((e) => Promise.reject(e))]), 3000, "the peer's end");
    expect(Buffer.concat(chunks).toString()).toBe('ended data');
    expect(errors).toMatchObject([{ code: 'ERR_STREAM_WRITE_AFTER_END' }]);
  }, 15_000);
});
