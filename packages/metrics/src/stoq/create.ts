// SPDX-License-Identifier: Apache-2.0
/**
 * createStoqCollector: the one-call wiring of every source for a transport (its own
 * loaded stoq_xdp object) or for the CLI (the maps of a transport running elsewhere,
 * found by name). Without either, the kernel sources are unavailable with a reason.
 */
import { MetricsCollector } from '../collector.js';
import { checkOptions, checkWindowMs, invalidArgument } from '../errors.js';
import type { LatencySummarySource } from '../latency.js';
import { absentSource, type MetricSource } from '../source.js';
import { afXdpSource, type AfXdpSocketLike } from '../sources/af-xdp.js';
import { conntrackSource, type BatchMapReader, type ConntrackData, type ConntrackSourceOptions } from '../sources/conntrack.js';
import { datapathSource, type DatapathStatsLike } from '../sources/datapath.js';
import { processSource } from '../sources/process.js';
import { quicSource, type QuicConnectionLike } from '../sources/quic.js';
import { xdpStatsSource, type PerCpuMapReader, type XdpStatsData } from '../sources/xdp-stats.js';
import { byNameSource, loadOpenByName, type OpenedMap } from './by-name.js';
import { loadStoqCodecs, type StoqCodecs } from './codecs.js';
import { loadCtStates, type MapWithFd } from './ct-states.js';

/** A loaded stoq_xdp object: `@stoq/loader`'s BpfObject fits. The caller keeps owning (and closes) it. */
export interface StoqObjectLike {
  /** The map named `name` (stoq_stats, stoq_conntrack); may throw if there is none. */
  map(name: string): PerCpuMapReader & BatchMapReader & MapWithFd;
}

/** What the collector reads from a transport: `@stoq/transport`'s StoqTransport fits. */
export interface TransportLike {
  /** The transport's stats; only its datapaths are read. */
  stats(): {
    /** Each open datapath's own counters. */
    readonly datapaths: Iterable<DatapathStatsLike>;
  };
  /** Open QUIC connections, each with `stats()`; without it QUIC metrics are unavailable. */
  connections?(): Iterable<QuicConnectionLike>;
}

/** A socket as `@stoq/af-xdp` hands it out; its UMEM, when visible, is counted once per UMEM. */
export type XskLike = AfXdpSocketLike & {
  /** The socket's UMEM, when it exposes one (shared UMEMs are the same object). */
  readonly umem?: {
    /** Frames in the UMEM. */
    readonly frameCount: number;
    /** Bytes per frame. */
    readonly frameSize: number;
    /** Bytes from one frame's start to the next (a staggered layout pads frames apart); default frameSize. */
    readonly frameStride?: number;
    /** The mapped memory itself; when present its byteLength is what is counted. */
    readonly buffer?: {
      /** Bytes mapped. */
      readonly byteLength: number;
    };
  };
};

/** Options of createStoqCollector(): where the kernel maps come from, and the process-side sources. */
export interface CreateStoqCollectorOptions {
  /** Read the maps of this loaded stoq_xdp object (in-process: the transport). */
  readonly object?: StoqObjectLike;
  /**
   * Read the maps of a stoq_xdp loaded by another process, found by name on every
   * collection (`stoq top`). With several STOQ programs loaded, choose by kernel map id.
   */
  readonly byName?: true | {
    /** Kernel id of the stoq_stats map to read (as `bpftool map show` prints it). */
    readonly statsMapId?: number;
    /** Kernel id of the stoq_conntrack map to read. */
    readonly conntrackMapId?: number;
  };
  /** Why there is no stoq_xdp (e.g. `getEbpfStatus().fallbackReason`), when neither object nor byName is given. */
  readonly kernelUnavailableReason?: string;
  /** The AF_XDP sockets, read on every collection (pass the live Set, or a function returning them). */
  readonly xsks?: Iterable<XskLike> | (() => Iterable<XskLike>);
  /** Datapath stats (zeroCopyOps/memcpyOps) and, when it offers them, the open QUIC connections. */
  readonly transport?: TransportLike;
  /** Kernel→user latency: a LatencyRecorder the receive path feeds with XDP metadata timestamps, or any `{ summary() }`. */
  readonly latency?: LatencySummarySource;
  /** Sliding window for rates, ms: from 1 ns to 2^53 - 1 ns, about 104 days (else StoqMetricsError, before anything is loaded). Default 10 000. */
  readonly windowMs?: number;
  /** Entries per BPF_MAP_LOOKUP_BATCH call on stoq_conntrack, when the map is walked: a positive integer. Default 4096. */
  readonly batchSize?: number;
  /**
   * Count stoq_conntrack in the kernel with the stoq_ct_states iterator (loaded here,
   * closed by `collector.close()`). Default true; where it cannot load or attach, the
   * map is walked with BPF_MAP_LOOKUP_BATCH and the reading says why.
   */
  readonly conntrackIterator?: boolean;
  /** Process CPU and memory; default true. */
  readonly process?: boolean;
}

