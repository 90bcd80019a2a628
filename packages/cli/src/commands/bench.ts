// `stoq bench`: the benchmark suite — kernel path vs eBPF path, side by side in one
// run on a private lab — printed as Markdown, optionally saved as JSON and SVG.
import { writeFileSync } from 'node:fs';
import { checkOutputFile } from '../output-file.js';
import { ExitCode, type Command } from '../command.js';
import { renderMarkdown } from '../bench/markdown.js';
import { runBench, type BenchResult } from '../bench/run-bench.js';
import { renderSvg } from '../bench/svg.js';

export function benchHeader(r: BenchResult): string {
  const e = r.environment;
  return [
    `## STOQ benchmark — ${e.date.slice(0, 10)}${r.quick ? ' (--quick)' : ''}`,
    '',
    `Machine: ${e.cpuModel}, ${e.cores} cores, ${e.memoryGiB} GiB · kernel ${e.kernel} · Node ${e.node} · ${e.bpfJit} · load average at start ${e.loadAverageAtStart.join(' / ')} · run took ${r.durationSeconds.toFixed(0)} s`,
    '',
    'Ratio = eBPF path relative to the kernel path, oriented so that > 1× means the eBPF path is better.',
    '',
  ].join('\n');
}

export const bench: Command = {
  name: 'bench',
  summary: 'benchmark suite: kernel sockets vs XDP + AF_XDP, side by side (needs root)',
  usage: [
    'usage: stoq bench [--quick] [--json FILE] [--markdown FILE] [--svg FILE]',
    '',
    '  --quick          short runs (about a minute) instead of the full suite (under 10 minutes)',
    '  --json FILE      machine, kernel, Node, modes, tables and every raw sample',
    '  --markdown FILE  the tables as Markdown (also printed on stdout)',
    '  --svg FILE       a bar chart of every table',
    '',
    'Measures, in one lab (a private namespace joined by a veth to this one, where XDP attaches): packet rate at 64/256 B, QUIC throughput',
    'per write size, echo latency idle and under load, receiver CPU at three loads, the XDP early',
    'drop rate, stoq_xdp per-packet cost and the in-memory quiche ceiling. Rows the eBPF path cannot',
    'run yet say why. Progress goes to stderr.',
    'exit code: 0 done, 1 failure (e.g. not root)',
  ].join('\n'),
  options: {
    quick: { type: 'boolean' },
    json: { type: 'string' },
    markdown: { type: 'string' },
    svg: { type: 'string' },
  },
  async run(values) {
    // Output paths are checked before a run of minutes, not after it (the samples would be lost).
    for (const option of ['markdown', 'json', 'svg'] as const) {
      const path = values[option];
      if (typeof path === 'string') checkOutputFile(option, path);
    }
    const result = await runBench({ quick: values['quick'] === true, log: (l) => console.error(l) });
    const markdown = renderMarkdown(result.tables, benchHeader(result));
    console.log(markdown);
    if (typeof values['markdown'] === 'string') writeFileSync(values['markdown'], markdown);
    if (typeof values['json'] === 'string') writeFileSync(values['json'], `${JSON.stringify(result, null, 2)}\n`);
    if (typeof values['svg'] === 'string') writeFileSync(values['svg'], renderSvg(result.tables));
    return ExitCode.OK;
  },
};
