// SPDX-License-Identifier: Apache-2.0
// The in-process ceiling: two quiche connections (same configuration code as the
// transport) pumping packets to each other in memory, no sockets, no event loop.
import { randomBytes } from 'node:crypto';
import { quiche } from '@matrixai/quic/native/index.js';
import { normaliseConfig } from '../dist/config.js';
import { buildQuicheConfig } from '../dist/core/quiche.js';

const A = { host: 'fd00::1', port: 40000 };
const B = { host: 'fd00::2', port: 9292 };

/** Moves every packet `from` wants to send into `to`. Returns the packet count. */
function pump(from, to, fromAddr, toAddr, buf) {
  let packets = 0;
  for (;;) {
    const r = from.send(buf);
    if (r === null) return packets;
    to.recv(buf.subarray(0, r[0]), { from: fromAddr, to: toAddr });
    packets++;
  }
}

/** Sends `totalBytes` over `streams` client streams; returns MB/s (10^6 bytes). */
export function inMemoryThroughput({ cert, key }, totalBytes, streams) {
  const client = quiche.Connection.connect('stoq.test', randomBytes(16), A, B, buildQuicheConfig(normaliseConfig({ tls: { ca: cert } }), 'client'));
  const serverCfg = buildQuicheConfig(normaliseConfig({ tls: { cert, key } }), 'server');
  const buf = Buffer.alloc(1500);
  const first = client.send(buf);
  const server = quiche.Connection.accept(randomBytes(16), null, B, A, serverCfg);
  server.recv(buf.subarray(0, first[0]), { from: A, to: B });
  for (let i = 0; i < 20 && !(client.isEstablished() && server.isEstablished()); i++) {
    pump(server, client, B, A, buf);
    pump(client, server, A, B, buf);
  }
  if (!client.isEstablished()) throw new Error('in-memory handshake failed');
  const perStream = totalBytes / streams;
  const chunk = Buffer.alloc(256 * 1024, 0x5a);
  const sent = new Array(streams).fill(0);
  const readBuf = Buffer.alloc(64 * 1024);
  let received = 0;
  const started = performance.now();
  for (let rounds = 0; received < totalBytes && rounds < 10_000_000; rounds++) {
    for (let s = 0; s < streams; s++) {
      const id = s * 4;
      while (sent[s] < perStream) {
        const n = client.streamSend(id, chunk.subarray(0, Math.min(chunk.length, perStream - sent[s])), sent[s] + chunk.length >= perStream);
        if (n === null || n === 0) break;
        sent[s] += n;
      }
    }
    pump(client, server, A, B, buf);
    for (const id of server.readable()) {
      for (;;) {
        const r = server.streamRecv(id, readBuf);
        if (r === null) break;
        received += r[0];
      }
    }
    pump(server, client, B, A, buf);
  }
  const seconds = (performance.now() - started) / 1000;
  return totalBytes / 1e6 / seconds;
}
