// SPDX-License-Identifier: Apache-2.0
// Runs in the lab's peer namespace: sends `count` UDP datagrams of `length` bytes to
// [address]:port, paced in bursts of 16 so a copy-mode RX ring keeps up.
import dgram from 'node:dgram';

const [address, port, count, length] = process.argv.slice(2);
const socket = dgram.createSocket('udp6');
for (let seq = 0; seq < Number(count); seq++) {
  const payload = Buffer.alloc(Number(length));
  payload.writeUInt32BE(seq, 0);
  await new Promise((resolve, reject) => socket.send(payload, Number(port), address, (e) => (e ? reject(e) : resolve())));
  if (seq % 16 === 15) await new Promise((resolve) => setTimeout(resolve, 1));
}
socket.close();
