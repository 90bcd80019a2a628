// SPDX-License-Identifier: Apache-2.0
// Benchmark baseline peer: @matrixai/quic's own QUICServer with the same behaviour as
// stoq-peer.mjs (echo small requests, answer bulk uploads with their byte count).
// argv: address port certFile keyFile. Prints "READY <port>".
import { readFileSync } from 'node:fs';
import { createHmac, randomBytes } from 'node:crypto';
import { QUICServer, events } from '@matrixai/quic';

const [address, port, certFile, keyFile] = process.argv.slice(2);
const key = randomBytes(32);
const server = new QUICServer({
  crypto: {
    key: key.buffer.slice(key.byteOffset, key.byteOffset + 32),
    ops: {
      sign: async (k, d) => new Uint8Array(createHmac('sha256', Buffer.from(k)).update(Buffer.from(d)).digest()).buffer,
      verify: async (k, d, s) => createHmac('sha256', Buffer.from(k)).update(Buffer.from(d)).digest().equals(Buffer.from(s)),
    },
  },
  config: {
    key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), verifyPeer: false, applicationProtos: ['stoq'],
    initialMaxData: 16 * 1024 * 1024, initialMaxStreamDataBidiRemote: 4 * 1024 * 1024, initialMaxStreamDataBidiLocal: 4 * 1024 * 1024,
  },
});
server.addEventListener(events.EventQUICServerConnection.name, (evt) => {
  evt.detail.addEventListener(events.EventQUICConnectionStream.name, (sevt) => {
    const stream = sevt.detail;
    void (async () => {
      const chunks = [];
      let bytes = 0;
      for await (const c of stream.readable) {
        bytes += c.byteLength;
        if (bytes < 4096) chunks.push(Buffer.from(c));
      }
      const writer = stream.writable.getWriter();
      await writer.write(bytes < 4096 ? Buffer.concat(chunks) : Buffer.from(String(bytes)));
      await writer.close();
    })().catch(() => {});
  });
});
await server.start({ host: address, port: Number(port) });
process.stdout.write(`READY ${server.port}\n`);
