// SPDX-License-Identifier: Apache-2.0
import { checkFunction, checkOptions, invalidArgument } from '../errors.js';
import { available, type MetricSource } from '../source.js';

/** The conntrack states counted, in enum stoq_ct_state order. */
export const CONNTRACK_STATES = ['initial', 'handshake', 'established', 'closing'] as const;
/** One of CONNTRACK_STATES. */
export type ConntrackState = (typeof CONNTRACK_STATES)[number];

/** One key/value pair as the loader hands it out. */
export type MapEntry =
  | readonly [key: Buffer, value: Buffer]
  | {
      /** The entry's key bytes. */
      readonly key: Buffer;
      /** The entry's value bytes. */
      readonly value: Buffer;
    };

/** What a map reader hands out: entries, synchronously or asynchronously iterable. */
export type MapEntries = Iterable<MapEntry> | AsyncIterable<MapEntry>;

/**
 * The part of a loader hash map the conntrack source needs. `lookupBatch` (one
 * BPF_MAP_LOOKUP_BATCH syscall per batch) is preferred; `entries` is the fallback for
 * kernels or maps without batch support.
 */
export interface BatchMapReader {
  /** Every entry, read `batchSize` at a time (`@stoq/loader`'s BpfMap.lookupBatch). */
  lookupBatch?(options: { batchSize: number }): MapEntries | Promise<MapEntries>;
  /** Every entry, key by key: the fallback when lookupBatch is absent. */
  entries?(): MapEntries | Promise<MapEntries>;
  /** Set by `@stoq/loader` after lookupBatch(): whether the kernel's batch op or key iteration was used. */
  readonly lastBatchMethod?: 'batch' | 'iteration' | null;
}

/**
 * How the collection walked the map (diagnostics; not part of the exported metrics):
 * as the loader reported it, `entries` for the entries() fallback, `unknown` for a
 * lookupBatch() reader that does not say.
 */
export type ConntrackReadMethod = 'iterator' | 'batch' | 'iteration' | 'entries' | 'unknown';

/** What conntrackSource() reads: stoq_conntrack entries per state. */
export interface ConntrackData {
  /** Entries in the map. */
  readonly entries: number;
  /** Entries per state. */
  readonly byState: Readonly<Record<ConntrackState, number>>;
  /** How this collection read the map (diagnostics). */
  readonly readMethod: ConntrackReadMethod;
  /** Why the in-kernel iterator was not used (absent when readMethod is `iterator`). */
  readonly iteratorUnavailable?: string;
}

/** What one in-kernel pass over stoq_conntrack returns (`decodeConntrackSummary` of @stoq/bpf-programs). */
export interface ConntrackSummaryLike {
  /** Entries in the map. */
  readonly entries: number;
  /** Entries per state. */
  readonly byState: Readonly<Record<ConntrackState, number>>;
  /** Entries with a state outside the enum: a collection error, as on the batch path. */
  readonly unknownState: number;
}

/**
 * Counts the map in the kernel (the stoq_ct_states iterator): one pass, one record,
 * no per-entry copy. `close()` releases its link/object when the collector closes.
 */
export interface ConntrackSummaryReader {
  /** Runs one in-kernel pass and returns its counts; throws if the pass fails. */
  read(): ConntrackSummaryLike;
  /** Releases what the reader holds (the iterator link and its program). */
  close?(): void;
}

/** Options of conntrackSource(). */
export interface ConntrackSourceOptions {
  /** The `stoq_conntrack` LRU hash (`obj.map('stoq_conntrack')`). */
  readonly map: BatchMapReader;
  /**
   * Returns the entry's state name. `decodeConntrack` from `@stoq/bpf-programs` works; reading
   * only the state field (`CT_VALUE_LAYOUT.offsets.state`) is about 4× cheaper on a full map.
   */
  readonly decode: (key: Buffer, value: Buffer) => {
    /** The state name, one of CONNTRACK_STATES. */
    readonly state: string;
  };
  /** Entries per BPF_MAP_LOOKUP_BATCH call. Default 4096. */
  readonly batchSize?: number;
  /**
   * Preferred over walking the map: counts states in the kernel. A reader or, when it
   * cannot be had, why (reported as `iteratorUnavailable`; the map is walked instead).
   */
  readonly summary?: ConntrackSummaryReader | {
    /** Why no in-kernel reader could be had. */
    readonly unavailable: string;
  };
}

/**
 * Counts `stoq_conntrack` entries per state: in the kernel when a summary reader is
 * given, else by reading the whole map in batches. A reader that fails once is dropped
 * for good (its reason reported) and the map is walked from then on.
 */
export function conntrackSource(options: ConntrackSourceOptions): MetricSource<ConntrackData> {
  checkOptions('options', options);
  checkFunction('decode', options.decode);
  const batchSize = options.batchSize ?? 4096;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw invalidArgument('batchSize', 'a positive integer', batchSize);
  let summary: ConntrackSummaryReader | null = options.summary && 'read' in options.summary ? options.summary : null;
  let iteratorUnavailable = options.summary && 'unavailable' in options.summary ? options.summary.unavailable : 'no stoq_ct_states iterator was given';
  return {
    name: 'conntrack',
    close() {
      summary?.close?.();
      summary = null;
    },
    async collect() {
      const counted = summary ? readSummary(summary) : null;
      if (counted && 'unknownState' in counted) {
        if (counted.unknownState > 0) throw new RangeError(`${counted.unknownState} stoq_conntrack entries have an unknown state`);
        return available({ entries: counted.entries, byState: { ...counted.byState }, readMethod: 'iterator' as const });
      }
      if (counted) {
        iteratorUnavailable = counted.failed;
        summary?.close?.();
        summary = null;
      }
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
      return available({ entries, byState, readMethod, iteratorUnavailable });
    },
  };
}

function readSummary(reader: ConntrackSummaryReader): ConntrackSummaryLike | { failed: string } {
  try {
    return reader.read();
  } catch (error) {
    return { failed: `stoq_ct_states read failed (${error instanceof Error ? error.message : String(error)}); walking the map instead` };
  }
}

function isPair(entry: MapEntry): entry is readonly [Buffer, Buffer] {
  return Array.isArray(entry);
}

function readAll(map: BatchMapReader, batchSize: number): MapEntries | Promise<MapEntries> {
  if (map.lookupBatch) return map.lookupBatch({ batchSize });
  if (map.entries) return map.entries();
  throw new TypeError('conntrack map has neither lookupBatch() nor entries()');
}
