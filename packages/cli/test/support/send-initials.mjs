// Test fixture: sends argv[4] QUIC v1 Initial-shaped datagrams (1200 B, RFC 9000
// minimum) to [argv[2]]:argv[3] from one socket, then prints {sent, port}.
import { createSocket } from 'node:dgram';

const [address, port, count] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const packet = Buffer.alloc(1200);
packet[0] = 0xc0; // long header, fixed bit, type Initial
packet.writeUInt32BE(1, 1); // version 1
packet[5] = 8; // DCID length; 8 DCID bytes follow, then SCID length 0
const socket = createSocket({ type: 'udp6', ipv6Only: true });
socket.bind(0, () => {
  let sent = 0;
  const next = () => {
    if (sent === count) {
      console.log(JSON.stringify({ sent, port: socket.address().port }));
      socket.close();
      return;
    }
    sent += 1;
    socket.send(packet, port, address, (err) => (err ? (console.error(err.message), process.exit(1)) : setTimeout(next, 2)));
  };
  next();
});
