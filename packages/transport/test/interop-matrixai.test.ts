// SPDX-License-Identifier: Apache-2.0
// Interoperability with QUIC code not written here: @matrixai/quic's own QUICServer and
// QUICClient (their connection driver, their socket), talking to StoqTransport.
import { afterEach, describe, expect, it } from 'vitest';
import { createHmac, randomBytes, webcrypto } from 'node:crypto';
import { QUICClient, QUICServer, events as quicEvents } from '@matrixai/quic';
import type { QUICConnection, QUICStream } from '@matrixai/quic';
import { closeAll, devCertificate, sha256, transport, waitFor } from './helpers.js';

const hmacKey = randomBytes(32);
const serverCrypto = {
  key: hmacKey.buffer.slice(hmacKey.byteOffset, hmacKey.byteOffset + hmacKey.byteLength),
  ops: {
    async sign(key: ArrayBuffer, data: ArrayBuffer): Promise<ArrayBuffer> {
      const mac = createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest();
      return mac.buffer.slice(mac.byteOffset, mac.byteOffset + mac.byteLength);
    },
    async verify(key: ArrayBuffer, data: ArrayBuffer, sig: ArrayBuffer): Promise<boolean> {
      const mac = createHmac('sha256', Buffer.from(key)).update(Buffer.from(data)).digest();
      return mac.equals(Buffer.from(sig));
    },
  },
};
const clientCrypto = { ops: { async randomBytes(data: ArrayBuffer) { webcrypto.getRandomValues(new Uint8Array(data)); } } };

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as unknown as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await closeAll();
});

describe('interoperability with @matrixai/quic', () => {
  it('StoqTransport client ↔ @matrixai/quic QUICServer: handshake and stream data both ways', async () => {
    const { cert, key } = await devCertificate();
    const server = new QUICServer({
      crypto: serverCrypto,
      config: { key, cert, verifyPeer: false, applicationProtos: ['stoq'] },
    });
    // Their server echoes each stream reversed, so the data provably passed through their code.
    server.addEventListener(quicEvents.EventQUICServerConnection.name, (evt: Event) => {
      const conn = (evt as quicEvents.EventQUICServerConnection).detail as QUICConnection;
      conn.addEventListener(quicEvents.EventQUICConnectionStream.name, (sevt: Event) => {
        const stream = (sevt as quicEvents.EventQUICConnectionStream).detail as QUICStream;
        void (async () => {
          const data = await readAll(stream.readable);
          const writer = stream.writable.getWriter();
          await writer.write(Buffer.from(data).reverse());
          await writer.close();
        })();
      });
    });
    await server.start({ host: '::1', port: 0 });
    cleanups.push(() => server.stop({ force: true }));

    const client = await transport({ tls: { ca: cert } });
    const conn = await client.connect(`[::1]:${server.port}`, { serverName: 'localhost' });
    expect(conn.alpn).toBe('stoq');
    const payload = randomBytes(3 * 1024 * 1024);
    const stream = await conn.openStream();
    const reply: Buffer[] = [];
    stream.on('data', (c: Buffer) => reply.push(c));
    const ended = new Promise((resolve) => stream.once('end', resolve));
    stream.end(payload);
    await ended;
    expect(sha256(Buffer.concat(reply))).toBe(sha256(Buffer.from(payload).reverse()));
    await conn.close();
  }, 60_000);

  it('@matrixai/quic QUICClient ↔ StoqTransport server: handshake with verification and stream data both ways', async () => {
    const { cert } = await devCertificate();
    const server = await transport({ tls: { ...(await devCertificate()) } });
    server.on('connection', (peer) =>
      peer.on('stream', (s) => {
        const chunks: Buffer[] = [];
        s.on('data', (c: Buffer) => chunks.push(c));
        s.on('end', () => (s as import('node:stream').Duplex).end(sha256(Buffer.concat(chunks))));
      }),
    );
    const client = await QUICClient.createQUICClient({
      host: '::1',
      port: server.address().port,
      serverName: 'localhost',
      localHost: '::1',
      crypto: clientCrypto,
      config: { verifyPeer: true, ca: cert, applicationProtos: ['stoq'] },
    });
    cleanups.push(() => client.destroy({ force: true }));
    const payload = randomBytes(2 * 1024 * 1024);
    const stream = client.connection.newStream();
    const writer = stream.writable.getWriter();
    const replyP = readAll(stream.readable);
    await writer.write(payload);
    await writer.close();
    expect((await replyP).toString()).toBe(sha256(payload));
    await waitFor(() => server.stats().connections === 1, 1000, 'one connection on our side');
  }, 60_000);
});
