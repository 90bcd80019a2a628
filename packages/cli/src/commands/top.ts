// `stoq top`: a live view of one running stoq_xdp — packet and bit rates, rates
// per verdict, conntrack states and AF_XDP socket health — refreshed every interval.
import { ExitCode, type Command } from '../command.js';
import { numberOption } from '../net/options.js';
import { closeInstances, programStillLoaded, selectInstances, type StoqInstance } from '../inspect/discover.js';
import { rates, type Rates } from '../inspect/rates.js';
import { readConntrack, readStats } from '../inspect/snapshot.js';
import { readXskSockets, type XskReading } from '../inspect/xsk-diag.js';
import { bold, dim, formatRate, table } from '../format.js';
import { stdoutClosed } from '../stdout.js';

export interface TopSample {
  time: string;
  interface: string;
  programId: number | null;
  rates: Rates;
  conntrack: Record<string, number>;
  afXdp: XskReading;
}

function render(s: TopSample, interval: number): string {
  const verdicts = Object.entries(s.rates.verdicts).sort((a, b) => b[1] - a[1]);
  const states = Object.entries(s.conntrack);
  const lines = [
    bold(`stoq top — stoq_xdp (prog ${s.programId ?? '?'}) on ${s.interface}   ${s.time}   every ${interval} s, q or Ctrl-C quits`),
    '',
    table([
      ['rx', formatRate(s.rates.pps, 'pps'), formatRate(s.rates.bitsPerSecond, 'bit/s')],
      ['total', `${s.rates.totals.packets} packets`, `${s.rates.totals.bytes} bytes`],
    ]),
    '',
    bold('verdicts (per second)'),
    verdicts.length ? table(verdicts.map(([k, v]) => [k, formatRate(v, 'pps')])) : dim('no packets in this interval'),
    '',
    bold('conntrack'),
    states.length ? table(states.map(([k, v]) => [k, String(v)])) : dim('no entries'),
    '',
    bold('AF_XDP sockets'),
  ];
  if ('unavailable' in s.afXdp) lines.push(dim(s.afXdp.unavailable));
  else if (s.afXdp.length === 0) lines.push(dim('none on this host (QUIC takes the XDP_PASS path to the kernel socket)'));
  else lines.push(...s.afXdp.map((x) => x.ss));
  lines.push('', dim('latency percentiles are measured in the STOQ process itself (transport.getEbpfMetrics()), not visible from here'));
  return lines.join('\n');
}

function pickInstance(ifname: string | undefined): StoqInstance {
  const instances = selectInstances(ifname);
  if (instances.length > 1) {
    closeInstances(instances);
    throw Object.assign(new Error(`${instances.length} STOQ instances are loaded; choose one with --interface`), { code: 'STOQ_ERR_AMBIGUOUS' });
  }
  return instances[0]!;
}

export const top: Command = {
  name: 'top',
  summary: 'live rates, verdicts, conntrack states and AF_XDP health of a running STOQ',
  usage: [
    'usage: stoq top [--interface IF] [--interval S] [--count N] [--json]',
    '',
    '  --interface IF  the stoq_xdp attached to IF in this network namespace (needed if several run)',
    '  --interval S    seconds between refreshes (default 1, at least 0.1)',
    '  --count N       stop after N refreshes (default: until q, Ctrl-C or SIGTERM)',
    '  --json          one JSON object per refresh, one per line',
    '',
    'exit code: 0 stopped normally (also when whatever reads stdout closes it), 1 nothing loaded or it went away',
    '           (or stdout cannot be written, e.g. a full disk)',
  ].join('\n'),
  options: {
    interface: { type: 'string', short: 'i' },
    interval: { type: 'string' },
    count: { type: 'string', short: 'n' },
    json: { type: 'boolean' },
  },
  async run(values) {
    const interval = numberOption(values, 'interval', { min: 0.1, max: 3600, fractional: true }) ?? 1;
    const count = numberOption(values, 'count', { min: 1, max: Number.MAX_SAFE_INTEGER }) ?? Infinity;
    const json = values['json'] === true;
    const instance = pickInstance(typeof values['interface'] === 'string' ? values['interface'] : undefined);
    const ifname = instance.attachedTo.map((a) => a.ifname).join(',') || 'no interface in this namespace';

    let stop: () => void = () => undefined;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const onSignal = () => stop();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // Its reader went away (`stoq top | head`): stop like on q, without writing more.
    stdoutClosed.addEventListener('abort', onSignal);
    if (stdoutClosed.aborted) stop();
    const tty = process.stdin.isTTY && !json;
    if (tty) {
      process.stdin.setRawMode(true);
      process.stdin.on('data', (key: Buffer) => (key[0] === 0x71 || key[0] === 0x03 ? stop() : undefined)); // q, Ctrl-C
    }
    try {
      let before = readStats(instance);
      let t0 = performance.now();
      for (let i = 0; i < count; i++) {
        let timer: NodeJS.Timeout | undefined;
        const tick = new Promise<boolean>((r) => (timer = setTimeout(() => r(true), interval * 1000)));
        const go = await Promise.race([tick, stopped.then(() => false)]);
        clearTimeout(timer);
        if (!go || stdoutClosed.aborted) break;
        if (instance.programId !== null && programStillLoaded(instance.programId) === false) {
          throw new Error(`stoq_xdp (program ${instance.programId}) went away`);
        }
        const after = readStats(instance);
        const t1 = performance.now();
        if (!before || !after) throw new Error('stoq_stats could not be read (did the program go away?)');
        const sample: TopSample = {
          time: new Date().toISOString(),
          interface: ifname,
          programId: instance.programId,
          rates: rates(before, after, (t1 - t0) / 1000),
          conntrack: readConntrack(instance, false, process.hrtime.bigint())?.states ?? {},
          afXdp: readXskSockets(),
        };
        if (json) console.log(JSON.stringify(sample));
        else process.stdout.write(`${process.stdout.isTTY ? '\x1b[H\x1b[2J' : '\n'}${render(sample, interval)}\n`);
        before = after;
        t0 = t1;
      }
      return ExitCode.OK;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      stdoutClosed.removeEventListener('abort', onSignal);
      if (tty) {
        process.stdin.setRawMode(false);
        process.stdin.pause();
      }
      closeInstances([instance]);
    }
  },
};
