// SPDX-License-Identifier: Apache-2.0
// Runs in the lab's peer namespace. Sends groups of UDP datagrams at a fixed rate on an
// absolute schedule (so timer jitter does not change the average), then prints
// { groups: [{ sent, startNs, endNs, sentAtNs? }] } with CLOCK_MONOTONIC times
// (process.hrtime); sentAtNs (each datagram's send time) only for groups with `times`.
// argv: rate (datagrams/s), then JSON [{ address, port, hex, count }].
import dgram from 'node:dgram';

const rate = Number(process.argv[2]);
const plan = JSON.parse(process.argv[3]);
const sockets = { udp6: dgram.createSocket('udp6'), udp4: dgram.createSocket('udp4') };
const send = (socket, payload, port, address) =>
  new Promise((resolve, reject) => socket.send(payload, port, address, (error) => (error ? reject(error) : resolve())));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const groups = [];
for (const { address, port, hex, count, times } of plan) {
  const socket = address.includes(':') ? sockets.udp6 : sockets.udp4;
  const payload = Buffer.from(hex, 'hex');
  const startNs = process.hrtime.bigint();
  const sentAtNs = [];
  for (let i = 0; i < count; i++) {
    const dueNs = startNs + BigInt(Math.round((i * 1e9) / rate));
    const aheadMs = Number(dueNs - process.hrtime.bigint()) / 1e6;
    if (aheadMs > 1) await sleep(aheadMs);
    await send(socket, payload, port, address);
    if (times) sentAtNs.push(String(process.hrtime.bigint()));
  }
  groups.push({ sent: count, startNs: String(startNs), endNs: String(process.hrtime.bigint()), ...(times ? { sentAtNs } : {}) });
}
sockets.udp6.close();
sockets.udp4.close();
console.log(JSON.stringify({ groups }));