/**
 * A MetricsCollector with every source wired: the stoq_xdp maps of `object` or found
 * `byName` (else unavailable with `kernelUnavailableReason`), the AF_XDP sockets, the
 * transport's datapaths and connections, latency and process metrics. Imports
 * `@stoq/bpf-programs` and `@stoq/loader` lazily; where they cannot be loaded, the kernel
 * sources say why. Throws a TypeError if both `object` and `byName` are given, and a
 * StoqMetricsError for bad options (`windowMs`, `batchSize`, a `byName` map id, `xsks`, both `object` and `byName`). Whatever it loaded is closed again
 * when it fails (e.g. `object` has no stoq_conntrack map).
 */
export async function createStoqCollector(optionsGiven: CreateStoqCollectorOptions = {}): Promise<MetricsCollector> {
  const options = checkOptions<CreateStoqCollectorOptions>('options', optionsGiven, true);
  if (options.object && options.byName) throw invalidArgument('options', 'either object or byName, not both', 'both');
  // Checked before anything is loaded, so a bad option cannot leave a program open.
  if (options.windowMs !== undefined) checkWindowMs(options.windowMs);
  const { batchSize } = options;
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1)) throw invalidArgument('batchSize', 'a positive integer', batchSize);
  if (typeof options.byName === 'object' && options.byName !== null) {
    for (const field of ['statsMapId', 'conntrackMapId'] as const) {
      const id = options.byName[field];
      // Else it only shows as "no map with id x" on every collection.
      if (id !== undefined && (!Number.isInteger(id) || id < 1 || id > 0xffff_ffff)) throw invalidArgument(`byName.${field}`, 'a kernel map id (an integer from 1 to 2^32 - 1)', id);
    }
  }
  const xsks = options.xsks;
  if (xsks !== undefined && typeof xsks !== 'function' && typeof (xsks as Partial<Iterable<unknown>> | null)?.[Symbol.iterator] !== 'function') {
    throw invalidArgument('xsks', 'an iterable of sockets or a function returning one', xsks);
  }
  const kernel = await kernelSources(options);
  const sockets = xsks === undefined ? null : typeof xsks === 'function' ? xsks : () => xsks;
  const transport = options.transport;
  try {
    return new MetricsCollector({
      latency: options.latency,
      windowMs: options.windowMs,
      sources: {
        ...kernel,
        afXdp: sockets ? afXdpSource(sockets) : absentSource('af_xdp', 'no AF_XDP sockets were given'),
        datapath: datapathSource(transport ? () => transport.stats().datapaths : null),
        quic: quicSource(transport?.connections ? () => transport.connections!() : null),
        process: options.process === false ? null : processSource({ umemBytes: sockets ? () => umemBytesOrNull(sockets) : undefined }),
      },
    });
  } catch (error) {
    kernel.conntrack.close?.();
    kernel.xdpStats.close?.();
    throw error;
  }
}

