// SPDX-License-Identifier: Apache-2.0
// A message over the receiver's limits.maxMessageBytes closes the connection, but the
// messages before it still arrive, and the receiver's close says why.
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, connectedPair, within } from './helpers.js';

afterEach(closeAll);

describe('an oversized message from the peer', () => {
  it('is refused after the valid messages before it are delivered; the receiver closes with STOQ_ERR_MESSAGE_TOO_LARGE', async () => {
    const { client, conn, peer } = await connectedPair({ limits: { maxMessageBytes: 1000 } });
    const received: number[] = [];
    peer.on('message', (m: Buffer) => received.push(m[0] as number));
    const peerClosed = once(peer, 'close');
    const clientClosed = once(conn, 'close');
    // Sent back to back: all four frames usually reach the receiver in one chunk.
    const sends = [1, 2, 3].map((i) => client.send(conn, Buffer.alloc(100, i)));
    sends.push(client.send(conn, Buffer.alloc(2000)));
    await Promise.allSettled(sends);
    const [error] = await within(peerClosed, 5000, "the receiver's close");
    expect(received).toEqual([1, 2, 3]);
    expect(error).toMatchObject({ code: 'STOQ_ERR_MESSAGE_TOO_LARGE', operation: 'receive message' });
    expect(peer.closeError).toBe(error);
    const [senderError] = await within(clientClosed, 5000, "the sender's close");
    expect(senderError).toMatchObject({ code: 'STOQ_ERR_PEER_CLOSED', quicCode: 0x10, message: expect.stringMatching(/message too large/) });
  }, 15_000);
});
