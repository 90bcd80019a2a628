// Child-process entry: the demo's STOQ server, run inside the lab's server namespace.
// argv: <listen address> <port> <interface> <certDir>
// Answers bulk streams with their sha256 and echoes echo streams. On stdin 'report'
// it prints its eBPF status, XDP counters and conntrack states, then exits on 'quit'.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Duplex, type Readable } from 'node:stream';
import { createSelfSignedCertificate, StoqTransport } from '@stoq/transport';
import { drained } from '../drained.js';
import { DEMO_SERVER_NAME, emit, STREAM_BULK, STREAM_ECHO } from './protocol.js';

const [address = '::', portText = '9292', ifname = '', certDir = '/tmp'] = process.argv.slice(2);

async function handleStream(stream: Duplex): Promise<void> {
  const hash = createHash('sha256');
  let kind: number | null = null;
  let bytes = 0;
  // destroyOnReturn false: the loop ending must not destroy the stream we still answer on.
  for await (const chunk of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    let data = chunk;
    if (kind === null) {
      kind = data[0] ?? null;
      data = data.subarray(1);
    }
    if (kind === STREAM_ECHO) {
      if (!stream.write(data)) await drained(stream, 'the stream');
    } else {
      hash.update(data);
      bytes += data.byteLength;
    }
  }
  if (kind === STREAM_BULK) stream.end(JSON.stringify({ bytes, sha256: hash.digest('hex') }));
  else stream.end();
}

async function main(): Promise<void> {
  const { cert, key } = await createSelfSignedCertificate({ hostnames: [DEMO_SERVER_NAME, address] });
  const certPath = join(certDir, `stoq-demo-${process.pid}.pem`);
  writeFileSync(certPath, cert, { mode: 0o644 });

  // The transport owns the fast path: with an interface it climbs the fallback ladder
  // (stoq_xdp + AF_XDP, or the kernel socket with the reasons why not).
  const transport = await StoqTransport.create({
    address,
    port: Number(portText),
    tls: { cert, key },
    ...(ifname ? { interface: ifname, xdp: { ipv4Policy: 'drop' as const } } : {}),
  });
  let accepted = 0;
  transport.on('connection', (conn) => {
    accepted += 1;
    conn.on('stream', (stream: Duplex | Readable) => {
      // The demo client only opens bidirectional streams; drain anything else.
      if (!(stream instanceof Duplex)) {
        stream.resume();
        return;
      }
      handleStream(stream).catch((err: Error) => emit({ type: 'error', message: `stream: ${err.message}` }));
    });
  });
  emit({ type: 'listening', address, port: transport.address().port, certPath, status: transport.getEbpfStatus() });

  const commands = createInterface({ input: process.stdin });
  for await (const line of commands) {
    if (line === 'report') {
      emit({ type: 'server-report', report: await serverReport(transport, accepted) });
    } else if (line === 'quit') {
      break;
    }
  }
  await transport.close();
}

function latencyOf(latency: { count: number; p50Us: number; p99Us: number } | null) {
  return latency ? { samples: latency.count, p50Us: latency.p50Us, p99Us: latency.p99Us } : null;
}

/** What the demo summary shows of the server: datapath status, XDP modes, counters, conntrack. */
async function serverReport(transport: StoqTransport, accepted: number) {
  const status = transport.getEbpfStatus();
  const xdp = transport.stats().xdp;
  const metrics = xdp ? await transport.collectEbpfMetrics() : null;
  const ct = metrics?.connectionMetrics.conntrack;
  const conntrack = ct?.available ? ct.byState : {};
  return {
    status,
    xdp: xdp ? { mode: `${xdp.xdpMode} XDP, ${xdp.afXdpMode}-mode AF_XDP`, counters: xdp.programCounters, conntrack, latency: latencyOf(xdp.latency) } : null,
    ...(xdp ? {} : { xdpSkippedReason: status?.fallbackReason ?? (ifname ? 'unknown' : 'no interface (loopback demo)') }),
    connectionsAccepted: accepted,
  };
}

main().catch((err: Error & { code?: string }) => {
  emit({ type: 'error', message: err.message, ...(err.code ? { code: err.code } : {}) });
  process.exitCode = 1;
});
