// SPDX-License-Identifier: Apache-2.0
/**
 * The single list of every Prometheus metric this package exports: name, type, unit,
 * labels, help, and how its samples are read from a snapshot. Dashboards depend on
 * these names: renaming or removing one, or changing its labels, is a major version
 * (test/metric-names.snapshot.json pins them and README.md documents them).
 */
import type { MetricsSnapshot, SourceKey } from './collector.js';
import { CONNTRACK_STATES } from './sources/conntrack.js';

/**
 * A Prometheus metric type: `counter` only ever increases (until the program reloads), `gauge` may
 * go down.
 */
export type MetricType = 'counter' | 'gauge';

/** One sample of a metric: its label values and its value. */
export interface Sample {
  /** Label values by label name. */
  readonly labels: Readonly<Record<string, string>>;
  /** The value, in the metric's base unit. */
  readonly value: number;
}

/** One exported Prometheus metric. */
export interface MetricDefinition {
  /** The metric name, e.g. `stoq_xdp_packets_total` (pinned by the metric-names snapshot test). */
  readonly name: string;
  /** Counter or gauge. */
  readonly type: MetricType;
  /** Base unit ('seconds', 'bytes', 'packets', 'ratio', 'connections', 'entries', '1'). */
  readonly unit: string;
  /** The label names its samples carry. */
  readonly labels: readonly string[];
  /** The HELP text. */
  readonly help: string;
  /** Samples for this snapshot; an unavailable source yields none (the series is omitted). */
  readonly read: (snapshot: MetricsSnapshot) => readonly Sample[];
}

const NO_LABELS = {};
const one = (value: number | null | undefined): Sample[] => (value == null ? [] : [{ labels: NO_LABELS, value }]);

function data<K extends SourceKey>(s: MetricsSnapshot, key: K) {
  const reading = s.readings[key];
  return reading.available ? (reading.data as Extract<MetricsSnapshot['readings'][K], { available: true }>['data']) : null;
}

const SOURCE_LABELS: Record<SourceKey | 'latency', string> = {
  xdpStats: 'xdp_stats',
  conntrack: 'conntrack',
  afXdp: 'af_xdp',
  quic: 'quic',
  datapath: 'datapath',
  process: 'process',
  latency: 'latency',
};

/** Kernel XDP_STATISTICS fields of an AF_XDP socket, each exported as its own counter. */
const AF_XDP_KERNEL_STATS = [
  ['rx_dropped', 'Frames the kernel dropped for this socket (e.g. no room in UMEM).'],
  ['rx_invalid_descs', 'Invalid descriptors found on the RX ring.'],
  ['tx_invalid_descs', 'Invalid descriptors found on the TX ring.'],
  ['rx_ring_full', 'Frames dropped because the RX ring was full.'],
  ['rx_fill_ring_empty_descs', 'Times the fill ring was found empty when a frame arrived.'],
  ['tx_ring_empty_descs', 'Times the TX ring was found empty when the kernel looked for work.'],
] as const;

const LATENCY_QUANTILES = [
  ['0', 'minUs'],
  ['0.5', 'p50Us'],
  ['0.95', 'p95Us'],
  ['0.99', 'p99Us'],
  ['1', 'maxUs'],
] as const;

/**
 * Every metric this package exports, in exposition order; registerStoqMetrics() and serveMetrics()
 * read them from here.
 */
