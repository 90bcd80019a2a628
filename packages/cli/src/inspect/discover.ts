// Finds the stoq_xdp instances loaded on this host and opens their maps by name,
// like `bpftool map show name stoq_stats`. Maps are global to the host; which
// program uses which maps, and where it is attached in this network namespace,
// comes from bpftool's JSON (BpfMap does not expose program ids).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { BpfMap } from '@stoq/loader';
import { MAP_NAMES, PROGRAM_NAME } from '@stoq/bpf-programs';

export interface Attachment {
  ifname: string;
  ifindex: number;
  /** bpftool's words: driver (native), generic (skb), offload. */
  mode: string;
}

export interface StoqInstance {
  /** Kernel id of the stoq_xdp program using these maps; null when bpftool is missing. */
  programId: number | null;
  attachedTo: Attachment[];
  config: BpfMap | null;
  stats: BpfMap | null;
  conntrack: BpfMap | null;
  xsks: BpfMap | null;
}

export class NothingLoadedError extends Error {
  readonly code = 'STOQ_ERR_NOT_LOADED';
  constructor(message: string, readonly hint: string) {
    super(message);
  }
}

const KINDS = ['config', 'stats', 'conntrack', 'xsks'] as const;
type Kind = (typeof KINDS)[number];

/** The kernel id of a map fd, from /proc/self/fdinfo (present since Linux 4.13). */
function mapId(map: BpfMap): number {
  const match = /^map_id:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${map.fd}`, 'utf8'));
  return match ? Number(match[1]) : -1;
}

function bpftool<T>(args: string[]): T | null {
  try {
    return JSON.parse(execFileSync('bpftool', ['-j', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 })) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function attachmentsByProgram(): Map<number, Attachment[]> {
  const out = new Map<number, Attachment[]>();
  const net = bpftool<Array<{ xdp?: Array<{ devname: string; ifindex: number; mode: string; id: number }> }>>(['net', 'show']);
  for (const entry of net?.[0]?.xdp ?? []) {
    const list = out.get(entry.id) ?? [];
    list.push({ ifname: entry.devname, ifindex: entry.ifindex, mode: entry.mode });
    out.set(entry.id, list);
  }
  return out;
}

/** Opens every STOQ map on the host and groups them per stoq_xdp program. Caller closes them. */
export function discoverInstances(): StoqInstance[] {
  const opened = new Map<number, { kind: Kind; map: BpfMap }>();
  for (const kind of KINDS) {
    for (const map of BpfMap.openByName(MAP_NAMES[kind])) opened.set(mapId(map), { kind, map });
  }
  if (opened.size === 0) return [];
  const programs = bpftool<Array<{ id: number; name?: string; map_ids?: number[] }>>(['prog', 'show']);
  const empty = (): StoqInstance => ({ programId: null, attachedTo: [], config: null, stats: null, conntrack: null, xsks: null });
  if (programs === null) {
    // Without bpftool the maps cannot be grouped; one of each is unambiguous.
    const instance = empty();
    for (const { kind, map } of opened.values()) {
      if (instance[kind]) {
        closeAll([...opened.values()].map((o) => o.map));
        throw new NothingLoadedError('several STOQ instances are loaded and bpftool is not installed to tell them apart', 'install bpftool (linux-tools) or stop the other instances');
      }
      instance[kind] = map;
    }
    return [instance];
  }
  const attachments = attachmentsByProgram();
  const used = new Set<number>();
  const instances: StoqInstance[] = [];
  for (const prog of programs.filter((p) => p.name === PROGRAM_NAME)) {
    const instance: StoqInstance = { ...empty(), programId: prog.id, attachedTo: attachments.get(prog.id) ?? [] };
    for (const id of prog.map_ids ?? []) {
      const found = opened.get(id);
      if (!found) continue;
      instance[found.kind] = found.map;
      used.add(id);
    }
    instances.push(instance);
  }
  // Maps no program uses (e.g. pinned leftovers) are not reported.
  closeAll([...opened].filter(([id]) => !used.has(id)).map(([, o]) => o.map));
  return instances;
}

export function closeInstances(instances: readonly StoqInstance[]): void {
  closeAll(instances.flatMap((i) => KINDS.map((k) => i[k]).filter((m): m is BpfMap => m !== null)));
}

function closeAll(maps: readonly BpfMap[]): void {
  for (const map of maps) map.close();
}

/**
 * The instances to report: the one attached to `ifname` in this namespace, or all.
 * Throws NothingLoadedError with a hint when there is nothing to show.
 */
export function selectInstances(ifname: string | undefined): StoqInstance[] {
  const all = discoverInstances();
  const chosen = ifname ? all.filter((i) => i.attachedTo.some((a) => a.ifname === ifname)) : all;
  if (chosen.length === 0) {
    closeInstances(all);
    const where = ifname ? ` on ${ifname} in this network namespace` : '';
    throw new NothingLoadedError(
      `no STOQ XDP program (${PROGRAM_NAME}) is loaded${where}`,
      all.length > 0
        ? `${all.length} instance(s) run elsewhere: omit --interface, or run inside their namespace (ip netns exec NS stoq …)`
        : 'start one with `stoq serve --interface IF` or `stoq demo`; `stoq doctor` says whether XDP is possible here',
    );
  }
  closeInstances(all.filter((i) => !chosen.includes(i)));
  return chosen;
}

/**
 * Whether the kernel still has program `id`. The maps `top` reads stay open (and readable)
 * after their program is unloaded, so their counters alone cannot tell. null: unknown
 * (no bpftool).
 */
export function programStillLoaded(id: number): boolean | null {
  try {
    execFileSync('bpftool', ['-j', 'prog', 'show', 'id', String(id)], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? null : false;
  }
}
