// SPDX-License-Identifier: Apache-2.0
// Benchmark peer (StoqTransport server, built dist). Per stream: small requests
// (< 4 KiB) are echoed back, bulk uploads are answered with their byte count.
// argv: address port certFile keyFile [gso|nogso]. Prints "READY <port> gso=<segment size, 0 = off>".
import { readFileSync } from 'node:fs';
import { StoqTransport } from '../../dist/index.js';

const [address, port, certFile, keyFile, gso = 'gso'] = process.argv.slice(2);
const transport = await StoqTransport.create({
  address, port: Number(port), tls: { cert: readFileSync(certFile), key: readFileSync(keyFile) }, udpGso: gso === 'gso',
});
transport.on('connection', (conn) => {
  conn.on('stream', (stream) => {
    const chunks = [];
    let bytes = 0;
    stream.on('data', (c) => {
      bytes += c.length;
      if (bytes < 4096) chunks.push(c);
    });
    stream.on('end', () => stream.end(bytes < 4096 ? Buffer.concat(chunks) : String(bytes)));
    stream.on('error', () => {});
  });
});
process.stdout.write(`READY ${transport.address().port} gso=${transport.stats().datapaths[0].gsoSegmentSize}\n`);
process.on('SIGTERM', () => void transport.close().then(() => process.exit(0)));
