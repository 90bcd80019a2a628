// SPDX-License-Identifier: Apache-2.0
// The stoq_xdp layouts come from @stoq/bpf-programs, an optional peer: loaded lazily so
// this package still imports (and reports "unavailable, because …") where it is absent.
import type { ConntrackSummaryLike } from '../sources/conntrack.js';
import type { DecodedStats } from '../sources/xdp-stats.js';

export interface StoqCodecs {
  readonly statsMapName: string;
  readonly conntrackMapName: string;
  readonly decodeStats: (perCpuValues: Buffer[]) => DecodedStats;
  readonly sizeBucketLimits: readonly number[];
  /** Reads only the state field of a stoq_conntrack value: all the collector counts. */
  readonly conntrackStateOf: (key: Buffer, value: Buffer) => { state: string };
  /** The in-kernel state counter (stoq_ct_states), or why this @stoq/bpf-programs has none. */
  readonly ctStates: CtStatesCodec | { readonly unavailable: string };
}

/** Where the stoq_ct_states iterator of `@stoq/bpf-programs` is, and how to decode its record. */
export interface CtStatesCodec {
  /** Path of stoq_ct_states.bpf.o. */
  readonly objectPath: string;
  /** The iterator program's name in it. */
  readonly programName: string;
  /** Decodes the one record a pass writes (`decodeConntrackSummary`). */
  readonly decode: (record: Buffer) => ConntrackSummaryLike;
}

interface BpfProgramsModule {
  MAP_NAMES: { stats: string; conntrack: string };
  decodeStats: (perCpuValues: readonly Uint8Array[]) => DecodedStats;
  SIZE_BUCKET_LIMITS: readonly number[];
  CONNTRACK_STATES: Readonly<Record<string, number>>;
  CT_VALUE_LAYOUT: { offsets: { state: number } };
  // Since 0.1.x with stoq_ct_states; absent in older copies.
  ctStatesObjectPath?: string;
  CT_STATES_PROGRAM_NAME?: string;
  decodeConntrackSummary?: (record: Buffer) => ConntrackSummaryLike;
}

/** Imports @stoq/bpf-programs; on failure returns why, so the kernel sources can say so. */
export async function loadStoqCodecs(): Promise<StoqCodecs | { unavailable: string }> {
  let m: BpfProgramsModule;
  try {
    m = (await import('@stoq/bpf-programs')) as unknown as BpfProgramsModule;
  } catch (error) {
    return { unavailable: `@stoq/bpf-programs cannot be loaded (${describe(error)}): install it next to @stoq/metrics to read stoq_xdp maps` };
  }
  const names = new Map(Object.entries(m.CONNTRACK_STATES).map(([name, value]) => [value, name]));
  const stateOffset = m.CT_VALUE_LAYOUT.offsets.state;
  return {
    statsMapName: m.MAP_NAMES.stats,
    conntrackMapName: m.MAP_NAMES.conntrack,
    decodeStats: m.decodeStats,
    sizeBucketLimits: m.SIZE_BUCKET_LIMITS,
    ctStates:
      m.ctStatesObjectPath && m.CT_STATES_PROGRAM_NAME && m.decodeConntrackSummary
        ? { objectPath: m.ctStatesObjectPath, programName: m.CT_STATES_PROGRAM_NAME, decode: m.decodeConntrackSummary }
        : { unavailable: 'this @stoq/bpf-programs has no stoq_ct_states iterator' },
    conntrackStateOf(_key, value) {
      const raw = value.readUInt32LE(stateOffset);
      const state = names.get(raw);
      if (state === undefined) throw new RangeError(`stoq_conntrack value has unknown state ${raw}`);
      return { state };
    },
  };
}

export function describe(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return e?.code ?? e?.message ?? String(error);
}
