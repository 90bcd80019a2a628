// Controls the fault injector (bpf/faults.bpf.c) on one end of a lab veth: attach at
// tc clsact egress, set loss/duplication/reordering rates, read what it really did.
// Maps are addressed by id through bpftool, so parallel labs never share state.
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Lab, LabSide } from '@stoq/netlab';
import { run } from '@stoq/netlab';

export const faultsObjectPath = fileURLToPath(new URL('../build/faults.bpf.o', import.meta.url));

export interface FaultRates {
  /** Each rate is a fraction in [0, 1]; the program works in per-mille. */
  loss?: number;
  duplicate?: number;
  reorder?: number;
}

export interface FaultCounters {
  seen: number;
  dropped: number;
  duplicated: number;
  held: number;
  /** Held packets sent (after a successor or a nudge). */
  released: number;
  holdFailed: number;
  /** Of `released`, those a nudge set free (no real successor within maxHoldMs). */
  nudgeReleased: number;
}

const COUNTER_ORDER = ['seen', 'dropped', 'duplicated', 'held', 'released', 'holdFailed', 'nudgeReleased'] as const;

/** The injector's nudge port (NUDGE_PORT in bpf/faults.bpf.c). */
const NUDGE_PORT = 9;
/**
 * Sends a one-byte UDP "nudge" to the peer every `ms` (argv: address, ms); the program
 * turns it into the held packet or drops it. Send errors are expected (the program drops
 * idle nudges, which the kernel reports as ENOBUFS) and ignored. Ends with its stdin,
 * so it never outlives the test process.
 */
const NUDGER = `
const [address, ms] = process.argv.slice(1);
const socket = require('node:dgram').createSocket('udp6');
const byte = Buffer.alloc(1);
setInterval(() => socket.send(byte, ${NUDGE_PORT}, address, () => {}), Number(ms));
process.stdin.on('end', () => process.exit(0)).on('error', () => process.exit(0)).resume();
`;

export interface FaultOptions {
  /**
   * Longest a reordered packet waits for a successor before a nudge sends it (default 2;
   * 0: wait for the next real packet however long, as before nudges existed).
   */
  maxHoldMs?: number;
}

function hexU32(value: number): string[] {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return [...b].map((x) => x.toString(16).padStart(2, '0'));
}

function permille(rate = 0): number {
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`fault rate ${rate} is not in [0, 1]`);
  return Math.round(rate * 1000);
}

export interface FaultInjector {
  readonly side: LabSide;
  set(rates: FaultRates): Promise<void>;
  counters(): Promise<FaultCounters>;
  detach(): Promise<void>;
}

/** Attaches the injector at egress of `side` (all rates 0 until `set`). */
export async function attachFaults(lab: Lab, side: LabSide, rates: FaultRates = {}, options: FaultOptions = {}): Promise<FaultInjector> {
  const maxHoldMs = options.maxHoldMs ?? 2;
  if (!(Number.isInteger(maxHoldMs) && maxHoldMs >= 0 && maxHoldMs <= 1000)) throw new RangeError(`maxHoldMs ${maxHoldMs} is not an integer in [0, 1000]`);
  // Checked before anything is attached (set() checks again on every later change).
  permille(rates.loss);
  permille(rates.duplicate);
  permille(rates.reorder);
  const tc = (args: string[]) => lab.exec(side, 'tc', args);
  await tc(['qdisc', 'add', 'dev', side.ifname, 'clsact']);
  let nudger: ChildProcess | null = null;
  const detach = async () => {
    nudger?.stdin?.end();
    nudger?.kill();
    await tc(['qdisc', 'del', 'dev', side.ifname, 'clsact']).catch(() => {});
  };
  try {
    return await attached();
  } catch (error) {
    // Whatever failed after the qdisc went in must not leave it (the next attach would
    // fail with "Exclusivity flag on"), nor a nudger running.
    await detach();
    throw error;
  }

  async function attached(): Promise<FaultInjector> {
    await tc(['filter', 'add', 'dev', side.ifname, 'egress', 'bpf', 'direct-action', 'obj', faultsObjectPath, 'sec', 'tc']);
    const filters = JSON.parse((await tc(['-j', 'filter', 'show', 'dev', side.ifname, 'egress'])).stdout) as Array<{ options?: { prog?: { id: number } } }>;
    const progId = filters.find((f) => f.options?.prog)?.options?.prog?.id;
    if (!progId) throw new Error(`fault injector not found on ${side.ifname} after attach`);
    const prog = JSON.parse((await run('bpftool', ['-j', 'prog', 'show', 'id', String(progId)])).stdout) as { map_ids: number[] };
    const maps = new Map<string, number>();
    for (const id of prog.map_ids) {
      const info = JSON.parse((await run('bpftool', ['-j', 'map', 'show', 'id', String(id)])).stdout) as { name: string };
      maps.set(info.name, id);
    }
    const mapId = (name: string) => {
      const id = maps.get(name);
      if (id === undefined) throw new Error(`map ${name} missing from fault program ${progId}`);
      return String(id);
    };

    // Nudges leave through this side's interface towards the other side.
    const peer = side === lab.a ? lab.b : lab.a;
    if (maxHoldMs > 0) {
      nudger = lab.spawn(side, process.execPath, ['-e', NUDGER, peer.address, String(maxHoldMs)], { stdio: ['pipe', 'ignore', 'ignore'] });
      nudger.on('error', () => {});
    }

    const injector: FaultInjector = {
      side,
      async set(r) {
        const value = [permille(r.loss), permille(r.duplicate), permille(r.reorder), 0].flatMap(hexU32);
        await run('bpftool', ['map', 'update', 'id', mapId('fault_cfg'), 'key', 'hex', ...hexU32(0), 'value', 'hex', ...value]);
        // Read it back: a proof check once saw 0 drops at 1 % over 832 packets, so make
        // sure the rates the test relies on are the ones the program reads.
        const stored = JSON.parse((await run('bpftool', ['-j', 'map', 'lookup', 'id', mapId('fault_cfg'), 'key', 'hex', ...hexU32(0)])).stdout) as
          { value?: string[]; formatted?: { value: Record<string, number> } };
        // bpftool prints raw bytes, plus the fields when the map has BTF.
        const read = stored.formatted
          ? [stored.formatted.value['loss_permille'], stored.formatted.value['dup_permille'], stored.formatted.value['reorder_permille'], 0].flatMap((v) => hexU32(v ?? -1))
          : (stored.value ?? []).map((h) => h.replace(/^0x/, '').padStart(2, '0'));
        if (read.join(' ') !== value.join(' ')) throw new Error(`fault_cfg on ${side.ifname} reads back ${read.join(' ')}, wrote ${value.join(' ')}`);
      },
      async counters() {
        const dump = JSON.parse((await run('bpftool', ['-j', 'map', 'dump', 'id', mapId('fault_counters')])).stdout) as Array<{ key: number | string[]; value: number | string[] }>;
        const out = Object.fromEntries(COUNTER_ORDER.map((k) => [k, 0])) as unknown as FaultCounters;
        dump.forEach((entry, i) => {
          const key = typeof entry.key === 'number' ? entry.key : Buffer.from(entry.key.map((h) => parseInt(h, 16))).readUInt32LE();
          const value = typeof entry.value === 'number' ? entry.value : Number(Buffer.from(entry.value.map((h) => parseInt(h, 16))).readBigUInt64LE());
          const name = COUNTER_ORDER[key ?? i];
          if (name) out[name] = value;
        });
        return out;
      },
      detach,
    };
    await injector.set(rates);
    return injector;
  }
}
