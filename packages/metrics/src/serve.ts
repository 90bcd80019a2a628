// SPDX-License-Identifier: Apache-2.0
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { MetricsCollector } from './collector.js';
import { snapshotToJson } from './ebpf-metrics.js';
import { registerStoqMetrics } from './prometheus.js';

/** Options of serveMetrics(). */
export interface ServeMetricsOptions {
  /** TCP port; 0 picks a free one. Default 9464. */
  readonly port?: number;
  /** Address to listen on. Default '::1' (loopback only): exposing metrics further is a deliberate choice. */
  readonly host?: string;
  /** Registry to expose; default a fresh one holding only the STOQ metrics. */
  readonly registry?: Registry;
}

/** A running metrics HTTP server. */
export interface MetricsServer {
  /** The Prometheus endpoint, e.g. `http://[::1]:9464/metrics`. */
  readonly url: string;
  /** The TCP port it listens on (the real one when 0 was asked for). */
  readonly port: number;
  /** Unregisters the STOQ metrics from the registry, stops listening and drops open connections. */
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (Prometheus text exposition) and `GET /metrics.json` (the
 * `getEbpfMetrics()` snapshot) over HTTP.
 */
export async function serveMetrics(collector: MetricsCollector, options: ServeMetricsOptions = {}): Promise<MetricsServer> {
  const registry = options.registry ?? new Registry();
  const unregister = registerStoqMetrics(registry, collector);
  const server = createServer((req, res) => {
    const respond = async () => {
      if (req.method !== 'GET') return [405, 'text/plain', 'method not allowed\n'] as const;
      if (req.url === '/metrics') return [200, registry.contentType, await registry.metrics()] as const;
      if (req.url === '/metrics.json') return [200, 'application/json', snapshotToJson(await collector.collect())] as const;
      return [404, 'text/plain', 'not found: try /metrics or /metrics.json\n'] as const;
    };
    respond().then(
      ([status, type, body]) => res.writeHead(status, { 'content-type': type }).end(body),
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`collection failed: ${String(error)}\n`),
    );
  });
  await listen(server, options.port ?? 9464, options.host ?? '::1').catch((error: unknown) => {
    unregister();
    throw error;
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}/metrics`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        unregister();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
