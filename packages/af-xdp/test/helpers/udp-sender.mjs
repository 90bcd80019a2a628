// SPDX-License-Identifier: Apache-2.0
// Runs in the peer namespace: sends `count` UDP datagrams to [address]:port, each
// payload = 4-byte big-endian sequence number followed by bytes (seq + i) & 0xff,
// of length minLength + (seq % spread). Paced in small bursts so a copy-mode ring keeps up.
// With `window`, it also never has more than `window` datagrams unacknowledged: the
// receiver writes how many it has taken ("<count>\n") to this process's stdin. Pacing
// alone is not enough when the receiver is not scheduled for a few milliseconds (the
// lent frames run out and the kernel drops what follows).
import dgram from 'node:dgram';
import { createInterface } from 'node:readline';

const [address, port, count, minLength, spread, window] = process.argv.slice(2).map((v, i) => (i === 0 ? v : Number(v)));
const STALL_MS = 10_000;
let acked = 0;
let onAck = null;
if (window) {
  createInterface({ input: process.stdin }).on('line', (line) => {
    acked = Math.max(acked, Number(line));
    onAck?.();
  });
}

/** Resolves once fewer than `window` datagrams before `seq` are unacknowledged; exits after STALL_MS without progress. */
async function withinWindow(seq) {
  while (seq - acked >= window) {
    const progressed = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), STALL_MS);
      onAck = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
    onAck = null;
    if (!progressed) {
      console.error(`udp-sender: no acknowledgement past ${acked} of ${seq} sent for ${STALL_MS} ms`);
      process.exit(3);
    }
  }
}
const socket = dgram.createSocket('udp6');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function payload(seq) {
  const length = minLength + (seq % spread);
  const bytes = Buffer.alloc(length);
  bytes.writeUInt32BE(seq, 0);
  for (let i = 4; i < length; i++) bytes[i] = (seq + i) & 0xff;
  return bytes;
}

for (let seq = 0; seq < count; seq++) {
  if (window) await withinWindow(seq);
  await new Promise((resolve, reject) => socket.send(payload(seq), port, address, (e) => (e ? reject(e) : resolve())));
  if (seq % 32 === 31) await sleep(1);
}
socket.close();
if (window) process.stdin.destroy();
