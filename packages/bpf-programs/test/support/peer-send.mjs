// SPDX-License-Identifier: Apache-2.0
// Peer-side sender run with plain node inside the lab's namespace (JS, so it needs
// no TypeScript loader): sends COUNT datagrams of PAYLOAD_HEX to ADDRESS:PORT, then exits.
import { createSocket } from 'node:dgram';

const [address = '', port = '0', count = '1', payloadHex = '40'] = process.argv.slice(2);
const family = address.includes(':') ? 'udp6' : 'udp4';
const socket = createSocket(family);
const payload = Buffer.from(payloadHex, 'hex');
let left = Number(count);
const sendNext = () => {
  if (left-- <= 0) {
    socket.close();
    return;
  }
  socket.send(payload, Number(port), address, (err) => {
    if (err) throw err;
    setTimeout(sendNext, 5);
  });
};
sendNext();
