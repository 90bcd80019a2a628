// Reads one STOQ instance's maps and decodes them: config, summed counters and
// frame-size histogram, conntrack entries with their states and ages.
import { decodeConfig, decodeConntrack, decodeStats, SIZE_BUCKET_LIMITS, type StoqConfig, type StoqStats } from '@stoq/bpf-programs';
import type { Attachment, StoqInstance } from './discover.js';

export interface ConntrackRow {
  peer: string;
  localPort: number;
  state: string;
  packets: number;
  bytes: number;
  /** Seconds since first and last packet (both clocks are CLOCK_MONOTONIC). */
  ageS: number;
  idleS: number;
}

export interface InstanceSnapshot {
  programId: number | null;
  attachedTo: Attachment[];
  /** process.hrtime (CLOCK_MONOTONIC, same clock as bpf_ktime_get_ns) at read time, in ns. */
  readAtNs: string;
  config: StoqConfig | null;
  stats: (StoqStats & { sizeBuckets: string[] }) | null;
  conntrack: { entries: ConntrackRow[]; states: Record<string, number>; maxEntries: number } | null;
  xsks: { maxEntries: number } | null;
}

const KEY0 = Buffer.alloc(4);

export const SIZE_BUCKET_LABELS = SIZE_BUCKET_LIMITS.map((limit, i) =>
  limit === Infinity ? `>${SIZE_BUCKET_LIMITS[i - 1]}` : `≤${limit}`,
);

export function readStats(instance: StoqInstance): StoqStats | null {
  const values = instance.stats?.lookupPerCpu(KEY0);
  return values ? decodeStats(values) : null;
}

export function readConntrack(instance: StoqInstance, withEntries: boolean, now: bigint): InstanceSnapshot['conntrack'] {
  if (!instance.conntrack) return null;
  const entries: ConntrackRow[] = [];
  const states: Record<string, number> = {};
  for (const [key, value] of instance.conntrack.lookupBatch()) {
    const e = decodeConntrack(key, value);
    states[e.state] = (states[e.state] ?? 0) + 1;
    if (!withEntries) continue;
    entries.push({
      peer: `[${e.peerAddress}]:${e.peerPort}`,
      localPort: e.localPort,
      state: e.state,
      packets: e.packets,
      bytes: e.bytes,
      ageS: Number(now - e.firstSeenNs) / 1e9,
      idleS: Number(now - e.lastSeenNs) / 1e9,
    });
  }
  entries.sort((a, b) => a.idleS - b.idleS);
  return { entries, states, maxEntries: instance.conntrack.maxEntries };
}

export function snapshot(instance: StoqInstance): InstanceSnapshot {
  const now = process.hrtime.bigint();
  const configValue = instance.config?.lookup(KEY0);
  const stats = readStats(instance);
  return {
    programId: instance.programId,
    attachedTo: instance.attachedTo,
    readAtNs: now.toString(),
    config: configValue ? decodeConfig(configValue) : null,
    stats: stats ? { ...stats, sizeBuckets: SIZE_BUCKET_LABELS } : null,
    conntrack: readConntrack(instance, true, now),
    xsks: instance.xsks ? { maxEntries: instance.xsks.maxEntries } : null,
  };
}