async function kernelSources(options: CreateStoqCollectorOptions): Promise<{ xdpStats: MetricSource<XdpStatsData>; conntrack: MetricSource<ConntrackData> }> {
  const absent = (reason: string) => ({ xdpStats: absentSource<XdpStatsData>('xdp_stats', reason), conntrack: absentSource<ConntrackData>('conntrack', reason) });
  if (!options.object && !options.byName) return absent(options.kernelUnavailableReason ?? 'no stoq_xdp object or map names were given (dgram datapath)');
  const codecs = await loadStoqCodecs();
  if ('unavailable' in codecs) return absent(codecs.unavailable);
  const stats = (map: PerCpuMapReader, mapId?: number) =>
    xdpStatsSource({ map, decode: codecs.decodeStats, sizeBucketLimits: codecs.sizeBucketLimits, mapId });
  const ct = options.conntrackIterator === false ? { unavailable: 'conntrackIterator: false was given' } : await loadCtStates(codecs.ctStates);
  const conntrack = (map: BatchMapReader & MapWithFd, summary: ConntrackSourceOptions['summary']) =>
    conntrackSource({ map, decode: codecs.conntrackStateOf, batchSize: options.batchSize, summary });
  // From here on the iterator program may be open: every error path closes it (no fd leak).
  // `owner` is whatever closes it: the program, then the reader attached() hands it to.
  let owner: { close?(): void } | null = 'unavailable' in ct ? null : ct;
  try {
    if (options.object) {
      const map = options.object.map(codecs.conntrackMapName);
      const statsMap = options.object.map(codecs.statsMapName);
      const summary = 'unavailable' in ct ? ct : ct.attached(map);
      owner = 'read' in summary ? summary : null; // attached() closes the program when it fails
      return { xdpStats: stats(statsMap), conntrack: conntrack(map, summary) };
    }
    const sources = await byNameSources(options.byName === true ? {} : options.byName!, codecs, stats, (map) =>
      conntrack(map, 'unavailable' in ct ? ct : ct.perRead(map)),
    );
    // The by-name source is rebuilt per collection over a freshly opened map; the program outlives them.
    if (!('unavailable' in ct)) return { ...sources, conntrack: { ...sources.conntrack, close: () => ct.close() } };
    return sources;
  } catch (error) {
    owner?.close?.();
    throw error;
  }
}

type LoaderMap = OpenedMap & PerCpuMapReader & BatchMapReader & MapWithFd;

async function byNameSources(
  ids: { readonly statsMapId?: number; readonly conntrackMapId?: number },
  codecs: StoqCodecs,
  stats: (map: PerCpuMapReader, mapId: number) => MetricSource<XdpStatsData>,
  conntrack: (map: LoaderMap) => MetricSource<ConntrackData>,
) {
  const open = await loadOpenByName<LoaderMap>();
  if ('unavailable' in open) {
    return { xdpStats: absentSource<XdpStatsData>('xdp_stats', open.unavailable), conntrack: absentSource<ConntrackData>('conntrack', open.unavailable) };
  }
  return {
    xdpStats: byNameSource({ name: 'xdp_stats', mapName: codecs.statsMapName, open, mapId: ids.statsMapId, over: stats }),
    conntrack: byNameSource({ name: 'conntrack', mapName: codecs.conntrackMapName, open, mapId: ids.conntrackMapId, over: conntrack }),
  };
}

/**
 * The UMEM bytes, null when the socket list cannot be had: that must not fail the process
 * source (CPU, RSS) too. Not hidden: the af_xdp source reads the same list and reports and
 * counts the error.
 */
function umemBytesOrNull(sockets: () => Iterable<XskLike>): number | null {
  let list: XskLike[];
  try {
    list = [...sockets()];
  } catch {
    return null;
  }
  return umemBytes(list);
}

/**
 * UMEM bytes of the sockets, each shared UMEM counted once; null when none is visible. What is
 * mapped, not frameCount * frameSize: a staggered layout spaces frames a stride apart.
 */
function umemBytes(sockets: Iterable<XskLike>): number | null {
  const seen = new Set<object>();
  let bytes = 0;
  for (const socket of sockets) {
    const umem = socket.umem;
    if (umem && !seen.has(umem)) {
      seen.add(umem);
      bytes += umem.buffer?.byteLength ?? umem.frameCount * (umem.frameStride ?? umem.frameSize);
    }
  }
  return seen.size ? bytes : null;
}
