#!/usr/bin/env node
// The two ends of the Initial-flood check, run as processes inside lab namespaces.
//   flood-peer server <address> <certFile> <keyFile> <ifname>
//     an XDP server (stoq_xdp on <ifname>); stdin lines: `config <json>` (updateXdpConfig),
//     `stats` (endpoint counters, stoq_xdp counters, connections, process CPU µs);
//     each answered by one `OK <json>` line (or `ERR <message>`).
//   flood-peer handshakes <target> <caFile> <count> <deadlineMs>
//     <count> sequential connects (each closed again), stopped at <deadlineMs>;
//     prints one `RESULT <json>` line.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { StoqTransport, type XdpRuntimeConfig } from '@stoq/transport';

export interface FloodServerStats {
  connectionsAccepted: number;
  connectionsRefused: number;
  connections: number;
  initialRateLimitedDropped: number;
  quicRedirected: number;
  rxPackets: number;
  /** user + system CPU of the server process, µs */
  cpuUs: number;
}

export interface HandshakeResult {
  attempted: number;
  succeeded: number;
  /** handshake times of the successful connects, ms */
  ms: number[];
  firstError?: string;
}

async function server(address: string, certFile: string, keyFile: string, ifname: string) {
  const t = await StoqTransport.create({
    address, port: 0, interface: ifname, datapath: 'xdp',
    tls: { cert: readFileSync(certFile), key: readFileSync(keyFile) },
    idleTimeoutMs: 3000, limits: { maxConnections: 1000 },
  });
  t.on('connection', (conn) => conn.on('close', () => {}));
  // Replies to spoofed sources fail to route (the lab blackholes them): expected, not fatal.
  t.on('datapathError', () => {});
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [cmd, ...rest] = line.split(' ');
    try {
      if (cmd === 'config') {
        t.updateXdpConfig(JSON.parse(rest.join(' ')) as XdpRuntimeConfig);
        process.stdout.write('OK {}\n');
      } else if (cmd === 'stats') {
        const s = t.stats();
        const cpu = process.cpuUsage();
        const stats: FloodServerStats = {
          connectionsAccepted: s.endpoint.connectionsAccepted, connectionsRefused: s.endpoint.connectionsRefused,
          connections: s.connections, initialRateLimitedDropped: s.xdp!.programCounters.initial_rate_limited_dropped,
          quicRedirected: s.xdp!.programCounters.quic_redirected, rxPackets: s.xdp!.programCounters.rx_packets,
          cpuUs: cpu.user + cpu.system,
        };
        process.stdout.write(`OK ${JSON.stringify(stats)}\n`);
      } else throw new Error(`unknown command ${cmd}`);
    } catch (error) {
      process.stdout.write(`ERR ${(error as Error).message}\n`);
    }
  });
  process.on('SIGTERM', () => void t.close().then(() => process.exit(0)));
  return { port: t.address().port, datapath: t.getEbpfStatus().datapath };
}

async function handshakes(target: string, caFile: string, count: number, deadlineMs: number): Promise<HandshakeResult> {
  const t = await StoqTransport.create({ address: '::', port: 0, tls: { ca: readFileSync(caFile) }, idleTimeoutMs: 1000 });
  const result: HandshakeResult = { attempted: 0, succeeded: 0, ms: [] };
  const deadline = Date.now() + deadlineMs;
  for (let i = 0; i < count && Date.now() < deadline; i++) {
    result.attempted++;
    const started = performance.now();
    try {
      const conn = await t.connect(target, { serverName: 'stoq.test' });
      result.ms.push(performance.now() - started);
      result.succeeded++;
      await conn.close();
    } catch (error) {
      result.firstError ??= (error as Error).message;
    }
  }
  await t.close();
  return result;
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'server') {
  const ready = await server(args[0]!, args[1]!, args[2]!, args[3]!);
  process.stdout.write(`READY ${JSON.stringify(ready)}\n`);
} else if (mode === 'handshakes') {
  const r = await handshakes(args[0]!, args[1]!, Number(args[2]), Number(args[3]));
  process.stdout.write(`RESULT ${JSON.stringify(r)}\n`);
} else {
  console.error('usage: flood-peer server|handshakes …');
  process.exit(2);
}
