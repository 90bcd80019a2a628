// SPDX-License-Identifier: Apache-2.0
// The Prometheus exposition parses with an independent parser, carries exactly the
// pinned metric names/types/labels, agrees with the JSON snapshot, stays off the
// global registry, and is served on loopback.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { Registry, register as globalRegistry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import {
  afXdpSource,
  datapathSource,
  LatencyRecorder,
  METRIC_CATALOG,
  MetricsCollector,
  processSource,
  quicSource,
  registerStoqMetrics,
  serveMetrics,
  toEbpfMetrics,
  type EbpfMetrics,
} from '../src/index.js';
import { StoqXdp } from './helpers/stoq-xdp.js';
import { conntrackSourceOf, quicFrame, statsSourceOf, VERDICT_FRAMES } from './helpers/traffic.js';
import { connections, datapaths, sockets } from './helpers/endpoint-objects.js';

const isRoot = process.getuid?.() === 0;

interface PinnedMetric {
  name: string;
  type: string;
  labels: string[];
}
const pinned = JSON.parse(readFileSync(join(import.meta.dirname, 'metric-names.snapshot.json'), 'utf8')) as PinnedMetric[];
const pinnedJsonFields = JSON.parse(readFileSync(join(import.meta.dirname, 'json-fields.snapshot.json'), 'utf8')) as string[];

/** Every leaf path of a JSON value ("a.b.c"; array items as "[]"), sorted and deduplicated. */
function leafPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return [...new Set(value.flatMap((item) => leafPaths(item, `${prefix}[]`)))];
  if (value !== null && typeof value === 'object')
    return [...new Set(Object.entries(value).flatMap(([key, item]) => leafPaths(item, prefix ? `${prefix}.${key}` : key)))].sort();
  return [prefix];
}

/** name, type and the set of label names of every family that carries samples. */
function emitted(families: ParsedFamily[]): PinnedMetric[] {
  return families
    .filter((f) => f.metrics.length > 0)
    .map((f) => ({
      name: f.name,
      type: f.type.toLowerCase(),
      labels: [...new Set(f.metrics.flatMap((m) => Object.keys(m.labels ?? {})))].sort(),
    }));
}

function sample(families: ParsedFamily[], name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  const match = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  if (match?.value === undefined) throw new Error(`no sample ${name}${JSON.stringify(labels)}`);
  return Number(match.value);
}

describe('metric catalog', () => {
  it('matches the committed snapshot exactly (renames are deliberate, major versions)', () => {
    expect(METRIC_CATALOG.map((m) => ({ name: m.name, type: m.type, labels: [...m.labels].sort() }))).toEqual(pinned);
  });

  it('follows Prometheus naming: stoq_ prefix, counters end in _total, base units', () => {
    for (const m of METRIC_CATALOG) {
      expect(m.name).toMatch(/^stoq_[a-z0-9_]+$/);
      expect(m.name.endsWith('_total')).toBe(m.type === 'counter');
      expect(m.name).not.toMatch(/_(ms|us|milliseconds|microseconds|kb|mb|percent)(_|$)/);
    }
  });

  it('is documented row by row in the README', () => {
    const readme = readFileSync(join(import.meta.dirname, '../README.md'), 'utf8');
    for (const m of METRIC_CATALOG) expect(readme, m.name).toMatch(new RegExp(`\\| \`${m.name}\` \\| ${m.type} \\|`));
  });
});

