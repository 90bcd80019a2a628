// SPDX-License-Identifier: Apache-2.0
import { available, unavailable, type MetricSource } from '../source.js';
import { CumulativeTotals } from './cumulative.js';
import { checkFunction } from '../errors.js';

/** The fields of `@stoq/transport`'s datapath stats this source reads. */
export interface DatapathStatsLike {
  /** The datapath kind, e.g. `dgram` or `xdp`. */
  readonly kind: string;
  /** Identifies one datapath across collections (`@stoq/transport` ≥ 0.1.1 sets it); without it datapaths are told apart by kind only. */
  readonly id?: number;
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
 * the metrics never infer copies from a configured mode. The counts never decrease,
 * so a Prometheus counter never reads a reset: each datapath's last counts are kept
 * when it closes. Datapaths are told apart by `id` (a transport hands out fresh stats
 * objects on every call, so object identity cannot); stats without one are summed per
 * kind, and when a kind's sum drops only the drop is kept (several datapaths of one kind
 * may stand behind it): that may count low, never twice.
 */
export function datapathSource(datapaths: (() => Iterable<DatapathStatsLike>) | null): MetricSource<DatapathData> {
  checkFunction('datapaths', datapaths, true);
  // One member per kind; fields are `<kind>.<field>` so each kind keeps its own retired counts.
  // Fields are `<kind>.<field>`, so each kind keeps its own retired counts.
  const byId = new CumulativeTotals<string>();
  const byKindSum = new CumulativeTotals<string>([], { retireDropOnly: true });
  return {
    name: 'datapath',
    collect() {
      if (datapaths === null) return unavailable('no datapath was given');
      const identified = new Map<string, Record<string, number>>();
      const summed = new Map<string, Record<string, number>>();
      const kinds = new Set<string>();
      for (const stats of datapaths()) {
        kinds.add(stats.kind);
        const [map, key] = stats.id === undefined ? [summed, stats.kind] : [identified, `${stats.kind}#${stats.id}`];
        const sum = map.get(key) ?? {};
        for (const field of FIELDS) sum[`${stats.kind}.${field}`] = (sum[`${stats.kind}.${field}`] ?? 0) + stats[field];
        map.set(key, sum);
      }
      const totals = byId.update(identified);
      for (const [field, value] of Object.entries(byKindSum.update(summed))) totals[field] = (totals[field] ?? 0) + value;
      if (kinds.size === 0) return unavailable('no datapath is open');
      const byKind: Record<string, Omit<DatapathStatsLike, 'kind'>> = {};
      for (const kind of kinds) {
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
