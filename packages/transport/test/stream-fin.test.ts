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
    const echo = async (conn: StoqConnection): Promise<number> => {
      const stream = (await conn.openStream()) as Duplex;
      let bytes = 0;
      stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
      await new Promise<void>((resolve, reject) => {
        stream.once('end', resolve);
        stream.once('error', reject);
        stream.end(payload);
      });
      return bytes;
    };
    const started = performance.now();
    const results = await Promise.all(connections.flatMap((conn) => Array.from({ length: 10 }, () => echo(conn))));
    expect(results).toHaveLength(200);
    expect(results.every((bytes) => bytes === payload.length)).toBe(true);
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
