// Child-process entry: an IPv4 UDP flood, bounded in count and time, aimed at the
// demo server's IPv4 address inside the lab. stoq_xdp must drop all of it.
// argv: <address4> <port> <count> <maxMs>
import { createSocket } from 'node:dgram';

const [address = '', portText = '9292', countText = '20000', maxMsText = '5000'] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const deadline = Date.now() + Number(maxMsText);
const socket = createSocket('udp4');
const payload = Buffer.alloc(1200, 0xc3); // looks like a QUIC long header to anything that peeks

let sent = 0;
let inFlight = 0;
function pump(): void {
  while (sent < count && inFlight < 256 && Date.now() < deadline) {
    inFlight += 1;
    sent += 1;
    socket.send(payload, port, address, (err) => {
      inFlight -= 1;
      if (err) {
        console.error(`flood: send failed: ${err.message}`);
        process.exitCode = 1;
      }
      if (inFlight === 0 && (sent >= count || Date.now() >= deadline)) finish();
      else if (inFlight < 128) setImmediate(pump);
    });
  }
}
function finish(): void {
  socket.close();
  process.stdout.write(JSON.stringify({ sent }) + '\n');
}
// Nothing to send (--flood 0): still report, the demo waits for this line.
if (count > 0) pump();
else finish();
