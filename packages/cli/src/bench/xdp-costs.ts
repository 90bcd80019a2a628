// The XDP program's own numbers: how fast stoq_xdp drops a flood at the driver
// (an IPv4 flood, vs. the kernel stack discarding it), and what each verdict costs per
// packet as the kernel measures it (BPF_PROG_TEST_RUN, repeat).
import { readFileSync } from 'node:fs';
import { BpfObject } from '@stoq/loader';
import { decodeStats, encodeConfig, MAP_NAMES, objectPath, PROGRAM_NAME } from '@stoq/bpf-programs';
import type { Lab } from '@stoq/netlab';
import { fileURLToPath } from 'node:url';

const floodScript = fileURLToPath(new URL('../demo/flood.js', import.meta.url));

export interface DropSample { path: 'kernel' | 'xdp'; sent: number; sentPps: number; discarded: number; discardPps: number; counter: string; xdpMode?: string }

/** UDP (IPv4) NoPorts of this namespace: datagrams the stack processed and discarded. */
function udp4NoPorts(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const [names, values] = lines.map((l) => l.trim().split(/\s+/));
  return Number(values?.[names?.indexOf('NoPorts') ?? -1] ?? 0);
}

/** IPv4 is what stoq_xdp drops by policy; pktgen speaks IPv6 only, so the demo's Node flood sends it. */
async function flood(lab: Lab, seconds: number): Promise<{ sent: number; pps: number }> {
  const t0 = performance.now();
  const { stdout } = await lab.exec(lab.b, 'taskset', ['-c', '0', process.execPath, floodScript, lab.a.address4!, '9292', '50000000', String(seconds * 1000)], (seconds + 15) * 1000);
  const { sent } = JSON.parse(stdout.trim()) as { sent: number };
  return { sent, pps: sent / ((performance.now() - t0) / 1000) };
}

/** Side A must be in this process's namespace (lab hostSide) so XDP can attach here. */
export async function measureEarlyDrop(lab: Lab, seconds: number): Promise<DropSample[]> {
  if (!lab.a.address4) throw new Error('the lab has no IPv4 addresses (createLab ipv4: true)');
  const before = udp4NoPorts();
  const k = await flood(lab, seconds);
  const kernelDiscarded = udp4NoPorts() - before;
  const object = BpfObject.open(objectPath);
  try {
    await object.load();
    object.map(MAP_NAMES.config).update(Buffer.alloc(4), encodeConfig({}));
    const link = object.program(PROGRAM_NAME).attachXdp(lab.a.ifname, { mode: 'auto' });
    const stats = object.map(MAP_NAMES.stats);
    const read = () => decodeStats(stats.lookupPerCpu(Buffer.alloc(4)) ?? []).counters.ipv4_dropped;
    const x0 = read();
    const x = await flood(lab, seconds);
    const dropped = read() - x0;
    link.detach();
    return [
      { path: 'kernel', sent: k.sent, sentPps: k.pps, discarded: kernelDiscarded, discardPps: kernelDiscarded / (k.sent / k.pps), counter: 'Udp NoPorts (/proc/net/snmp)' },
      { path: 'xdp', sent: x.sent, sentPps: x.pps, discarded: dropped, discardPps: dropped / (x.sent / x.pps), counter: 'stoq_stats.ipv4_dropped', xdpMode: link.mode },
    ];
  } finally {
    object.close();
  }
}

export interface CostSample { name: string; verdict: string | undefined; ns: number }

function frame(ethertype: number, l3: Buffer): Buffer {
  const eth = Buffer.alloc(14);
  eth.fill(0x02, 0, 12);
  eth.writeUInt16BE(ethertype, 12);
  return Buffer.concat([eth, l3]);
}

function udp6(dport: number, payload: Buffer): Buffer {
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip.writeUInt16BE(8 + payload.length, 4);
  ip[6] = 17; // UDP
  ip[7] = 64;
  ip.fill(0xfd, 8, 9);
  ip[23] = 1;
  ip.fill(0xfd, 24, 25);
  ip[39] = 2;
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(40000, 0);
  udp.writeUInt16BE(dport, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  return frame(0x86dd, Buffer.concat([ip, udp, payload]));
}

function ipv4Udp(): Buffer {
  const ip = Buffer.alloc(28);
  ip[0] = 0x45;
  ip.writeUInt16BE(28 + 64, 2);
  ip[8] = 64;
  ip[9] = 17;
  return frame(0x0800, Buffer.concat([ip, Buffer.alloc(64)]));
}

export async function measureProgramCost(repeat: number): Promise<CostSample[]> {
  const short = Buffer.alloc(1200);
  short[0] = 0x40; // QUIC short header
  const cases: Array<[string, Buffer]> = [
    ['IPv4 UDP (dropped)', ipv4Udp()],
    ['empty UDP to a QUIC port (dropped)', udp6(9292, Buffer.alloc(0))],
    ['UDP to another port (passed)', udp6(53, Buffer.alloc(64))],
    ['QUIC short header, 1200 B (conntrack, redirect/pass)', udp6(9292, short)],
  ];
  const object = BpfObject.open(objectPath);
  try {
    await object.load();
    object.map(MAP_NAMES.config).update(Buffer.alloc(4), encodeConfig({}));
    const program = object.program(PROGRAM_NAME);
    return cases.map(([name, data]) => {
      const runs = [0, 1, 2].map(() => program.testRun(data, { repeat }));
      const ns = runs.map((r) => r.durationNs).sort((a, b) => a - b)[1]!;
      return { name, verdict: runs[0]!.action, ns };
    });
  } finally {
    object.close();
  }
}
