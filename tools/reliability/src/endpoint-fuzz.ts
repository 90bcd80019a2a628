// Mutation fuzzing of a live endpoint over UDP on [::1]: a corpus of real datagrams
// is captured from one handshake plus a short transfer through the recording relay,
// then mutated datagrams are fired at the server from several source ports while a
// legitimate connection stays open. Used by the CI sample and the long script.
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { createSelfSignedCertificate, StoqTransport, type StoqConnection } from '@stoq/transport';
import { startRelay, type Captured } from './capture.js';
import { mutate, prng, type Mutation } from './mutate.js';
import { echoTransfer } from './transfer.js';

export interface FuzzTarget {
  server: StoqTransport;
  client: StoqTransport;
  live: StoqConnection;
  corpus: Captured[];
  close(): Promise<void>;
}

function echoServer(t: StoqTransport): void {
  t.on('connection', (conn) => {
    conn.on('stream', (s) => {
      s.on('error', () => {});
      if ('write' in s) s.pipe(s);
      else s.resume();
    });
  });
}

export async function createFuzzTarget(idleTimeoutMs = 3000): Promise<FuzzTarget> {
  const tls = await createSelfSignedCertificate({ hostnames: ['stoq.test'] });
  const server = await StoqTransport.create({ address: '::1', port: 0, tls, idleTimeoutMs });
  const client = await StoqTransport.create({ address: '::1', port: 0, tls: { ca: tls.cert }, idleTimeoutMs: 60_000 });
  echoServer(server);
  const relay = await startRelay(server.address().port);
  const captureConn = await client.connect(`[::1]:${relay.port}`, { serverName: 'stoq.test' });
  await echoTransfer(await captureConn.openStream(), 64 * 1024);
  await captureConn.close();
  await relay.close();
  const live = await client.connect(`[::1]:${server.address().port}`, { serverName: 'stoq.test' });
  // A short server idle timeout makes fuzz-made connections go quickly; the long-lived
  // connection sends a keep-alive message every 500 ms so it is not one of them (waits
  // for those to drain can outlast the timeout on a loaded machine).
  const keepAlive = setInterval(() => void client.send(live, Buffer.from('keep-alive')).catch(() => {}), 500);
  keepAlive.unref();
  return {
    server, client, live, corpus: relay.captured,
    close: async () => {
      clearInterval(keepAlive);
      await Promise.all([client.close(), server.close()]);
    },
  };
}

export interface FuzzReport {
  datagrams: number;
  bytes: number;
  byMutation: Partial<Record<Mutation, number>>;
}

/** Sends `count` mutated datagrams from `sources` sockets, yielding to the loop in batches. */
export async function fuzzEndpoint(port: number, corpus: readonly Captured[], count: number, seed: number, sources = 8): Promise<FuzzReport> {
  const rnd = prng(seed);
  const datas = corpus.map((c) => c.data);
  const sockets: Socket[] = [];
  for (let i = 0; i < sources; i++) {
    const s = createSocket({ type: 'udp6', ipv6Only: true });
    s.on('message', () => {}); // whatever the server answers is dropped
    s.bind(0, '::1');
    await once(s, 'listening');
    sockets.push(s);
  }
  const report: FuzzReport = { datagrams: 0, bytes: 0, byMutation: {} };
  try {
    for (let i = 0; i < count; i++) {
      const seedPacket = datas[Math.floor(rnd() * datas.length)]!;
      const { kind, data } = mutate(seedPacket, datas, rnd);
      report.byMutation[kind] = (report.byMutation[kind] ?? 0) + 1;
      report.datagrams++;
      report.bytes += data.length;
      sockets[i % sources]!.send(data, port, '::1');
      if (i % 64 === 63) await new Promise((r) => setTimeout(r, 1)); // bounded rate: let the endpoint keep up
    }
  } finally {
    await new Promise((r) => setTimeout(r, 50));
    for (const s of sockets) s.close();
  }
  return report;
}

/** The endpoint still works: the live connection echoes and a new handshake succeeds. */
export async function healthy(target: FuzzTarget): Promise<boolean> {
  const r1 = await echoTransfer(await target.live.openStream(), 16 * 1024);
  const fresh = await target.client.connect(`[::1]:${target.server.address().port}`, { serverName: 'stoq.test' });
  const r2 = await echoTransfer(await fresh.openStream(), 16 * 1024);
  await fresh.close();
  return r1.receivedSha256 === r1.sentSha256 && r2.receivedSha256 === r2.sentSha256;
}
