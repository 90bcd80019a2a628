// Echo transfers with content checks: write N pseudo-random bytes on a stream, read
// the echo back, compare sha256 of both directions and the byte counts.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';

export interface EchoResult {
  bytes: number;
  sentSha256: string;
  receivedBytes: number;
  receivedSha256: string;
  ms: number;
}

export async function echoTransfer(stream: Duplex, bytes: number, chunkSize = 64 * 1024): Promise<EchoResult> {
  const started = performance.now();
  const received = createHash('sha256');
  let receivedBytes = 0;
  stream.on('data', (c: Buffer) => {
    received.update(c);
    receivedBytes += c.byteLength;
  });
  const ended = once(stream, 'end');
  const sent = createHash('sha256');
  const block = randomBytes(chunkSize * 2);
  for (let offset = 0, i = 0; offset < bytes; i++) {
    const n = Math.min(chunkSize, bytes - offset);
    const start = (i * 4099) % chunkSize;
    const chunk = Buffer.from(block.subarray(start, start + n));
    chunk.writeUInt32BE(i >>> 0, 0);
    sent.update(chunk);
    offset += n;
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  stream.end();
  await ended;
  return { bytes, sentSha256: sent.digest('hex'), receivedBytes, receivedSha256: received.digest('hex'), ms: performance.now() - started };
}