describe('Prometheus exposition with every source available', skipUnless(isRoot, 'needs root: the exporter reads real BPF maps (CAP_BPF, CAP_SYS_ADMIN)'), () => {
  let prog: StoqXdp;
  let collector: MetricsCollector;
  let text: string;
  let families: ParsedFamily[];
  let json: EbpfMetrics;

  beforeAll(async () => {
    prog = await StoqXdp.load();
    await prog.run(VERDICT_FRAMES.ipv4_dropped, 30, 0);
    await prog.run(VERDICT_FRAMES.udp_non_quic_passed, 12, 1);
    await prog.run(quicFrame('initial', 0x401));
    await prog.run(quicFrame('handshake', 0x402));
    await prog.run(quicFrame('short', 0x403), 2);
    await prog.configure({ timestampMeta: true });
    const latency = new LatencyRecorder();
    for (let i = 0; i < 5; i++) latency.recordLatencyNs((await prog.run(quicFrame('short', 0x403))).output.readBigUInt64LE(0));
    collector = new MetricsCollector({
      latency,
      sources: {
        xdpStats: statsSourceOf(prog),
        conntrack: conntrackSourceOf(prog),
        afXdp: afXdpSource(() => sockets),
        quic: quicSource(() => connections),
        datapath: datapathSource(() => datapaths),
        process: processSource({ umemBytes: () => 8 << 20 }),
      },
    });
    await collector.collect(); // a first reading so rates and CPU ratios exist
    await prog.run(VERDICT_FRAMES.ipv4_dropped, 10, 0);
    // Keep this process busy for 100 ms before the scrape: /proc/self/stat counts CPU time
    // in 10 ms ticks, so an idle wait could read 0 % and a wrongly scaled ratio (0 × 100)
    // would still match; busy, the ratio is near 1 and a ×100 error is out of bounds.
    for (const until = performance.now() + 100; performance.now() < until; );
    const registry = new Registry();
    registerStoqMetrics(registry, collector);
    text = await registry.metrics();
    families = parsePrometheusTextFormat(text);
    json = toEbpfMetrics(collector.lastSnapshot!);
  });
  afterAll(async () => {
    prog?.close();
  });

  it('emits exactly the pinned names, types and label sets', () => {
    const byName = (a: PinnedMetric, b: PinnedMetric) => a.name.localeCompare(b.name);
    expect(emitted(families).sort(byName)).toEqual([...pinned].sort(byName));
  });

  it('carries the kernel map values and agrees with the JSON snapshot of the same scrape', () => {
    if (!json.packetMetrics.available || !json.connectionMetrics.conntrack.available) throw new Error('sources unavailable');
    expect(sample(families, 'stoq_xdp_packets_total', { verdict: 'ipv4_dropped' })).toBe(40);
    expect(sample(families, 'stoq_xdp_packets_total', { verdict: 'udp_non_quic_passed' })).toBe(12);
    expect(sample(families, 'stoq_xdp_packets_total', { verdict: 'quic_passed' })).toBe(1 + 1 + 2 + 5);
    expect(sample(families, 'stoq_xdp_rx_packets_total')).toBe(json.packetMetrics.packetsTotal);
    expect(sample(families, 'stoq_xdp_rx_bytes_total')).toBe(json.packetMetrics.bytesTotal);
    expect(sample(families, 'stoq_xdp_frame_size_packets_total', { size_max_bytes: '1518' })).toBe(1); // the Initial
    expect(sample(families, 'stoq_xdp_frame_size_packets_total', { size_max_bytes: '+Inf' })).toBe(0);
    expect(sample(families, 'stoq_conntrack_entries', { state: 'established' })).toBe(1);
    expect(json.connectionMetrics.conntrack.byState).toEqual({ initial: 1, handshake: 1, established: 1, closing: 0 });
    expect(sample(families, 'stoq_xdp_rx_packets_per_second')).toBeGreaterThan(0);
    expect(sample(families, 'stoq_xdp_rx_bytes_per_second')).toBe(json.packetMetrics.bytesPerSecond);
  });

  it('reports latency in seconds with quantiles matching the µs JSON fields', () => {
    if (!json.latencyMetrics.available) throw new Error(json.latencyMetrics.reason);
    expect(sample(families, 'stoq_latency_kernel_to_user_seconds', { quantile: '0.5' })).toBeCloseTo(json.latencyMetrics.p50Us / 1e6, 12);
    expect(sample(families, 'stoq_latency_kernel_to_user_seconds', { quantile: '0.99' })).toBeCloseTo(json.latencyMetrics.p99Us / 1e6, 12);
    expect(sample(families, 'stoq_latency_kernel_to_user_samples')).toBe(5);
  });

  it('reports copies as the datapaths counted them and the endpoint objects as given', () => {
    expect(json.memoryMetrics).toMatchObject({ available: true, zeroCopyOps: 100, memcpyOps: 70 });
    expect(sample(families, 'stoq_datapath_zero_copy_packets_total')).toBe(100);
    expect(sample(families, 'stoq_afxdp_sockets', { mode: 'copy' })).toBe(1);
    expect(sample(families, 'stoq_afxdp_rx_dropped_total')).toBe(6);
    expect(sample(families, 'stoq_quic_rtt_seconds', { stat: 'avg' })).toBeCloseTo(0.002, 12);
    expect(sample(families, 'stoq_afxdp_umem_bytes')).toBe(8 << 20);
  });

  it('reports the process CPU as a ratio of one core: the JSON snapshot\'s processPercent / 100', () => {
    if (!json.cpuMetrics.available) throw new Error(json.cpuMetrics.reason);
    const percent = json.cpuMetrics.processPercent;
    if (percent === null) throw new Error('processPercent null on the second collection');
    expect(percent).toBeGreaterThan(0); // the busy 100 ms before the scrape
    const ratio = sample(families, 'stoq_process_cpu_usage_ratio');
    expect(ratio).toBeCloseTo(percent / 100, 12);
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThanOrEqual(availableParallelism());
  });

  it('fills the getEbpfMetrics() JSON with exactly the pinned field names (DESIGN.md names included)', () => {
    const fields = leafPaths(JSON.parse(JSON.stringify(json)));
    expect(fields).toEqual(pinnedJsonFields);
    for (const field of ['packetMetrics.bytesPerSecond', 'latencyMetrics.minUs', 'latencyMetrics.avgUs', 'latencyMetrics.p50Us',
      'latencyMetrics.p95Us', 'latencyMetrics.p99Us', 'memoryMetrics.zeroCopyOps', 'memoryMetrics.memcpyOps']) expect(fields).toContain(field);
  });

  it('leaves prom-client’s global default registry untouched', () => {
    expect(globalRegistry.getMetricsAsArray().map((m) => m.name)).not.toContain('stoq_source_up');
  });

  it('serves /metrics and /metrics.json on loopback', async () => {
    const server = await serveMetrics(collector, { port: 0 });
    try {
      expect(server.url).toMatch(/^http:\/\/\[::1\]:\d+\/metrics$/);
      const metrics = await fetch(server.url);
      expect(metrics.headers.get('content-type')).toContain('text/plain');
      expect(emitted(parsePrometheusTextFormat(await metrics.text())).map((m) => m.name).sort()).toEqual(pinned.map((m) => m.name).sort());
      const body = (await (await fetch(`${server.url}.json`)).json()) as EbpfMetrics;
      expect(body.packetMetrics.available).toBe(true);
      expect((await fetch(server.url.replace('/metrics', '/nope'))).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