export const METRIC_CATALOG: readonly MetricDefinition[] = [
  {
    name: 'stoq_source_up',
    type: 'gauge',
    unit: '1',
    labels: ['source'],
    help: '1 when the source could be read at the last collection, 0 when it is absent or failed (its series are then omitted).',
    read: (s) => [
      ...Object.entries(s.readings).map(([key, r]) => ({ labels: { source: SOURCE_LABELS[key as SourceKey] }, value: r.available ? 1 : 0 })),
      { labels: { source: 'latency' }, value: s.latency.available ? 1 : 0 },
    ],
  },
  {
    name: 'stoq_source_collect_errors_total',
    type: 'counter',
    unit: '1',
    labels: ['source'],
    help: 'Collections in which reading the source threw an error.',
    read: (s) => Object.entries(s.sourceErrors).map(([source, value]) => ({ labels: { source }, value })),
  },
  {
    name: 'stoq_xdp_rx_packets_total',
    type: 'counter',
    unit: 'packets',
    labels: [],
    help: 'Frames seen by the stoq_xdp program, all verdicts (summed over CPUs).',
    read: (s) => one(data(s, 'xdpStats')?.counters['rx_packets']),
  },
  {
    name: 'stoq_xdp_rx_bytes_total',
    type: 'counter',
    unit: 'bytes',
    labels: [],
    help: 'Bytes of the frames seen by the stoq_xdp program.',
    read: (s) => one(data(s, 'xdpStats')?.counters['rx_bytes']),
  },
  {
    name: 'stoq_xdp_packets_total',
    type: 'counter',
    unit: 'packets',
    labels: ['verdict'],
    help: 'Frames per classification counter of stoq_xdp (verdict = counter name, e.g. quic_redirected, ipv4_dropped).',
    read: (s) =>
      Object.entries(data(s, 'xdpStats')?.counters ?? {})
        .filter(([name]) => name !== 'rx_packets' && name !== 'rx_bytes')
        .map(([verdict, value]) => ({ labels: { verdict }, value })),
  },
  {
    name: 'stoq_xdp_frame_size_packets_total',
    type: 'counter',
    unit: 'packets',
    labels: ['size_max_bytes'],
    help: 'Frames per size bucket (not cumulative); size_max_bytes is the bucket upper bound, "+Inf" for larger frames.',
    read: (s) => {
      const stats = data(s, 'xdpStats');
      if (stats === null) return [];
      return stats.sizeHistogram.map((value, i) => {
        const limit = stats.sizeBucketLimits[i] ?? Infinity;
        return { labels: { size_max_bytes: Number.isFinite(limit) ? String(limit) : '+Inf' }, value };
      });
    },
  },
  {
    name: 'stoq_xdp_rx_packets_per_second',
    type: 'gauge',
    unit: 'packets/second',
    labels: [],
    help: 'Frames per second seen by stoq_xdp over the collector window.',
    read: (s) => one(s.rates?.packetsPerSecond),
  },
  {
    name: 'stoq_xdp_rx_bytes_per_second',
    type: 'gauge',
    unit: 'bytes/second',
    labels: [],
    help: 'Bytes per second seen by stoq_xdp over the collector window.',
    read: (s) => one(s.rates?.bytesPerSecond),
  },
  {
    name: 'stoq_xdp_packets_per_second',
    type: 'gauge',
    unit: 'packets/second',
    labels: ['verdict'],
    help: 'Frames per second per classification counter over the collector window.',
    read: (s) =>
      Object.entries(s.rates?.perVerdict ?? {}).flatMap(([verdict, value]) => (value === null ? [] : [{ labels: { verdict }, value }])),
  },
  {
    name: 'stoq_conntrack_entries',
    type: 'gauge',
    unit: 'entries',
    labels: ['state'],
    help: 'Entries of the stoq_conntrack LRU map per QUIC state (initial, handshake, established, closing).',
    read: (s) => {
      const c = data(s, 'conntrack');
      return c === null ? [] : CONNTRACK_STATES.map((state) => ({ labels: { state }, value: c.byState[state] }));
    },
  },
  {
    name: 'stoq_afxdp_sockets',
    type: 'gauge',
    unit: 'sockets',
    labels: ['mode'],
    help: 'Open AF_XDP sockets per bind mode (zerocopy, copy).',
    read: (s) => {
      const a = data(s, 'afXdp');
      return a === null
        ? []
        : [
            { labels: { mode: 'zerocopy' }, value: a.zerocopySockets },
            { labels: { mode: 'copy' }, value: a.copySockets },
          ];
    },
  },
  ...AF_XDP_KERNEL_STATS.map(
    ([field, help]): MetricDefinition => ({
      name: `stoq_afxdp_${field}_total`,
      type: 'counter',
      unit: field.endsWith('descs') ? 'descriptors' : 'packets',
      labels: [],
      // A closed socket's last counts stay in the sum (afXdpSource): a counter must never go down.
      help: `${help} Summed over AF_XDP sockets, closed ones included (XDP_STATISTICS).`,
      read: (s) => one(data(s, 'afXdp')?.totals[field]),
    }),
  ),
  {
    name: 'stoq_datapath_zero_copy_packets_total',
    type: 'counter',
    unit: 'packets',
    labels: [],
    help: 'Packets that crossed kernel and user space with no copy (zero-copy AF_XDP only), as the datapaths report them, closed ones included.',
    read: (s) => one(opsOf(s)?.zeroCopyOps),
  },
  {
    name: 'stoq_datapath_memcpy_packets_total',
    type: 'counter',
    unit: 'packets',
    labels: [],
    help: 'Packets copied at least once between kernel and user space (copy-mode AF_XDP, dgram), closed datapaths included.',
    read: (s) => one(opsOf(s)?.memcpyOps),
  },
  {
    name: 'stoq_quic_connections',
    type: 'gauge',
    unit: 'connections',
    labels: [],
    help: 'Open QUIC connections.',
    read: (s) => one(data(s, 'quic')?.connections),
  },
  {
    name: 'stoq_quic_rtt_seconds',
    type: 'gauge',
    unit: 'seconds',
    labels: ['stat'],
    help: 'Smoothed RTT over open QUIC connections that have an RTT sample: stat = min, avg or max.',
    read: (s) => {
      const rtt = data(s, 'quic')?.rttUs;
      return rtt == null ? [] : (['min', 'avg', 'max'] as const).map((stat) => ({ labels: { stat }, value: rtt[stat] / 1e6 }));
    },
  },
  {
    name: 'stoq_quic_cwnd_bytes',
    type: 'gauge',
    unit: 'bytes',
    labels: [],
    help: 'Sum of the congestion windows of open QUIC connections.',
    read: (s) => one(data(s, 'quic')?.cwndBytes),
  },
  {
    name: 'stoq_quic_lost_packets',
    type: 'gauge',
    unit: 'packets',
    labels: [],
    help: 'Packets declared lost, summed over open QUIC connections (a gauge: closed connections leave the sum).',
    read: (s) => one(data(s, 'quic')?.lostPackets),
  },
  {
    name: 'stoq_quic_retransmitted_packets',
    type: 'gauge',
    unit: 'packets',
    labels: [],
    help: 'Packets retransmitted, summed over open QUIC connections (a gauge: closed connections leave the sum).',
    read: (s) => one(data(s, 'quic')?.retransmittedPackets),
  },
  {
    name: 'stoq_latency_kernel_to_user_seconds',
    type: 'gauge',
    unit: 'seconds',
    labels: ['quantile'],
    help: 'Kernel-to-user latency of received frames (XDP metadata timestamp to userspace), quantiles 0 (min), 0.5, 0.95, 0.99, 1 (max).',
    read: (s) => {
      if (!s.latency.available) return [];
      const l = s.latency.data;
      return LATENCY_QUANTILES.map(([quantile, field]) => ({ labels: { quantile }, value: l[field] / 1e6 }));
    },
  },
  {
    name: 'stoq_latency_kernel_to_user_mean_seconds',
    type: 'gauge',
    unit: 'seconds',
    labels: [],
    help: 'Mean kernel-to-user latency of received frames.',
    read: (s) => one(s.latency.available ? s.latency.data.avgUs / 1e6 : null),
  },
  {
    name: 'stoq_latency_kernel_to_user_samples',
    type: 'gauge',
    unit: 'samples',
    labels: [],
    help: 'Frames whose latency the quantiles are computed from (since the recorder was last reset).',
    read: (s) => one(s.latency.available ? s.latency.data.count : null),
  },
  {
    name: 'stoq_process_cpu_seconds_total',
    type: 'counter',
    unit: 'seconds',
    labels: [],
    help: 'User + system CPU time of this process (/proc/self/stat).',
    read: (s) => one(data(s, 'process')?.processCpuSeconds),
  },
  {
    name: 'stoq_process_cpu_usage_ratio',
    type: 'gauge',
    unit: 'ratio',
    labels: [],
    help: 'CPU used by this process between the last two collections, as a fraction of one core.',
    read: (s) => one(s.cpu?.processPercent == null ? null : s.cpu.processPercent / 100),
  },
  {
    name: 'stoq_cpu_core_busy_ratio',
    type: 'gauge',
    unit: 'ratio',
    labels: ['core'],
    help: 'Busy fraction of each core between the last two collections (/proc/stat, all processes).',
    // perCorePercent is indexed by CPU number, so the label is the CPU number, not a position.
    read: (s) => (s.cpu?.perCorePercent ?? []).flatMap((p, cpu) => (p === null ? [] : [{ labels: { core: String(cpu) }, value: p / 100 }])),
  },
  {
    name: 'stoq_process_resident_memory_bytes',
    type: 'gauge',
    unit: 'bytes',
    labels: [],
    help: 'Resident set size of this process.',
    read: (s) => one(data(s, 'process')?.rssBytes),
  },
  {
    name: 'stoq_afxdp_umem_bytes',
    type: 'gauge',
    unit: 'bytes',
    labels: [],
    help: 'UMEM bytes mapped by the AF_XDP sockets, as reported by their owner.',
    read: (s) => one(data(s, 'process')?.umemBytes),
  },
];

function opsOf(s: MetricsSnapshot): { zeroCopyOps: number; memcpyOps: number } | null {
  const datapath = data(s, 'datapath');
  if (datapath !== null) return datapath;
  const afXdp = data(s, 'afXdp');
  return afXdp === null ? null : { zeroCopyOps: afXdp.zerocopyPackets, memcpyOps: afXdp.copyPackets };
}
