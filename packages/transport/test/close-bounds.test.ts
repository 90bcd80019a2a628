// SPDX-License-Identifier: Apache-2.0
// conn.close() always ends: a close quiche cannot send (handshake not yet confirmed)
// neither hangs nor floods the network, a long reason is cut to fit one packet, and bad
// arguments are typed errors instead of a quiche panic or a promise that never settles.
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, connectedPair, within } from './helpers.js';

afterEach(closeAll);

describe('conn.close() is bounded', () => {
  it('right after connect() with data in flight: resolves at once, sends a few datagrams (not a storm), and the peer learns', async () => {
    const { client, conn, peer } = await connectedPair();
    peer.on('message', () => {});
    const peerClosed = once(peer, 'close');
    // Queued just before the close, while the client is established but not yet
    // confirmed: quiche used to produce Handshake-space packets without the close.
    for (let i = 0; i < 3; i++) client.send(conn, randomBytes(1 << 20)).catch(() => {});
    await new Promise((r) => setImmediate(r));
    const sentBefore = client.stats().endpoint.txDatagrams;
    const started = performance.now();
    await within(conn.close(), 4000, 'conn.close()');
    expect(performance.now() - started).toBeLessThan(3500);
    expect(conn.closed).toBe(true);
    // The close waited for the server's HANDSHAKE_DONE instead of getting stuck.
    expect(conn.closeError).toBeNull();
    expect(client.stats().endpoint.txDatagrams - sentBefore).toBeLessThan(500);
    expect(client.stats().connections).toBe(0);
    const [error] = await within(peerClosed, 4000, "the peer's close");
    expect(error).toMatchObject({ code: 'STOQ_ERR_PEER_CLOSED', quicCode: 0 });
  }, 15_000);

  it('a reason longer than a packet is cut to 1024 UTF-8 bytes on a character boundary, and the close reaches the peer', async () => {
    const { conn, peer } = await connectedPair();
    const peerClosed = once(peer, 'close');
    // 'x' then 2-byte characters: byte 1024 is the middle of one, so 1023 bytes are kept.
    const reason = 'x' + 'é'.repeat(700);
    await within(conn.close(7, reason), 4000, 'conn.close(7, long reason)');
    expect(conn.closeError).toBeNull();
    const [error] = await within(peerClosed, 4000, "the peer's close event");
    expect(error).toMatchObject({ code: 'STOQ_ERR_PEER_CLOSED', quicCode: 7 });
    expect(error.message).toBe(`connection closed by the peer with application code 7: x${'é'.repeat(511)}`);
  }, 15_000);
});

describe('conn.close() checks its arguments', () => {
  it.each([
    [[-1], /code must be an integer in 0\.\.2\^62-1, got number -1/],
    [[2 ** 62], /code must be an integer/],
    [[1.5], /code must be an integer/],
    [['1'], /got string "1"/],
    [[null], /got null/],
    [[0, 42], /reason must be a string, got number 42/],
    [[0, null], /reason must be a string, got null/],
  ])('close(...%j) rejects with STOQ_ERR_INVALID_CONFIG and leaves the connection open', async (args, message) => {
    const { conn } = await connectedPair();
    const close = conn.close as (...a: unknown[]) => Promise<void>;
    const error = await within(close.apply(conn, args).then(() => null, (e: unknown) => e), 2000, `close(${JSON.stringify(args)})`);
    expect(error).toMatchObject({ code: 'STOQ_ERR_INVALID_CONFIG', operation: 'close', message: expect.stringMatching(message) });
    expect(conn.closed).toBe(false);
    await conn.sendMessage(Buffer.from('still open'));
    await within(conn.close(2 ** 62 - 512, 'largest code'), 4000, 'a valid close afterwards');
    expect(conn.closeError).toBeNull();
  }, 15_000);
});
