// SPDX-License-Identifier: Apache-2.0
import type { MetricsSnapshot } from './collector.js';
import type { SourceReading } from './source.js';

/** Marks a section: `available: false` (with why) means "not measured", never zero. */
type Section<T> = ({ readonly available: true } & T) | { readonly available: false; readonly reason: string };

/** The `transport.getEbpfMetrics()` shape of DESIGN.md, JSON-serialisable. */
export interface EbpfMetrics {
  readonly takenAtMs: number;
  readonly packetMetrics: Section<{
    readonly packetsTotal: number;
    readonly bytesTotal: number;
    readonly packetsPerSecond: number | null;
    readonly bytesPerSecond: number | null;
    readonly verdicts: Readonly<Record<string, { readonly total: number; readonly perSecond: number | null }>>;
    readonly frameSizes: readonly { readonly maxBytes: number | null; readonly packets: number }[];
  }>;
  readonly connectionMetrics: {
    readonly conntrack: Section<{ readonly entries: number; readonly byState: Readonly<Record<string, number>> }>;
    readonly quic: Section<{
      readonly connections: number;
      readonly rttUs: { readonly min: number; readonly avg: number; readonly max: number } | null;
      readonly cwndBytes: number;
      readonly lostPackets: number;
      readonly retransmittedPackets: number;
    }>;
  };
  readonly latencyMetrics: Section<{
    readonly samples: number;
    readonly minUs: number;
    readonly avgUs: number;
    readonly p50Us: number;
    readonly p95Us: number;
    readonly p99Us: number;
    readonly maxUs: number;
  }>;
  /**
   * `zeroCopyOps`/`memcpyOps`: packets that crossed kernel↔user with no copy / copied at
   * least once, as the datapaths report them; `available` refers to these two. RSS and
   * UMEM size have their own availability under `process`.
   */
  readonly memoryMetrics: Section<{ readonly zeroCopyOps: number; readonly memcpyOps: number }> & {
    readonly process: Section<{ readonly rssBytes: number; readonly umemBytes: number | null }>;
  };
  readonly cpuMetrics: Section<{ readonly processPercent: number | null; readonly perCorePercent: readonly (number | null)[] }>;
}

function section<T, R>(reading: SourceReading<T>, map: (data: T) => R): Section<R> {
  return reading.available ? { available: true, ...map(reading.data) } : { available: false, reason: reading.reason };
}

export function toEbpfMetrics(snapshot: MetricsSnapshot): EbpfMetrics {
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
function opsSection(snapshot: MetricsSnapshot): Section<{ zeroCopyOps: number; memcpyOps: number }> {
  const { datapath, afXdp } = snapshot.readings;
  if (datapath.available) return { available: true, zeroCopyOps: datapath.data.zeroCopyOps, memcpyOps: datapath.data.memcpyOps };
  if (afXdp.available) return { available: true, zeroCopyOps: afXdp.data.zerocopyPackets, memcpyOps: afXdp.data.copyPackets };
  return { available: false, reason: `datapath: ${datapath.reason}; af_xdp: ${afXdp.reason}` };
}

/** The snapshot as JSON text (the `getEbpfMetrics()` shape). */
export function snapshotToJson(snapshot: MetricsSnapshot): string {
  return JSON.stringify(toEbpfMetrics(snapshot));
}
