// Many connections and streams against one server on [::1]: connections are opened
// with bounded concurrency and held; then every connection opens its streams at once,
// each stream echoes a small payload that is checked byte for byte.
import { createHash, randomBytes } from 'node:crypto';
import { createSelfSignedCertificate, StoqTransport, type StoqConnection } from '@stoq/transport';

export interface LoadOptions {
  connections: number;
  streamsPerConnection: number;
  bytesPerStream: number;
  /** streams go on the first this-many connections (default: all) */
  streamConnections?: number;
  /** handshakes in flight at once */
  concurrency?: number;
}

export interface LoadResult {
  connectionsHeld: number;
  serverConnections: number;
  /** 'connection' events the server emitted, and 'stream' events it got */
  serverConnectionEvents: number;
  serverStreamEvents: number;
  streamsOk: number;
  streamsFailed: number;
  bytesLost: number;
  handshakeMs: number;
  streamsMs: number;
  firstError?: string;
}

async function echo(conn: StoqConnection, payload: Buffer): Promise<number> {
  const s = await conn.openStream();
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    s.once('end', resolve);
    s.once('error', reject);
  });
  s.end(payload);
  await done;
  const back = Buffer.concat(chunks);
  return createHash('sha256').update(back).digest('hex') === createHash('sha256').update(payload).digest('hex') ? 0 : Math.abs(payload.length - back.length) || payload.length;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const tls = await createSelfSignedCertificate({ hostnames: ['stoq.test'] });
  const limits = { maxConnections: o.connections + 16, maxStreamsBidi: Math.max(100, o.streamsPerConnection) };
  const server = await StoqTransport.create({ address: '::1', port: 0, tls, idleTimeoutMs: 60_000, limits });
  const client = await StoqTransport.create({ address: '::1', port: 0, tls: { ca: tls.cert }, idleTimeoutMs: 60_000, limits });
  let emitted = 0;
  let serverStreams = 0;
  server.on('connection', (c) => {
    emitted++;
    c.on('stream', (s) => {
      serverStreams++;
      s.on('error', () => {});
      if ('write' in s) s.pipe(s);
    });
  });
  const target = `[::1]:${server.address().port}`;
  const conns: StoqConnection[] = [];
  let firstError: string | undefined;
  try {
    const t0 = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: o.concurrency ?? 32 }, async () => {
      while (next < o.connections) {
        next++;
        conns.push(await client.connect(target, { serverName: 'stoq.test' }));
      }
    }));
    const handshakeMs = performance.now() - t0;
    const serverConnections = server.stats().connections;
    const payload = randomBytes(o.bytesPerStream);
    const t1 = performance.now();
    let ok = 0, failed = 0, lost = 0;
    await Promise.all(conns.slice(0, o.streamConnections ?? conns.length).map(async (c) => {
      const results = await Promise.allSettled(Array.from({ length: o.streamsPerConnection }, () => echo(c, payload)));
      for (const r of results) {
        if (r.status === 'fulfilled' && r.value === 0) ok++;
        else {
          failed++;
          if (r.status === 'fulfilled') lost += r.value;
          else firstError ??= String(r.reason);
        }
      }
    }));
    return { connectionsHeld: conns.length, serverConnections, serverConnectionEvents: emitted, serverStreamEvents: serverStreams, streamsOk: ok, streamsFailed: failed, bytesLost: lost, handshakeMs, streamsMs: performance.now() - t1, ...(firstError ? { firstError } : {}) };
  } finally {
    await client.close();
    await server.close();
  }
}
