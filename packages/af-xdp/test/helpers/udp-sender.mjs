// SPDX-License-Identifier: Apache-2.0
// Runs in the peer namespace: sends `count` UDP datagrams to [address]:port, each
// payload = 4-byte big-endian sequence number followed by bytes (seq + i) & 0xff,
// of length minLength + (seq % spread). Paced in small bursts so a copy-mode ring keeps up.
import dgram from 'node:dgram';

const [address, port, count, minLength, spread] = process.argv.slice(2).map((v, i) => (i === 0 ? v : Number(v)));
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
  await new Promise((resolve, reject) => socket.send(payload(seq), port, address, (e) => (e ? reject(e) : resolve())));
  if (seq % 32 === 31) await sleep(1);
}
socket.close();
