#!/usr/bin/env node
// A STOQ peer run as a separate process inside a lab namespace (so it can be killed,
// and so traffic crosses the veth). Prints one "READY <json>" line when set up.
//   peer server  <address> <port> <certFile> <keyFile> <idleMs> [nogso]   echo server (streams, messages)
//   peer clients <target> <count> <caFile> <idleMs>               holds <count> connections open
import { readFileSync } from 'node:fs';
import { StoqTransport } from '@stoq/transport';

const [mode, ...args] = process.argv.slice(2);

async function server(address: string, port: string, certFile: string, keyFile: string, idleMs: string, gso = 'gso') {
  const t = await StoqTransport.create({
    address,
    port: Number(port),
    tls: { cert: readFileSync(certFile), key: readFileSync(keyFile) },
    idleTimeoutMs: Number(idleMs),
    udpGso: gso !== 'nogso',
    limits: { maxConnections: 4096, maxStreamsBidi: 1000 },
  });
  t.on('connection', (conn) => {
    conn.on('stream', (stream) => {
      stream.on('error', () => {});
      if ('write' in stream) stream.pipe(stream); // unidirectional streams are only drained
      else stream.resume();
    });
    conn.on('message', (m: Buffer) => void t.send(conn, m).catch(() => {}));
  });
  process.on('SIGTERM', () => void t.close().then(() => process.exit(0)));
  return { port: t.address().port };
}

async function clients(target: string, count: string, caFile: string, idleMs: string) {
  const t = await StoqTransport.create({
    address: '::', port: 0, tls: { ca: readFileSync(caFile) }, idleTimeoutMs: Number(idleMs), limits: { maxConnections: 4096 },
  });
  for (let i = 0; i < Number(count); i++) {
    const conn = await t.connect(target, { serverName: 'stoq.test' });
    conn.on('close', () => {});
  }
  return { connections: Number(count) };
}

const ready = mode === 'server'
  ? await server(...(args as [string, string, string, string, string, string?]))
  : mode === 'clients'
    ? await clients(...(args as [string, string, string, string]))
    : (console.error('usage: peer server|clients …'), process.exit(2));
process.stdout.write(`READY ${JSON.stringify(ready)}\n`);
