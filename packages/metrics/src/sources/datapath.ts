// SPDX-License-Identifier: Apache-2.0
import { available, unavailable, type MetricSource } from '../source.js';
import { CumulativeTotals } from './cumulative.js';

/** The fields of `@stoq/transport`'s datapath stats this source reads. */
export interface DatapathStatsLike {
  /** The datapath kind, e.g. `dgram` or `xdp`. */
  readonly kind: string;
  /** Datagrams received. */
  readonly rxDatagrams: number;
  /** Bytes received (UDP payload). */
  readonly rxBytes: number;
  /** Datagrams sent. */
  readonly txDatagrams: number;
  /** Bytes sent (UDP payload). */
  readonly txBytes: number;
  /** Datagrams copied at least once between kernel and user space. */
  readonly memcpyOps: number;
  /** Datagrams that crossed with no copy (zero-copy AF_XDP only). */
  readonly zeroCopyOps: number;
}

/** What datapathSource() reads: the transport datapaths' traffic and copy accounting. */
export interface DatapathData {
  /**
   * Per datapath kind ('dgram', 'xdp') open now, summed over datapaths of that kind, closed
   * ones of the kind included: these counts never decrease (see datapathSource()).
   */
  readonly byKind: Readonly<Record<string, Omit<DatapathStatsLike, 'kind'>>>;
  /** Datagrams that crossed with no copy, over every datapath, closed ones included. */
  readonly zeroCopyOps: number;
  /** Datagrams copied at least once, over every datapath, closed ones included. */
  readonly memcpyOps: number;
}

const FIELDS = ['rxDatagrams', 'rxBytes', 'txDatagrams', 'txBytes', 'memcpyOps', 'zeroCopyOps'] as const;

/**
 * Reads what each datapath says really happened to its datagrams (copied or not);
 * the metrics never infer copies from a configured mode. The counts are kept per kind
 * (a transport hands out fresh stats objects on every call, so identity cannot tell
 * datapaths apart) and never decrease: when a kind's count drops (its datapath closed
 * or was replaced), its last count is kept, so a Prometheus counter never reads a reset.
 * A replacement that overtook the old count between two collections is missed (counted low).
 */
export function datapathSource(datapaths: (() => Iterable<DatapathStatsLike>) | null): MetricSource<DatapathData> {
  // One member per kind; fields are `<kind>.<field>` so each kind keeps its own retired counts.
  const cumulative = new CumulativeTotals<string>();
  return {
    name: 'datapath',
    collect() {
      if (datapaths === null) return unavailable('no datapath was given');
      const live = new Map<string, Record<string, number>>();
      for (const stats of datapaths()) {
        const sum = live.get(stats.kind) ?? {};
        for (const field of FIELDS) sum[`${stats.kind}.${field}`] = (sum[`${stats.kind}.${field}`] ?? 0) + stats[field];
        live.set(stats.kind, sum);
      }
      const totals = cumulative.update(live);
      if (live.size === 0) return unavailable('no datapath is open');
      const byKind: Record<string, Omit<DatapathStatsLike, 'kind'>> = {};
      for (const kind of live.keys()) {
        byKind[kind] = Object.fromEntries(FIELDS.map((f) => [f, totals[`${kind}.${f}`] ?? 0])) as Omit<DatapathStatsLike, 'kind'>;
      }
      let zeroCopyOps = 0;
      let memcpyOps = 0;
      // Kinds no longer open still count: their datagrams were copied (or not) all the same.
      for (const [key, value] of Object.entries(totals)) {
        if (key.endsWith('.zeroCopyOps')) zeroCopyOps += value;
        else if (key.endsWith('.memcpyOps')) memcpyOps += value;
      }
      return available({ byKind, zeroCopyOps, memcpyOps });
    },
  };
}
