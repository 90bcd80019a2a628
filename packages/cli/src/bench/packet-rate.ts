// Tables 1 and 4: packets/s received and receiver CPU, kernel UDP socket vs XDP
// redirect to an AF_XDP socket, both in Node, fed by the C sendmmsg flood from the
// peer namespace. Receivers are @stoq/af-xdp's own benchmark receivers.
import { execFileSync, spawn } from 'node:child_process';
import type { Lab } from '@stoq/netlab';
import { afXdpReceivers, pktgen } from './tools.js';

export type Receiver = 'dgram' | 'xsk';
const PORT = 9292;

export interface RxSample {
  receiver: Receiver;
  payload: number;
  /** Flood as the sender reported it. */
  sent: number;
  sentPps: number;
  received: number;
  rxPps: number;
  loss: number;
  /** Receiver process CPU while packets flowed, fraction of one core. */
  cpu: number;
  /** 'kernel UDP' or '<copy|zerocopy> AF_XDP'. */
  mode: string;
  wallSeconds: number;
  /** XDP attach mode on the receiving interface during the run (bpftool's word: driver = native). */
  xdpMode: string;
}

function xdpModeOf(ifname: string): string {
  try {
    const net = JSON.parse(execFileSync('bpftool', ['-j', 'net', 'show', 'dev', ifname], { encoding: 'utf8' })) as Array<{ xdp?: Array<{ mode: string; name?: string }> }>;
    const x = net[0]?.xdp?.[0];
    return x ? `${x.mode === 'driver' ? 'native' : x.mode} XDP${x.name ? ` (${x.name})` : ''}` : 'no XDP program';
  } catch (error) {
    return `unknown (${(error as Error).message.split('\n')[0]})`;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startReceiver(lab: Lab, receiver: Receiver, maxSeconds: number) {
  const where = receiver === 'dgram' ? [lab.a.address, String(PORT)] : [lab.a.ifname, '0'];
  // Receiver on CPU 1, flood on CPU 0: they never fight for one core.
  const child = spawn('taskset', ['-c', '1', process.execPath, afXdpReceivers(), receiver, ...where, String(maxSeconds)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), (maxSeconds + 15) * 1000);
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${receiver} receiver exited (${code}) before ready: ${err.trim()}`)));
  });
  const result = new Promise<Record<string, number | string>>((resolve, reject) => {
    child.once('exit', (code) => {
      clearTimeout(killer);
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as Record<string, number | string>);
      else reject(new Error(`${receiver} receiver failed (${code}): ${err.trim().split('\n').filter((l) => !l.startsWith('lib')).join(' | ')}`));
    });
  });
  return { child, ready, result };
}

/**
 * One flood against one receiver. `bursts` > 1 paces the load: the flood runs as
 * `bursts` runs of `count` packets with 50 ms pauses (offered load below line rate).
 */
export async function measureRx(lab: Lab, receiver: Receiver, payload: number, opts: { seconds: number; count: number; bursts?: number }): Promise<RxSample> {
  const bursts = opts.bursts ?? 1;
  const rx = await readyReceiver(lab, receiver, opts.seconds * bursts + 10);
  try {
    return await flood(lab, rx, receiver, payload, opts, bursts);
  } catch (error) {
    rx.child.kill('SIGKILL');
    await rx.result.catch(() => undefined);
    throw error;
  } finally {
    if (receiver === 'xsk') clearLeftoverXdp(lab);
  }
}

/**
 * The AF_XDP receiver lets libxdp attach its default program over netlink, which
 * outlives a receiver that crashed or was killed; the next phase would then find the
 * interface busy. The lab is ours: take it off (a bpf_link attachment would refuse).
 */
export function clearLeftoverXdp(lab: Lab): void {
  try {
    execFileSync('ip', ['link', 'set', 'dev', lab.a.ifname, 'xdp', 'off'], { stdio: 'ignore' });
  } catch {
    // Nothing attached, or attached through a bpf_link that goes away with its owner.
  }
}

/** Starts a receiver; an AF_XDP queue a previous run just closed may still be busy: retry a few times. */
async function readyReceiver(lab: Lab, receiver: Receiver, maxSeconds: number) {
  for (let attempt = 1; ; attempt++) {
    const rx = startReceiver(lab, receiver, maxSeconds);
    rx.result.catch(() => undefined);
    try {
      await rx.ready;
      return rx;
    } catch (error) {
      if (attempt >= 5 || !/EBUSY|resource busy/.test((error as Error).message)) throw error;
      await sleep(500 * attempt);
    }
  }
}

async function flood(lab: Lab, rx: ReturnType<typeof startReceiver>, receiver: Receiver, payload: number, opts: { seconds: number; count: number }, bursts: number): Promise<RxSample> {
  await sleep(200);
  const xdpMode = receiver === 'xsk' ? xdpModeOf(lab.a.ifname) : 'none';
  const flood = pktgen('udp6_flood');
  const script = `i=0; while [ $i -lt ${bursts} ]; do taskset -c 0 "$0" "$@" || exit 1; i=$((i+1)); if [ $i -lt ${bursts} ]; then sleep 0.05; fi; done; exit 0`;
  const t0 = performance.now();
  const { stdout } = await lab.exec(lab.b, 'sh', ['-c', script, flood, lab.a.address, String(PORT), String(payload), String(opts.count), String(opts.seconds)], (opts.seconds * bursts + 20) * 1000);
  const wallSeconds = (performance.now() - t0) / 1000;
  const runs = stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { sent: number; pps: number });
  const sent = runs.reduce((s, r) => s + r.sent, 0);
  const got = await rx.result;
  await sleep(300); // the kernel frees an AF_XDP queue asynchronously after close
  const packets = Number(got['packets']);
  const active = Number(got['activeSeconds']);
  return {
    receiver,
    payload,
    sent,
    sentPps: bursts === 1 ? (runs[0]?.pps ?? 0) : sent / wallSeconds,
    received: packets,
    rxPps: active > 0 ? packets / active : 0,
    loss: sent > 0 ? Math.max(0, 1 - packets / sent) : 0,
    cpu: active > 0 ? Number(got['cpuSeconds']) / active : 0,
    mode: receiver === 'dgram' ? 'kernel UDP socket' : `${String(got['mode'])} AF_XDP`,
    wallSeconds,
    xdpMode,
  };
}
