// Child-process entry: the demo's client, run inside the lab's client namespace.
// argv: <server address> <port> <certPath> <bulkBytes> <echoRounds>
// Sends bulkBytes on one stream (progress as it goes), checks the server's sha256,
// then measures request/response latency with 64-byte echoes.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { StoqTransport } from '@stoq/transport';
import { drained } from '../drained.js';
import { DEMO_SERVER_NAME, emit, STREAM_BULK, STREAM_ECHO } from './protocol.js';

const [address = '', portText = '9292', certPath = '', bulkText = '67108864', roundsText = '500'] = process.argv.slice(2);
const CHUNK = 64 * 1024;

async function readAll(stream: Duplex): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}

async function bulk(stream: Duplex, total: number): Promise<void> {
  const block = randomBytes(CHUNK * 2);
  const hash = createHash('sha256');
  const started = performance.now();
  stream.write(Buffer.from([STREAM_BULK]));
  let sent = 0;
  let lastReport = 0;
  while (sent < total) {
    const size = Math.min(CHUNK, total - sent);
    const offset = (sent / CHUNK) % CHUNK; // rotate so chunks differ
    const chunk = block.subarray(offset, offset + size);
    hash.update(chunk);
    sent += size;
    if (!stream.write(chunk)) await drained(stream, 'the stream');
    if (sent - lastReport >= 1 << 20 || sent === total) {
      lastReport = sent;
      emit({ type: 'progress', bytes: sent });
    }
  }
  stream.end();
  const answer = JSON.parse((await readAll(stream)).toString()) as { bytes: number; sha256: string };
  emit({
    type: 'bulk-done',
    bytes: sent,
    seconds: (performance.now() - started) / 1000,
    sha256: hash.digest('hex'),
    serverSha256: answer.sha256,
    serverBytes: answer.bytes,
  });
}

async function echoLatency(stream: Duplex, rounds: number): Promise<void> {
  const request = randomBytes(64);
  stream.write(Buffer.from([STREAM_ECHO]));
  const samplesUs: number[] = [];
  const iterator = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    stream.write(request);
    let got = 0;
    while (got < request.byteLength) {
      const { value, done } = await iterator.next();
      if (done) throw new Error('echo stream ended early');
      got += value.byteLength;
    }
    samplesUs.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  stream.end();
  emit({ type: 'latency-done', samplesUs });
}

async function main(): Promise<void> {
  const transport = await StoqTransport.create({ address: '::', port: 0, tls: { ca: readFileSync(certPath, 'utf8') } });
  try {
    const conn = await transport.connect(`[${address}]:${portText}`, { serverName: DEMO_SERVER_NAME });
    await bulk(await conn.openStream(), Number(bulkText));
    await echoLatency(await conn.openStream(), Number(roundsText));
    await conn.close();
  } finally {
    await transport.close();
  }
}

main().catch((err: Error & { code?: string }) => {
  emit({ type: 'error', message: err.message, ...(err.code ? { code: err.code } : {}) });
  process.exitCode = 1;
});
