// SPDX-License-Identifier: Apache-2.0
export { monotonicNowNs, type MonotonicClock } from './clock.js';
export { MetricsCollector, SOURCE_KEYS } from './collector.js';
export type { CollectorOptions, CollectorSources, CpuUsage, MetricsSnapshot, Rates, SourceKey } from './collector.js';
export { StoqMetricsError, type StoqMetricsErrorCode } from './errors.js';
export { snapshotToJson, toEbpfMetrics, type EbpfMetrics, type EbpfMetricsSection } from './ebpf-metrics.js';
export { LatencyRecorder, type LatencyRecorderOptions, type LatencySummary, type LatencySummarySource } from './latency.js';
export { METRIC_CATALOG, type MetricDefinition, type MetricType, type Sample } from './metric-catalog.js';
export { registerStoqMetrics } from './prometheus.js';
export { KeyedRateWindows, RateWindow } from './rate-window.js';
export { serveMetrics, type MetricsServer, type ServeMetricsOptions } from './serve.js';
export { absentSource, available, unavailable, type MetricSource, type SourceReading } from './source.js';
export { afXdpSource, type AfXdpData, type AfXdpMode, type AfXdpSocketLike, type SocketStatistics } from './sources/af-xdp.js';
export {
  CONNTRACK_STATES,
  conntrackSource,
  type BatchMapReader,
  type ConntrackData,
  type ConntrackReadMethod,
  type ConntrackSourceOptions,
  type ConntrackState,
  type ConntrackSummaryLike,
  type ConntrackSummaryReader,
  type MapEntries,
  type MapEntry,
} from './sources/conntrack.js';
export { datapathSource, type DatapathData, type DatapathStatsLike } from './sources/datapath.js';
export { processSource, type ProcessData, type ProcessSourceOptions } from './sources/process.js';
export { quicSource, type QuicConnectionLike, type QuicConnectionStatsLike, type QuicData } from './sources/quic.js';
export {
  xdpStatsSource,
  type DecodedStats,
  type PerCpuMapReader,
  type XdpStatsData,
  type XdpStatsSourceOptions,
} from './sources/xdp-stats.js';
export {
  createStoqCollector,
  type CreateStoqCollectorOptions,
  type StoqObjectLike,
  type TransportLike,
  type XskLike,
} from './stoq/create.js';
export { byNameSource, type ByNameSourceOptions, type OpenedMap, type OpenMapsByName } from './stoq/by-name.js';
export { loadCtStates, type CtStatesProgram, type MapWithFd } from './stoq/ct-states.js';
export type { CtStatesCodec } from './stoq/codecs.js';
export { mapIdOf, mapIdOfFd } from './stoq/map-id.js';
export { selectMap, type Selection } from './stoq/select-map.js';
