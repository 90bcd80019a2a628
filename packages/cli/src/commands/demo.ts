// `stoq demo`: STOQ end to end in one command, then a summary of what was used and
// measured. Exit code 0 only if the data arrived intact.
import { ExitCode, type Command } from '../command.js';
import { numberOption } from '../net/options.js';
import { runDemo, type DemoResult } from '../demo/run-demo.js';
import { bold, formatBytes, formatRate, green, red, table, yellow } from '../format.js';

function describeDatapath(r: DemoResult): string[][] {
  const status = (r.server.status ?? {}) as { datapath?: string; fallbackReason?: string };
  const rows = [
    ['environment', r.environment === 'lab' ? 'two network namespaces joined by a veth pair (IPv6 fd00::/8)' : 'loopback [::1]'],
    ['datapath', `${status.datapath ?? 'unknown'}${status.fallbackReason ? yellow(` (why not AF_XDP: ${status.fallbackReason})`) : ''}`],
    ['fast path', r.server.xdp ? `stoq_xdp through a bpf_link: ${bold(r.server.xdp.mode)}` : yellow(`not in use: ${r.server.xdpSkippedReason ?? 'unknown'}`)],
  ];
  const latency = r.server.xdp?.latency;
  if (latency) rows.push(['kernel→user', `p50 ${latency.p50Us.toFixed(1)} µs, p99 ${latency.p99Us.toFixed(1)} µs (XDP metadata timestamps, ${latency.samples} packets)`]);
  if (r.whyNotLab) rows.push(['note', yellow(r.whyNotLab)]);
  return rows;
}

export function renderDemo(r: DemoResult): string {
  const lines = [bold('\nSTOQ demo summary'), table(describeDatapath(r)), ''];
  lines.push(
    bold('transfer'),
    table([
      ['moved', `${formatBytes(r.bulk.bytes)} in ${r.bulk.seconds.toFixed(2)} s over one QUIC stream`],
      ['throughput', formatRate(r.bulk.bitsPerSecond, 'bit/s')],
      ['integrity', r.bulk.intact ? green('sha256 matches on both ends') : red('MISMATCH: data was corrupted or lost')],
    ]),
    '',
    bold(`request/response latency (64 B echo, ${r.latencyUs.samples} round trips)`),
    table([
      ['min', 'p50', 'p95', 'p99', 'max'],
      [r.latencyUs.min, r.latencyUs.p50, r.latencyUs.p95, r.latencyUs.p99, r.latencyUs.max].map((v) => `${v.toFixed(0)} µs`),
    ]),
  );
  if (r.server.xdp) {
    const counters = Object.entries(r.server.xdp.counters).filter(([, v]) => v > 0);
    lines.push('', bold('XDP verdict counters (stoq_stats, summed over CPUs)'), table(counters.map(([k, v]) => [k, String(v)])));
    if (r.flood) lines.push(`IPv4 flood: ${r.flood.sent} packets sent to the server's IPv4 address, ${r.server.xdp.counters['ipv4_dropped'] ?? 0} dropped by XDP`);
    const states = Object.entries(r.server.xdp.conntrack);
    lines.push('', bold('connection tracking (stoq_conntrack)'), states.length ? table(states.map(([k, v]) => [k, String(v)])) : 'no entries');
  }
  return lines.join('\n');
}

export const demo: Command = {
  name: 'demo',
  summary: 'run a STOQ server and client in a private lab and show what the fast path did',
  usage: [
    'usage: stoq demo [--megabytes N] [--rounds N] [--flood N] [--json]',
    '',
    '  --megabytes N  data to move over one stream (default 64)',
    '  --rounds N     request/response round trips for latency (default 500)',
    '  --flood N      IPv4 packets to flood the server with (default 20000; lab only)',
    '  --json         print the result as JSON',
    '',
    'As root it builds two network namespaces joined by a veth pair and puts stoq_xdp on',
    'the server side; otherwise it runs on [::1] over node:dgram and says why.',
    'exit code: 0 data intact, 1 failure; interrupted by SIGINT, SIGTERM or SIGHUP it removes',
    'its lab and temporary files and exits 130, 143 or 129',
  ].join('\n'),
  options: {
    megabytes: { type: 'string' },
    rounds: { type: 'string' },
    flood: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(values) {
    const number = (name: string, fallback: number, max: number) => numberOption(values, name, { min: 0, max }) ?? fallback;
    const result = await runDemo({
      bulkBytes: number('megabytes', 64, 4096) * 1024 * 1024,
      echoRounds: number('rounds', 500, 100_000),
      floodPackets: number('flood', 20_000, 1_000_000),
      port: 9292,
    });
    console.log(values['json'] ? JSON.stringify(result, null, 2) : renderDemo(result));
    return result.bulk.intact ? ExitCode.OK : ExitCode.FAILURE;
  },
};
