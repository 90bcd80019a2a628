// SPDX-License-Identifier: Apache-2.0
// Regression: a bare FIN (a FIN written after quiche already took all the data) lost
// together with an earlier packet of the same stream was never sent again.
//
// quiche 0.18 re-queues a lost zero-length FIN only if the stream was not already
// queued for sending when the loss is processed ("(is_flushable || empty_fin) &&
// !was_flushable"). When an earlier data packet of the stream is declared lost in the
// same pass (lower packet number, so processed first), the stream is queued with that
// middle range; its retransmission ends before the final offset, so it carries no FIN,
// and the stream leaves the queue with its FIN forgotten. The peer waits for the FIN
// until the idle timeout (seen as rare STOQ_ERR_IDLE_TIMEOUT under loss or reordering:
// 32 × 1 MiB echoes over AF_XDP, 512 KiB echo with 20 % reordering).
//
// Sans-IO, so the losses are exact: two endpoint cores pass datagrams through arrays,
// the test drops one middle data packet and the FIN's packet, and a later packet on
// another stream is acknowledged so that both are declared lost in one pass.
import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSelfSignedCertificate } from '../src/tls/self-signed.js';
import { normaliseConfig } from '../src/config.js';
import { EndpointCore, type CoreConnection } from '../src/core/endpoint-core.js';
import { QuicStream } from '../src/api/stream.js';

const A = { address: 'fd00::1', port: 40000 };
const B = { address: 'fd00::2', port: 9292 };
const DATA = 12_000; // ~9 packets, inside the initial congestion window

async function established() {
  const { cert, key } = await createSelfSignedCertificate({ hostnames: ['stoq.test'] });
  const server = new EndpointCore(normaliseConfig({ tls: { cert, key }, idleTimeoutMs: 30_000 }), B);
  const client = new EndpointCore(normaliseConfig({ tls: { ca: cert }, idleTimeoutMs: 30_000 }), A);
  const conn = client.connect(B, 'stoq.test', performance.now());
  let serverConn: CoreConnection | undefined;
  for (let i = 0; i < 20 && !(conn.established && serverConn?.established); i++) {
    for (const t of client.pollTransmits(performance.now(), 1000)) server.receive(t.data, A, performance.now());
    for (const t of server.pollTransmits(performance.now(), 1000)) client.receive(t.data, B, performance.now());
    for (const e of server.pollEvents()) if (e.type === 'accepted') serverConn = e.conn;
    client.pollEvents();
  }
  expect(conn.established && serverConn?.established).toBe(true);
  return { server, client, conn, serverConn: serverConn! };
}

/** Takes what `core` wants to send on `conn` now, copied (pollTransmits reuses its buffers). */
function take(core: EndpointCore, conn: CoreConnection): Buffer[] {
  core.wake(conn); // what the transport's stream host does after every streamSend
  return core.pollTransmits(performance.now(), 1000).map((t) => Buffer.from(t.data));
}

/**
 * Sends DATA bytes on client stream 0 and then a bare FIN (via `send` and `fin`), drops
 * the third data packet and the FIN's packet, and lets both sides exchange (timers
 * included) for a while, calling `activity` after the client receives, as the
 * transport does. Returns what the server read on stream 0.
 */
async function lossyBareFin(send: (q: CoreConnection) => Promise<void> | void, fin: (q: CoreConnection) => Promise<void> | void, activity: () => void = () => {}) {
  const { server, client, conn, serverConn } = await established();
  await send(conn);
  const data = take(client, conn);
  expect(data.length).toBeGreaterThanOrEqual(8);
  await fin(conn);
  const finPacket = take(client, conn);
  expect(finPacket).toHaveLength(1);
  await sleep(30); // the FIN's packet is old enough to be lost by time once a later one is acked
  conn.quiche.streamSend(4, Buffer.from('later'), false);
  const later = take(client, conn);
  expect(later).toHaveLength(1);
  // Delivered: every data packet but the third, and the later one. Dropped: the third and the FIN.
  for (const d of [...data.filter((_, i) => i !== 2), ...later]) server.receive(d, A, performance.now());
  let read = 0;
  let finished = false;
  const scratch = Buffer.alloc(65536);
  for (let round = 0; round < 40 && !finished; round++) {
    const now = performance.now();
    server.handleTimeouts(now);
    client.handleTimeouts(now);
    const toClient = take(server, serverConn);
    for (const d of toClient) client.receive(d, B, performance.now());
    if (toClient.length > 0) activity();
    for (const d of take(client, conn)) server.receive(d, A, performance.now());
    for (let r = serverConn.quiche.streamRecv(0, scratch); r !== null; r = serverConn.quiche.streamRecv(0, scratch)) {
      read += r[0];
      if (r[1]) finished = true;
    }
    await sleep(10);
  }
  return { read, finished, lost: conn.quiche.stats().lost };
}

describe('bare FIN lost together with an earlier packet of its stream', () => {
  it('quiche on its own forgets it (the bug the transport works around)', async () => {
    const r = await lossyBareFin(
      (c) => void c.quiche.streamSend(0, Buffer.alloc(DATA, 7), false),
      (c) => void c.quiche.streamSend(0, Buffer.alloc(0), true),
    );
    expect(r.lost).toBeGreaterThanOrEqual(2);
    expect(r.read).toBe(DATA); // the lost middle range was retransmitted …
    expect(r.finished).toBe(false); // … but never the FIN
  });

  it('a QuicStream ended after its data was taken still delivers the FIN', async () => {
    let stream: QuicStream | undefined;
    const r = await lossyBareFin(
      async (c) => {
        stream = new QuicStream({ quiche: c.quiche, wake: () => {}, forget: () => {} }, 0, 'bidi');
        stream.on('error', () => {});
        await new Promise<void>((resolve, reject) => stream!.write(Buffer.alloc(DATA, 7), (e) => (e ? reject(e) : resolve())));
      },
      async () => {
        stream!.end(); // nothing left to send with it: a bare FIN
        await new Promise<void>((resolve) => stream!.once('finish', resolve));
      },
      () => stream!.poke(),
    );
    expect(r.lost).toBeGreaterThanOrEqual(2);
    expect(r.read).toBe(DATA);
    expect(r.finished).toBe(true);
  });

  it('… also after the Duplex closed (a pipe() echo whose peer finished first): the connection keeps poking it', async () => {
    // Read side already over ('local-uni' pushes its end at once), so the Duplex closes as
    // soon as end() hands the bare FIN to quiche — before any loss is declared. The host
    // stands in for the connection: it pokes the streams it holds after each activity.
    let stream: QuicStream | undefined;
    let closed = false;
    const held = new Set<QuicStream>();
    const r = await lossyBareFin(
      async (c) => {
        stream = new QuicStream({ quiche: c.quiche, wake: () => {}, forget: (s) => void held.delete(s) }, 0, 'local-uni');
        held.add(stream);
        stream.on('error', () => {});
        stream.once('close', () => (closed = true));
        stream.resume();
        await new Promise<void>((resolve, reject) => stream!.write(Buffer.alloc(DATA, 7), (e) => (e ? reject(e) : resolve())));
      },
      async () => {
        stream!.end();
        await new Promise<void>((resolve) => stream!.once('close', resolve));
      },
      () => {
        for (const s of [...held]) s.poke();
      },
    );
    expect(closed).toBe(true);
    expect(r.lost).toBeGreaterThanOrEqual(2);
    expect(r.read).toBe(DATA);
    expect(r.finished).toBe(true);
    expect(held.has(stream!)).toBe(true); // quiche still holds it (its read side never finished here)
  });
});
