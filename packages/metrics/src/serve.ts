// SPDX-License-Identifier: Apache-2.0
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry, type RegistryContentType } from 'prom-client';
import type { MetricsCollector } from './collector.js';
import { snapshotToJson } from './ebpf-metrics.js';
import { collectorClosed, invalidArgument } from './errors.js';
import { registerStoqMetrics } from './prometheus.js';

/** Options of serveMetrics(). */
export interface ServeMetricsOptions {
  /** TCP port, an integer from 0 to 65535; 0 picks a free one. Default 9464. */
  readonly port?: number;
  /** Address to listen on. Default '::1' (loopback only): exposing metrics further is a deliberate choice. */
  readonly host?: string;
  /** Registry to expose; default a fresh one holding only the STOQ metrics. */
  readonly registry?: Registry<RegistryContentType>;
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
 * `getEbpfMetrics()` snapshot) over HTTP. The endpoint is chosen by the path alone (a
 * query string is ignored); HEAD answers like GET without the body. Throws StoqMetricsError
 * (STOQ_ERR_INVALID_ARGUMENT) for a port that is not an integer from 0 to 65535, before
 * registering anything; if it fails after that, nothing stays registered or listening.
 */
export async function serveMetrics(collector: MetricsCollector, options: ServeMetricsOptions = {}): Promise<MetricsServer> {
  // Node would take a string as a UNIX socket path (and a numeric string as a port).
  const port = options.port ?? 9464;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalidArgument('port', 'an integer from 0 to 65535', port);
  const registry = options.registry ?? new Registry();
  const unregister = registerStoqMetrics(registry, collector);
  const server = createServer((req, res) => {
    // HEAD is GET without the body (RFC 9110 §9.3.2); the query string never selects the endpoint.
    const head = req.method === 'HEAD';
    const respond = async () => {
      if (req.method !== 'GET' && !head) return [405, 'text/plain', 'method not allowed\n', { allow: 'GET, HEAD' }] as const;
      const path = pathnameOf(req.url);
      if (path === '/metrics') {
        // The STOQ metrics of a closed collector read as no samples (see registerStoqMetrics): say so.
        if (collector.closed) throw collectorClosed('collect');
        return [200, registry.contentType, await registry.metrics()] as const;
      }
      if (path === '/metrics.json') return [200, 'application/json', snapshotToJson(await collector.collect())] as const;
      return [404, 'text/plain', 'not found: try /metrics or /metrics.json\n'] as const;
    };
    respond().then(
      ([status, type, body, extra]) => {
        res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
        res.end(head ? undefined : body);
      },
      (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(head ? undefined : `collection failed: ${String(error)}\n`),
    );
  });
  await listen(server, port, options.host ?? '::1').catch((error: unknown) => {
    unregister();
    throw error;
  });
  let bound: AddressInfo;
  try {
    bound = tcpAddress(server);
  } catch (error) {
    unregister();
    server.close();
    throw error;
  }
  const host = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${host}:${bound.port}/metrics`,
    port: bound.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        unregister();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** The path of a request target (`/metrics?x=1` → `/metrics`); null when it does not parse. */
function pathnameOf(url: string | undefined): string | null {
  try {
    return new URL(url ?? '', 'http://localhost').pathname;
  } catch {
    return null;
  }
}

function tcpAddress(server: Server): AddressInfo {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`serveMetrics: not listening on a TCP port (${String(address)})`);
  return address;
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
