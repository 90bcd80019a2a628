// Spoofed Initial flood against an XDP server, with and without stoq_xdp's token
// bucket: both lab sides are namespaces (nothing reaches the host's default route),
// the server (side A) blackholes the spoofed /48 so its replies die there, the flood
// (build/initial_flood, AF_PACKET) and a legitimate client both run on side B.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { createLab, type Lab } from '@stoq/netlab';
import { certificateFiles } from './lab-peer.js';
import type { FloodServerStats, HandshakeResult } from './flood-peer.js';

const peerScript = fileURLToPath(new URL('../dist/flood-peer.js', import.meta.url));
const floodTool = fileURLToPath(new URL('../build/initial_flood', import.meta.url));
/** Spoofed sources live in SPOOF_PREFIX48:i::/64, i < prefixes. */
export const SPOOF_PREFIX48 = 'fd99:f100:d000::';

export interface FloodScenario {
  name: string;
  /** stoq_config initial_rate/initial_burst; null = no limit (burst 0). */
  bucket: { rate: number; burst: number } | null;
  /** How many /64s the spoofed sources are spread over. */
  prefixes: number;
  pps: number;
  seconds: number;
  /** Legitimate sequential handshakes during the flood. */
  handshakes: number;
}

export interface FloodScenarioResult {
  scenario: FloodScenario;
  flood: { sent: number; errors: number; ms: number };
  /** Server deltas over the scenario. */
  server: Omit<FloodServerStats, 'cpuUs' | 'connections'> & { cpuPercentOfOneCore: number; connectionsAtEnd: number };
  legit: HandshakeResult & { p50Ms: number | null; maxMs: number | null };
}

export interface FloodLab {
  run(scenario: FloodScenario): Promise<FloodScenarioResult>;
  destroy(): Promise<void>;
}

function percentile(sorted: number[], p: number): number | null {
  return sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export async function createFloodLab(): Promise<FloodLab> {
  const lab: Lab = await createLab({ staticNeighbours: true, timeoutMs: 10 * 60_000 });
  const certs = await certificateFiles();
  let server: ChildProcess | null = null;
  try {
    await lab.exec(lab.a, 'ip', ['-6', 'route', 'add', 'blackhole', `${SPOOF_PREFIX48}/48`]);
    server = lab.spawn(lab.a, process.execPath, [peerScript, 'server', lab.a.address, certs.certFile, certs.keyFile, lab.a.ifname], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    server.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: server.stdout! })[Symbol.asyncIterator]();
    const next = async (): Promise<string> => {
      const line = await lines.next();
      if (line.done) throw new Error(`flood server exited: ${stderr}`);
      return line.value;
    };
    const ready = JSON.parse((await next()).replace(/^READY /, '')) as { port: number; datapath: string };
    if (ready.datapath !== 'xdp') throw new Error(`flood server runs over ${ready.datapath}, not xdp`);
    const ask = async (line: string): Promise<string> => {
      server!.stdin!.write(`${line}\n`);
      const answer = await next();
      if (!answer.startsWith('OK ')) throw new Error(`flood server: ${answer}`);
      return answer.slice(3);
    };
    const stats = async () => JSON.parse(await ask('stats')) as FloodServerStats;
    const target = `[${lab.a.address}]:${ready.port}`;

    async function run(scenario: FloodScenario): Promise<FloodScenarioResult> {
      await ask(`config ${JSON.stringify(scenario.bucket ? { initialRate: scenario.bucket.rate, initialBurst: scenario.bucket.burst } : { initialBurst: 0 })}`);
      const before = await stats();
      const started = performance.now();
      const count = Math.round(scenario.pps * scenario.seconds);
      const flood = lab.exec(lab.b, floodTool, [
        lab.b.ifname, lab.b.mac, lab.a.mac, lab.a.address, String(ready.port), SPOOF_PREFIX48, String(scenario.prefixes), String(count), String(scenario.pps),
      ], (scenario.seconds + 30) * 1000);
      // Let the flood build up before the legitimate client starts.
      await new Promise((r) => setTimeout(r, 500));
      const legit = lab.exec(lab.b, process.execPath, [
        peerScript, 'handshakes', target, certs.certFile, String(scenario.handshakes), String(Math.max(1000, scenario.seconds * 1000 - 1500)),
      ], (scenario.seconds + 30) * 1000);
      const [floodOut, legitOut] = await Promise.all([flood, legit]);
      const after = await stats();
      const wallMs = performance.now() - started;
      const h = JSON.parse(/RESULT (.*)/.exec(legitOut.stdout)![1]!) as HandshakeResult;
      const sorted = [...h.ms].sort((x, y) => x - y);
      return {
        scenario,
        flood: JSON.parse(floodOut.stdout.trim()) as FloodScenarioResult['flood'],
        server: {
          connectionsAccepted: after.connectionsAccepted - before.connectionsAccepted,
          connectionsRefused: after.connectionsRefused - before.connectionsRefused,
          initialRateLimitedDropped: after.initialRateLimitedDropped - before.initialRateLimitedDropped,
          quicRedirected: after.quicRedirected - before.quicRedirected,
          rxPackets: after.rxPackets - before.rxPackets,
          cpuPercentOfOneCore: Math.round(((after.cpuUs - before.cpuUs) / 1000 / wallMs) * 1000) / 10,
          connectionsAtEnd: after.connections,
        },
        legit: { ...h, p50Ms: percentile(sorted, 0.5), maxMs: sorted.at(-1) ?? null },
      };
    }

    /** Waits until the flood's half-open connections have timed out (idle 3 s). */
    async function settle(): Promise<void> {
      const deadline = Date.now() + 15_000;
      while ((await stats()).connections > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    }

    return {
      async run(scenario) {
        await settle();
        return run(scenario);
      },
      async destroy() {
        if (server && server.exitCode === null) {
          server.kill('SIGTERM');
          await Promise.race([once(server, 'exit'), new Promise((r) => setTimeout(r, 3000))]);
        }
        await lab.destroy();
        certs.remove();
      },
    };
  } catch (error) {
    await lab.destroy();
    certs.remove();
    throw error;
  }
}
