// SPDX-License-Identifier: Apache-2.0
// The two benchmark clients with identical workloads: StoqTransport and @matrixai/quic.
import { once } from 'node:events';
import { webcrypto } from 'node:crypto';
import { QUICClient } from '@matrixai/quic';
import { StoqTransport } from '../dist/index.js';

const CHUNK = Buffer.alloc(256 * 1024, 0x5a);

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function summarise(latenciesUs) {
  const s = [...latenciesUs].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99) };
}

export async function stoqClient({ localAddress, target, ca, udpGso = true }) {
  const transport = await StoqTransport.create({ address: localAddress, port: 0, tls: { ca }, udpGso });
  const conn = await transport.connect(target, { serverName: 'stoq.test' });
  async function upload(bytes) {
    const stream = await conn.openStream();
    const reply = [];
    stream.on('data', (c) => reply.push(c));
    const ended = once(stream, 'end');
    for (let sent = 0; sent < bytes; sent += CHUNK.length) {
      if (!stream.write(CHUNK.subarray(0, Math.min(CHUNK.length, bytes - sent)))) await once(stream, 'drain');
    }
    stream.end();
    await ended;
    return Buffer.concat(reply);
  }
  return {
    name: 'stoq',
    /** UDP GSO segment size the client's socket sends with (0: off). */
    gsoSegmentSize: () => transport.stats().datapaths[0].gsoSegmentSize,
    async bulk(totalBytes, streams) {
      const started = performance.now();
      const replies = await Promise.all(Array.from({ length: streams }, () => upload(totalBytes / streams)));
      const seconds = (performance.now() - started) / 1000;
      if (replies.some((r) => Number(r.toString()) !== totalBytes / streams)) throw new Error('stoq: bulk byte count mismatch');
      return totalBytes / 1e6 / seconds;
    },
    async rpc(count, size) {
      const request = Buffer.alloc(size, 0x42);
      const latencies = [];
      for (let i = 0; i < count; i++) {
        const t0 = performance.now();
        const reply = await upload(size);
        latencies.push((performance.now() - t0) * 1000);
        if (reply.length !== size) throw new Error('stoq: rpc reply size mismatch');
      }
      void request;
      return summarise(latencies);
    },
    close: () => transport.close(),
  };
}

export async function matrixaiClient({ localAddress, host, port, ca }) {
  const client = await QUICClient.createQUICClient({
    host, port, localHost: localAddress, serverName: 'stoq.test',
    crypto: { ops: { randomBytes: async (data) => void webcrypto.getRandomValues(new Uint8Array(data)) } },
    config: {
      verifyPeer: true, ca, applicationProtos: ['stoq'],
      initialMaxData: 16 * 1024 * 1024, initialMaxStreamDataBidiLocal: 4 * 1024 * 1024, initialMaxStreamDataBidiRemote: 4 * 1024 * 1024,
    },
  });
  async function upload(bytes) {
    const stream = client.connection.newStream();
    const readP = (async () => {
      const chunks = [];
      for await (const c of stream.readable) chunks.push(Buffer.from(c));
      return Buffer.concat(chunks);
    })();
    const writer = stream.writable.getWriter();
    for (let sent = 0; sent < bytes; sent += CHUNK.length) {
      await writer.write(CHUNK.subarray(0, Math.min(CHUNK.length, bytes - sent)));
    }
    await writer.close();
    return readP;
  }
  return {
    name: '@matrixai/quic',
    async bulk(totalBytes, streams) {
      const started = performance.now();
      const replies = await Promise.all(Array.from({ length: streams }, () => upload(totalBytes / streams)));
      const seconds = (performance.now() - started) / 1000;
      if (replies.some((r) => Number(r.toString()) !== totalBytes / streams)) throw new Error('matrixai: bulk byte count mismatch');
      return totalBytes / 1e6 / seconds;
    },
    async rpc(count, size) {
      const latencies = [];
      for (let i = 0; i < count; i++) {
        const t0 = performance.now();
        const reply = await upload(size);
        latencies.push((performance.now() - t0) * 1000);
        if (reply.length !== size) throw new Error('matrixai: rpc reply size mismatch');
      }
      return summarise(latencies);
    },
    close: () => client.destroy({ force: true }),
  };
}
