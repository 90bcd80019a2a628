// SPDX-License-Identifier: Apache-2.0
import type { MetricsSnapshot } from './collector.js';
import { invalidArgument } from './errors.js';
import type { SourceReading } from './source.js';

/** Marks a section: `available: false` (with why) means "not measured", never zero. */
export type EbpfMetricsSection<T> =
  | ({
      /** The section was measured. */
      readonly available: true;
    } & T)
  | {
      /** The section was not measured. */
      readonly available: false;
      /** Why not, e.g. `@stoq/loader cannot be loaded (…)`. */
      readonly reason: string;
    };

/** The `transport.getEbpfMetrics()` shape of DESIGN.md, JSON-serialisable. */
export interface EbpfMetrics {
  /** When the snapshot was collected, ms since the epoch. */
  readonly takenAtMs: number;
  /** What stoq_xdp saw on the interface (stoq_stats), with rates over the collector's window. */
  readonly packetMetrics: EbpfMetricsSection<{
    /** Frames the program has seen (rx_packets), since it was loaded. */
    readonly packetsTotal: number;
    /** Frame bytes the program has seen (rx_bytes), since it was loaded. */
    readonly bytesTotal: number;
    /** Frames per second over the rate window; null until the window holds two collections. */
    readonly packetsPerSecond: number | null;
    /** Bytes per second over the rate window; null until the window holds two collections. */
    readonly bytesPerSecond: number | null;
    /** Each verdict counter (e.g. quic_redirected, ipv4_dropped): frames since load and per second. */
    readonly verdicts: Readonly<Record<string, {
      /** Frames since the program was loaded. */
      readonly total: number;
      /** Frames per second over the rate window, or null. */
      readonly perSecond: number | null;
    }>>;
    /** The frame-size histogram, smallest bucket first. */
    readonly frameSizes: readonly {
      /** The bucket's inclusive upper bound in bytes; null for the last ("larger") bucket. */
      readonly maxBytes: number | null;
      /** Frames in the bucket since the program was loaded. */
      readonly packets: number;
    }[];
  }>;
  /** Flows the kernel tracks and the QUIC connections of this process. */
  readonly connectionMetrics: {
    /** stoq_conntrack entries. */
    readonly conntrack: EbpfMetricsSection<{
      /** Entries in the map. */
      readonly entries: number;
      /** Entries per state (initial, handshake, established, closing). */
      readonly byState: Readonly<Record<string, number>>;
    }>;
    /** Aggregates over the QUIC connections open now. */
    readonly quic: EbpfMetricsSection<{
      /** Open connections. */
      readonly connections: number;
      /** Smoothed RTT over the open connections, µs; null with no connection. */
      readonly rttUs: {
        /** Smallest, µs. */
        readonly min: number;
        /** Mean, µs. */
        readonly avg: number;
        /** Largest, µs. */
        readonly max: number;
      } | null;
      /** Congestion windows summed over the open connections, bytes. */
      readonly cwndBytes: number;
      /** Packets declared lost, summed over the open connections. */
      readonly lostPackets: number;
      /** Retransmitted packets, summed over the open connections. */
      readonly retransmittedPackets: number;
    }>;
  };
  /** Kernel→user latency of received frames (XDP metadata timestamp to user space), µs. */
  readonly latencyMetrics: EbpfMetricsSection<{
    /** Frames measured. */
    readonly samples: number;
    /** Smallest, µs. */
    readonly minUs: number;
    /** Mean, µs. */
    readonly avgUs: number;
    /** Median, µs. */
    readonly p50Us: number;
    /** 95th percentile, µs. */
    readonly p95Us: number;
    /** 99th percentile, µs. */
    readonly p99Us: number;
    /** Largest, µs. */
    readonly maxUs: number;
  }>;
  /**
   * `zeroCopyOps`/`memcpyOps`: packets that crossed kernel↔user with no copy / copied at
   * least once, as the datapaths report them; `available` refers to these two. RSS and
   * UMEM size have their own availability under `process`.
   */
  readonly memoryMetrics: EbpfMetricsSection<{
    /** Packets that crossed kernel↔user with no copy (zero-copy AF_XDP). */
    readonly zeroCopyOps: number;
    /** Packets copied at least once between kernel and user space. */
    readonly memcpyOps: number;
  }> & {
    /** This process's memory. */
    readonly process: EbpfMetricsSection<{
      /** Resident set size, bytes. */
      readonly rssBytes: number;
      /** UMEM mapped by AF_XDP sockets, bytes; null when none. */
      readonly umemBytes: number | null;
    }>;
  };
  /** CPU use between the last two collections (null values on the first collection). */
  readonly cpuMetrics: EbpfMetricsSection<{
    /** This process's CPU time, % of one core. */
    readonly processPercent: number | null;
    /** Busy share of each core, %, indexed by CPU number (null for a CPU offline at either collection). */
    readonly perCorePercent: readonly (number | null)[];
  }>;
}

