// SPDX-License-Identifier: Apache-2.0
import { available, type MetricSource } from '../source.js';

export const CONNTRACK_STATES = ['initial', 'handshake', 'established', 'closing'] as const;
export type ConntrackState = (typeof CONNTRACK_STATES)[number];

/** One key/value pair as the loader hands it out. */
export type MapEntry = readonly [key: Buffer, value: Buffer] | { readonly key: Buffer; readonly value: Buffer };

type Entries = Iterable<MapEntry> | AsyncIterable<MapEntry>;

/**
 * The part of a loader hash map the conntrack source needs. `lookupBatch` (one
 * BPF_MAP_LOOKUP_BATCH syscall per batch) is preferred; `entries` is the fallback for
 * kernels or maps without batch support.
 */
export interface BatchMapReader {
  lookupBatch?(options: { batchSize: number }): Entries | Promise<Entries>;
  entries?(): Entries | Promise<Entries>;
  /** Set by `@stoq/loader` after lookupBatch(): whether the kernel's batch op or key iteration was used. */
  readonly lastBatchMethod?: 'batch' | 'iteration' | null;
}

/**
 * How the collection walked the map (diagnostics; not part of the exported metrics):
 * as the loader reported it, `entries` for the entries() fallback, `unknown` for a
 * lookupBatch() reader that does not say.
 */
export type ConntrackReadMethod = 'batch' | 'iteration' | 'entries' | 'unknown';

export interface ConntrackData {
  readonly entries: number;
  readonly byState: Readonly<Record<ConntrackState, number>>;
  readonly readMethod: ConntrackReadMethod;
}

export interface ConntrackSourceOptions {
  /** The `stoq_conntrack` LRU hash (`obj.map('stoq_conntrack')`). */
  readonly map: BatchMapReader;
  /**
   * Returns the entry's state name. `decodeConntrack` from `@stoq/bpf-programs` works; reading
   * only the state field (`CT_VALUE_LAYOUT.offsets.state`) is about 4× cheaper on a full map.
   */
  readonly decode: (key: Buffer, value: Buffer) => { readonly state: string };
  /** Entries per BPF_MAP_LOOKUP_BATCH call. Default 4096. */
  readonly batchSize?: number;
}

/** Counts `stoq_conntrack` entries per state by iterating the whole map in batches. */
export function conntrackSource(options: ConntrackSourceOptions): MetricSource<ConntrackData> {
  const batchSize = options.batchSize ?? 4096;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  return {
    name: 'conntrack',
    async collect() {
      const byState: Record<ConntrackState, number> = { initial: 0, handshake: 0, established: 0, closing: 0 };
      let entries = 0;
      const count = (entry: MapEntry) => {
        const [key, value] = isPair(entry) ? entry : [entry.key, entry.value];
        const decoded = options.decode(key, value);
        if (!(decoded.state in byState)) throw new RangeError(`unknown conntrack state ${JSON.stringify(decoded.state)}`);
        byState[decoded.state as ConntrackState]++;
        entries++;
      };
      const all = await readAll(options.map, batchSize);
      // A plain loop when the loader hands back an array: for-await would cost a microtask per entry.
      if (Symbol.iterator in all) for (const entry of all) count(entry);
      else for await (const entry of all) count(entry);
      const readMethod: ConntrackReadMethod = options.map.lookupBatch ? (options.map.lastBatchMethod ?? 'unknown') : 'entries';
      return available({ entries, byState, readMethod });
    },
  };
}

function isPair(entry: MapEntry): entry is readonly [Buffer, Buffer] {
  return Array.isArray(entry);
}

function readAll(map: BatchMapReader, batchSize: number): Entries | Promise<Entries> {
  if (map.lookupBatch) return map.lookupBatch({ batchSize });
  if (map.entries) return map.entries();
  throw new TypeError('conntrack map has neither lookupBatch() nor entries()');
}
