// SPDX-License-Identifier: Apache-2.0
// The HTTP endpoint over a real socket on ::1 (paths with query strings, HEAD), and
// registration on a real prom-client Registry that is all or nothing.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gauge, Registry, type OpenMetricsContentType } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { available, METRIC_CATALOG, MetricsCollector, quicSource, registerStoqMetrics, serveMetrics, StoqMetricsError, type XdpStatsData } from '../src/index.js';

const collector = () =>
  new MetricsCollector({ sources: { process: null, quic: quicSource(() => [{ stats: () => ({ rttUs: 1500, cwnd: 1, lost: 0, retrans: 0, sent: 1, recv: 1 }) }]) } });

describe('serveMetrics', () => {
  it('routes by path alone (query strings too) and answers HEAD like GET without a body', async () => {
    const server = await serveMetrics(collector(), { port: 0 });
    const base = `http://[::1]:${server.port}`;
    try {
      for (const path of ['/metrics', '/metrics?foo=bar', '/metrics?']) {
        const res = await fetch(base + path);
        expect(res.status, path).toBe(200);
        expect(await res.text()).toContain('stoq_quic_connections 1');
      }
      const json = await fetch(`${base}/metrics.json?pretty`);
      expect(json.status).toBe(200);
      expect(((await json.json()) as { connectionMetrics: { quic: { connections: number } } }).connectionMetrics.quic.connections).toBe(1);

      const head = await fetch(`${base}/metrics?x=1`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toContain('text/plain');
      expect(Number(head.headers.get('content-length'))).toBeGreaterThan(100);
      expect(await head.text()).toBe('');
      expect((await fetch(`${base}/metrics.json`, { method: 'HEAD' })).headers.get('content-type')).toBe('application/json');

      expect((await fetch(`${base}/metrics/`)).status).toBe(404);
      expect((await fetch(`${base}/other?/metrics`)).status).toBe(404);
      const post = await fetch(`${base}/metrics`, { method: 'POST' });
      expect(post.status).toBe(405);
      expect(post.headers.get('allow')).toBe('GET, HEAD');
    } finally {
      await server.close();
    }
  });

  it('answers 500 naming the closed collector, not a snapshot, once the collector is closed', async () => {
    const closing = collector();
    const server = await serveMetrics(closing, { port: 0 });
    try {
      closing.close();
      for (const path of ['/metrics', '/metrics.json']) {
        const res = await fetch(`http://[::1]:${server.port}${path}`);
        expect(res.status, path).toBe(500);
        expect(await res.text(), path).toContain('the collector is closed');
      }
    } finally {
      await server.close();
    }
  });

  it("a registry shared with the application's metrics still scrapes once the collector is closed: the STOQ metrics read as no samples", async () => {
    const registry = new Registry();
    const own = new Gauge({ name: 'app_jobs_queued', help: 'jobs', registers: [registry] });
    own.set(7);
    const closing = collector();
    registerStoqMetrics(registry, closing);
    expect(await registry.metrics()).toContain('stoq_quic_connections 1');
    expect(closing.closed).toBe(false);
    closing.close();
    expect(closing.closed).toBe(true);
    const text = await registry.metrics(); // rejected with STOQ_ERR_CLOSED before
    expect(text).toContain('app_jobs_queued 7');
    expect(text).not.toMatch(/^stoq_quic_connections /m);
  });

  it('rejects with a typed error, registering nothing, when the registry already holds a STOQ name', async () => {
    const registry = new Registry();
    new Gauge({ name: 'stoq_quic_connections', help: 'mine', registers: [registry] });
    await expect(serveMetrics(collector(), { port: 0, registry })).rejects.toMatchObject({ code: 'STOQ_ERR_METRIC_REGISTERED' });
    expect(registry.getMetricsAsArray().map((m) => m.name)).toEqual(['stoq_quic_connections']);
  });
  it('refuses a port that is not an integer from 0 to 65535 before listening or registering (a string was a UNIX socket path)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stoq-metrics-serve-'));
    try {
      const registry = new Registry();
      for (const port of [join(dir, 'metrics-sock'), '9464', 65536, -1, 80.5, NaN] as unknown as number[]) {
        await expect(serveMetrics(collector(), { port, registry }), String(port)).rejects.toMatchObject({ code: 'STOQ_ERR_INVALID_ARGUMENT', field: 'port' });
      }
      expect(readdirSync(dir)).toEqual([]);
      expect(registry.getMetricsAsArray()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('registerStoqMetrics', () => {
  it('is all or nothing: a name already taken leaves the registry as it was, and a retry succeeds', async () => {
    const registry = new Registry();
    const mine = new Gauge({ name: 'stoq_quic_connections', help: 'mine', registers: [registry] });
    const c = collector();
    let error: unknown;
    try {
      registerStoqMetrics(registry, c);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StoqMetricsError);
    expect(error).toMatchObject({ code: 'STOQ_ERR_METRIC_REGISTERED' });
    expect((error as Error).message).toContain('stoq_quic_connections');
    expect(registry.getMetricsAsArray()).toEqual([mine]);

    registry.removeSingleMetric('stoq_quic_connections');
    const unregister = registerStoqMetrics(registry, c);
    expect(registry.getMetricsAsArray().map((m) => m.name).sort()).toEqual(METRIC_CATALOG.map((m) => m.name).sort());
    expect(await registry.metrics()).toContain('stoq_quic_connections 1');
    unregister();
    unregister(); // idempotent
    expect(registry.getMetricsAsArray()).toEqual([]);
  });

  it('leaves the registry as it was when registering fails midway', () => {
    const registry = new Registry();
    let calls = 0;
    const register = registry.registerMetric.bind(registry);
    // A registry that refuses the fifth metric (e.g. a wrapper enforcing its own rules).
    registry.registerMetric = (metric) => {
      if (++calls === 5) throw new Error('refused');
      register(metric);
    };
    expect(() => registerStoqMetrics(registry, collector())).toThrow('refused');
    expect(registry.getMetricsAsArray()).toEqual([]);
  });

  it('names counters right on an OpenMetrics registry (which strips _total from the family), scrape after scrape, and unregisters them', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const stats = { name: 'xdp_stats', collect: () => available<XdpStatsData>({ counters: { rx_packets: 5, rx_bytes: 300 }, sizeHistogram: [5], sizeBucketLimits: [Infinity] }) };
    const unregister = registerStoqMetrics(registry, new MetricsCollector({ sources: { process: null, xdpStats: stats } }));
    for (let scrape = 0; scrape < 2; scrape++) {
      const lines = (await registry.metrics()).split('\n');
      expect(lines.filter((l) => l.includes('_total_total'))).toEqual([]);
      expect(lines).toContain('# TYPE stoq_xdp_rx_packets counter');
      expect(lines).toContain('stoq_xdp_rx_packets_total 5');
      expect(lines).toContain('stoq_source_collect_errors_total{source="xdp_stats"} 0');
    }
    unregister();
    expect(registry.getMetricsAsArray()).toEqual([]);
  });
});