function section<T, R>(reading: SourceReading<T>, map: (data: T) => R): EbpfMetricsSection<R> {
  return reading.available ? { available: true, ...map(reading.data) } : { available: false, reason: reading.reason };
}

/**
 * The `getEbpfMetrics()` shape of a snapshot: every source that was not measured becomes a section
 * with `available: false` and its reason. Throws StoqMetricsError (STOQ_ERR_INVALID_ARGUMENT) for
 * anything but a snapshot (e.g. `collector.lastSnapshot` before the first collection: null).
 */
export function toEbpfMetrics(snapshot: MetricsSnapshot): EbpfMetrics {
  if (typeof snapshot?.readings !== 'object' || snapshot.readings === null) {
    throw invalidArgument('snapshot', 'a MetricsSnapshot (from collector.collect() or lastSnapshot once collected)', snapshot);
  }
  const { readings, rates } = snapshot;
  return {
    takenAtMs: snapshot.takenAtMs,
    packetMetrics: section(readings.xdpStats, (stats) => ({
      packetsTotal: stats.counters['rx_packets'] ?? 0,
      bytesTotal: stats.counters['rx_bytes'] ?? 0,
      packetsPerSecond: rates?.packetsPerSecond ?? null,
      bytesPerSecond: rates?.bytesPerSecond ?? null,
      verdicts: Object.fromEntries(
        Object.entries(stats.counters)
          .filter(([name]) => name !== 'rx_packets' && name !== 'rx_bytes')
          .map(([name, total]) => [name, { total, perSecond: rates?.perVerdict[name] ?? null }]),
      ),
      frameSizes: stats.sizeHistogram.map((packets, i) => {
        const limit = stats.sizeBucketLimits[i] ?? Infinity;
        return { maxBytes: Number.isFinite(limit) ? limit : null, packets };
      }),
    })),
    connectionMetrics: {
      conntrack: section(readings.conntrack, (c) => ({ entries: c.entries, byState: c.byState })),
      quic: section(readings.quic, (q) => ({
        connections: q.connections,
        rttUs: q.rttUs,
        cwndBytes: q.cwndBytes,
        lostPackets: q.lostPackets,
        retransmittedPackets: q.retransmittedPackets,
      })),
    },
    latencyMetrics: section(snapshot.latency, (l) => ({
      samples: l.count,
      minUs: l.minUs,
      avgUs: l.avgUs,
      p50Us: l.p50Us,
      p95Us: l.p95Us,
      p99Us: l.p99Us,
      maxUs: l.maxUs,
    })),
    memoryMetrics: {
      ...opsSection(snapshot),
      process: section(readings.process, (p) => ({ rssBytes: p.rssBytes, umemBytes: p.umemBytes })),
    },
    cpuMetrics:
      snapshot.cpu === null
        ? { available: false, reason: readings.process.available ? 'no CPU reading' : readings.process.reason }
        : { available: true, ...snapshot.cpu },
  };
}

/** Copy accounting comes from the datapaths when given, else from the AF_XDP sockets' own counts. */
function opsSection(snapshot: MetricsSnapshot): EbpfMetricsSection<{ zeroCopyOps: number; memcpyOps: number }> {
  const { datapath, afXdp } = snapshot.readings;
  if (datapath.available) return { available: true, zeroCopyOps: datapath.data.zeroCopyOps, memcpyOps: datapath.data.memcpyOps };
  if (afXdp.available) return { available: true, zeroCopyOps: afXdp.data.zerocopyPackets, memcpyOps: afXdp.data.copyPackets };
  return { available: false, reason: `datapath: ${datapath.reason}; af_xdp: ${afXdp.reason}` };
}

/** The snapshot as JSON text (the `getEbpfMetrics()` shape). */
export function snapshotToJson(snapshot: MetricsSnapshot): string {
  return JSON.stringify(toEbpfMetrics(snapshot));
}
