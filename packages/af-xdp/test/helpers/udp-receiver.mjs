// SPDX-License-Identifier: Apache-2.0
// Runs in the peer namespace: binds [::]:port, prints "ready", collects up to
// `count` datagrams (or stops after timeoutMs) and prints them as one JSON line:
// [{ from, port, hex }]. The kernel drops datagrams with a bad UDP checksum, so
// arriving here proves addresses, lengths and checksum were right.
import dgram from 'node:dgram';

const [port, count, timeoutMs] = process.argv.slice(2).map(Number);
const socket = dgram.createSocket({ type: 'udp6', ipv6Only: true });
const received = [];
const finish = () => {
  clearTimeout(timer);
  socket.close();
  process.stdout.write(`${JSON.stringify(received)}\n`);
};
const timer = setTimeout(finish, timeoutMs);
socket.on('message', (msg, rinfo) => {
  received.push({ from: rinfo.address, port: rinfo.port, hex: msg.toString('hex') });
  if (received.length === count) finish();
});
socket.bind(port, '::', () => process.stdout.write('ready\n'));
