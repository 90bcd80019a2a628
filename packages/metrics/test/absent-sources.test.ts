// SPDX-License-Identifier: Apache-2.0
// With no eBPF (dgram fallback, no privileges, another OS) every kernel-backed metric
// must read as "unavailable, because …", never as zeros that look like measurements.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  absentSource,
  afXdpSource,
  datapathSource,
  MetricsCollector,
  quicSource,
  registerStoqMetrics,
  toEbpfMetrics,
  type XdpStatsData,
} from '../src/index.js';

function dgramOnlyCollector() {
  return new MetricsCollector({
    sources: {
      xdpStats: absentSource<XdpStatsData>('xdp_stats', 'XDP not attached: missing CAP_BPF'),
      afXdp: afXdpSource(() => []),
      quic: quicSource(null),
      datapath: datapathSource(null),
      process: null,
    },
  });
}

describe('absent sources', () => {
  it('mark every JSON section unavailable with a reason and no numbers', async () => {
    const json = toEbpfMetrics(await dgramOnlyCollector().collect());
    expect(json.packetMetrics).toEqual({ available: false, reason: 'XDP not attached: missing CAP_BPF' });
    expect(json.connectionMetrics.conntrack).toEqual({ available: false, reason: 'source not configured' });
    expect(json.connectionMetrics.quic).toEqual({ available: false, reason: 'no QUIC endpoint was given' });
    expect(json.latencyMetrics).toMatchObject({ available: false, reason: expect.stringContaining('no latency recorder') });
    expect(json.memoryMetrics).toMatchObject({ available: false, reason: expect.stringContaining('no AF_XDP socket is open') });
    expect(json.memoryMetrics).not.toHaveProperty('zeroCopyOps');
    expect(json.cpuMetrics.available).toBe(false);
    // nothing numeric leaks out of an unavailable section
    const numbers = JSON.stringify(json, (key, value: unknown) => (key === 'takenAtMs' ? undefined : value)).match(/:\s*-?\d/g);
    expect(numbers).toBeNull();
  });

  it('omit their Prometheus series and say so through stoq_source_up', async () => {
    const registry = new Registry();
    registerStoqMetrics(registry, dgramOnlyCollector());
    const families = parsePrometheusTextFormat(await registry.metrics()).filter((f) => f.metrics.length > 0);
    const names = families.map((f) => f.name).sort();
    expect(names).toEqual(['stoq_source_collect_errors_total', 'stoq_source_up']);
    const up = families.find((f) => f.name === 'stoq_source_up')!.metrics;
    expect(up.every((m) => m.value === '0')).toBe(true);
    expect(up.map((m) => m.labels?.['source']).sort()).toEqual(['af_xdp', 'conntrack', 'datapath', 'latency', 'process', 'quic', 'xdp_stats']);
  });

  it('a source that throws is unavailable with the error and counted, the others unaffected', async () => {
    let calls = 0;
    const collector = new MetricsCollector({
      sources: {
        quic: {
          name: 'quic',
          collect: () => {
            calls++;
            throw new Error('connection table locked');
          },
        },
        datapath: datapathSource(() => [{ kind: 'dgram', rxDatagrams: 1, rxBytes: 10, txDatagrams: 2, txBytes: 20, memcpyOps: 3, zeroCopyOps: 0 }]),
        process: null,
      },
    });
    await collector.collect();
    const snapshot = await collector.collect();
    expect(calls).toBe(2);
    expect(snapshot.readings.quic).toEqual({ available: false, reason: 'collect failed: connection table locked' });
    expect(snapshot.sourceErrors).toEqual({ quic: 2, datapath: 0 });
    expect(toEbpfMetrics(snapshot).memoryMetrics).toMatchObject({ available: true, zeroCopyOps: 0, memcpyOps: 3 });
  });

  it('concurrent collections share one reading of the sources', async () => {
    let reads = 0;
    const collector = new MetricsCollector({
      sources: { datapath: { name: 'datapath', collect: async () => (reads++, { available: false, reason: 'closed' }) }, process: null },
    });
    await Promise.all([collector.collect(), collector.collect(), collector.collect()]);
    expect(reads).toBe(1);
  });
});
