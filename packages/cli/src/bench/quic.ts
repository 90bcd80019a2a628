// Tables 2 and 3 over QUIC: bulk throughput per write size and request/response
// latency (idle and under load), against `stoq serve` in the peer namespace — the
// same receipt-checked file and echo streams a user gets. The eBPF column runs both
// ends with --datapath xdp; until the transport can, it records why not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Lab } from '@stoq/netlab';
import { StoqTransport, type DatapathChoice, type EbpfStatus, type StoqConnection } from '@stoq/transport';
import { drained } from '../drained.js';
import { KIND_ECHO, KIND_FILE, type Receipt } from '../net/file-protocol.js';

const STOQ = fileURLToPath(new URL('../main.js', import.meta.url));
const SERVER_NAME = 'stoq-bench.test';

export interface ThroughputSample { messageBytes: number; bytes: number; seconds: number; gbps: number; intact: boolean }
export interface LatencySamples { idleUs: number[]; loadedUs: number[]; loadGbps: number }
export interface QuicResult {
  datapath: 'xdp' | 'dgram';
  unavailable?: string;
  serverStatus?: unknown;
  clientStatus?: EbpfStatus;
  throughput: ThroughputSample[];
  latency: LatencySamples | null;
}

async function startServer(lab: Lab, datapath: DatapathChoice, certDir: string) {
  const certPath = join(certDir, `bench-${datapath}.pem`);
  const child = lab.spawn(lab.b, process.execPath, [STOQ, 'serve', '--self-signed', '--name', SERVER_NAME, '--cert-out', certPath, '--address', lab.b.address, '--port', '0', '--interface', lab.b.ifname, '--datapath', datapath, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const listening = await new Promise<{ port: number; status: unknown }>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('stoq serve did not start within 30 s')), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => l.includes('"listening"'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as { port: number; status: unknown });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`stoq serve --datapath ${datapath} exited ${code}: ${err.trim().split('\n')[0]}`));
    });
  });
  return { child, certPath, ...listening };
}

async function readAll(stream: Duplex): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}

/** Writes `total` bytes in `size`-byte writes on a file stream; the receipt proves delivery. */
async function bulk(conn: StoqConnection, size: number, total: number, stop: () => boolean = () => false): Promise<ThroughputSample> {
  const stream = await conn.openStream();
  const block = Buffer.alloc(size, 0x5a);
  const started = performance.now();
  stream.write(Buffer.from([KIND_FILE]));
  let sent = 0;
  const deadline = started + 120_000; // bounded whatever happens
  while (sent < total && !stop() && performance.now() < deadline) {
    sent += size;
    if (!stream.write(block)) await drained(stream, 'the stream');
  }
  stream.end();
  const receipt = JSON.parse((await readAll(stream)).toString()) as Receipt;
  const seconds = (performance.now() - started) / 1000;
  return { messageBytes: size, bytes: sent, seconds, gbps: (sent * 8) / seconds / 1e9, intact: receipt.bytes === sent };
}

async function echoRounds(conn: StoqConnection, rounds: number, maxMs: number): Promise<number[]> {
  const deadline = performance.now() + maxMs;
  const stream = await conn.openStream();
  const request = Buffer.alloc(64, 0x11);
  stream.write(Buffer.from([KIND_ECHO]));
  const it = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const samples: number[] = [];
  for (let i = 0; i < rounds && performance.now() < deadline; i++) {
    const t0 = process.hrtime.bigint();
    stream.write(request);
    for (let got = 0; got < request.length; ) {
      const { value, done } = await it.next();
      if (done) throw new Error('echo stream ended early');
      got += (value as Buffer).length;
    }
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  stream.end();
  return samples;
}

export async function measureQuic(lab: Lab, datapath: 'xdp' | 'dgram', opts: { sizes: number[]; bytesPerSize: number; rounds: number; maxPhaseMs: number; certDir: string }): Promise<QuicResult> {
  let server;
  try {
    server = await startServer(lab, datapath, opts.certDir);
  } catch (error) {
    return { datapath, unavailable: `server: ${(error as Error).message}`, throughput: [], latency: null };
  }
  let client: StoqTransport | null = null;
  try {
    try {
      client = await StoqTransport.create({ address: lab.a.address, port: 0, datapath, interface: lab.a.ifname, tls: { ca: readFileSync(server.certPath, 'utf8') } });
    } catch (error) {
      return { datapath, unavailable: `client: ${(error as Error).message}`, serverStatus: server.status, throughput: [], latency: null };
    }
    const target = `[${lab.b.address}]:${server.port}`;
    const conn = await client.connect(target, { serverName: SERVER_NAME });
    const throughput: ThroughputSample[] = [];
    for (const size of opts.sizes) throughput.push(await bulk(conn, size, opts.bytesPerSize));
    const idleUs = await echoRounds(conn, opts.rounds, opts.maxPhaseMs);
    // Under load: a second connection streams 64 KiB writes for as long as the echoes run.
    const loader = await client.connect(target, { serverName: SERVER_NAME });
    let stopLoad = false;
    const load = bulk(loader, 65536, Number.MAX_SAFE_INTEGER, () => stopLoad);
    await new Promise((r) => setTimeout(r, 200)); // let the load reach its pace
    const loadedUs = await echoRounds(conn, opts.rounds, opts.maxPhaseMs);
    stopLoad = true;
    const loadSample = await load;
    await loader.close();
    await conn.close();
    return {
      datapath,
      serverStatus: server.status,
      clientStatus: client.getEbpfStatus(),
      throughput,
      latency: { idleUs, loadedUs, loadGbps: loadSample.gbps },
    };
  } finally {
    await client?.close();
    server.child.kill('SIGINT');
  }
}
