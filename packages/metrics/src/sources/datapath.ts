// SPDX-License-Identifier: Apache-2.0
import { available, unavailable, type MetricSource } from '../source.js';

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
  /** Per datapath kind ('dgram', 'xdp'), summed over datapaths of that kind. */
  readonly byKind: Readonly<Record<string, Omit<DatapathStatsLike, 'kind'>>>;
  /** Datagrams that crossed with no copy, over every datapath. */
  readonly zeroCopyOps: number;
  /** Datagrams copied at least once, over every datapath. */
  readonly memcpyOps: number;
}

/**
 * Reads what each datapath says really happened to its datagrams (copied or not);
 * the metrics never infer copies from a configured mode.
 */
export function datapathSource(datapaths: (() => Iterable<DatapathStatsLike>) | null): MetricSource<DatapathData> {
  return {
    name: 'datapath',
    collect() {
      if (datapaths === null) return unavailable('no datapath was given');
      const byKind: Record<string, Omit<DatapathStatsLike, 'kind'>> = {};
      let zeroCopyOps = 0;
      let memcpyOps = 0;
      for (const stats of datapaths()) {
        const sum = byKind[stats.kind] ?? { rxDatagrams: 0, rxBytes: 0, txDatagrams: 0, txBytes: 0, memcpyOps: 0, zeroCopyOps: 0 };
        byKind[stats.kind] = {
          rxDatagrams: sum.rxDatagrams + stats.rxDatagrams,
          rxBytes: sum.rxBytes + stats.rxBytes,
          txDatagrams: sum.txDatagrams + stats.txDatagrams,
          txBytes: sum.txBytes + stats.txBytes,
          memcpyOps: sum.memcpyOps + stats.memcpyOps,
          zeroCopyOps: sum.zeroCopyOps + stats.zeroCopyOps,
        };
        zeroCopyOps += stats.zeroCopyOps;
        memcpyOps += stats.memcpyOps;
      }
      if (Object.keys(byKind).length === 0) return unavailable('no datapath is open');
      return available({ byKind, zeroCopyOps, memcpyOps });
    },
  };
}
