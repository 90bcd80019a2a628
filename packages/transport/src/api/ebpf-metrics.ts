// SPDX-License-Identifier: Apache-2.0
// getEbpfMetrics() behind the transport: a @stoq/metrics collector over this
// transport's own stoq_xdp object, AF_XDP sockets, latency, datapaths and QUIC
// connections, polled every second so the synchronous getter has a recent snapshot.
// On dgram the same collector runs with the kernel sources marked unavailable (with
// the fallback reason), never zeros. Rebuilt when XDP attaches later.
import { createStoqCollector, toEbpfMetrics, type EbpfMetrics, type MetricsCollector, type TransportLike } from '@stoq/metrics';
import type { XdpDatapath } from '../datapath/xdp/xdp-datapath.js';
import { METRICS_POLL_MS } from './metrics-poll.js';

export { METRICS_POLL_MS } from './metrics-poll.js';

/** Rates are computed over this sliding window. */
const WINDOW_MS = 10_000;

export interface MetricsInputs {
  /** The datapath stats and open connections, read on every collection. */
  readonly transport: TransportLike;
  readonly xdp: XdpDatapath | null;
  /** Why there is no XDP datapath (the status's fallback reason). */
  readonly noXdpReason: string;
  readonly onError: (error: unknown) => void;
}

export class TransportMetrics {
  #collector: MetricsCollector;
  #stop: () => void;
  #closed = false;

  private constructor(collector: MetricsCollector, onError: (error: unknown) => void) {
    this.#collector = collector;
    this.#stop = collector.startPolling(METRICS_POLL_MS, onError);
  }

  /** Builds the collector and takes a first snapshot, so getEbpfMetrics() is never empty. */
  static async create(inputs: MetricsInputs): Promise<TransportMetrics> {
    const collector = await build(inputs);
    try {
      await collector.collect();
    } catch (error) {
      collector.close();
      throw error;
    }
    return new TransportMetrics(collector, inputs.onError);
  }

  /** The last snapshot (at most METRICS_POLL_MS old); null once closed. */
  snapshot(): EbpfMetrics | null {
    const last = this.#collector.lastSnapshot;
    return this.#closed || last === null ? null : toEbpfMetrics(last);
  }

  /** Collects now (the poll keeps running) and returns the fresh snapshot. */
  async refresh(): Promise<EbpfMetrics | null> {
    if (this.#closed) return null;
    return toEbpfMetrics(await this.#collector.collect());
  }

  /** XDP came up (or went) after creation: the kernel sources change, the rate window restarts. */
  async rebuild(inputs: MetricsInputs): Promise<void> {
    if (this.#closed) return;
    const next = await build(inputs);
    await next.collect();
    if (this.#closed) {
      next.close();
      return;
    }
    this.#stop();
    this.#collector.close();
    this.#collector = next;
    this.#stop = next.startPolling(METRICS_POLL_MS, inputs.onError);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop();
    this.#collector.close();
  }
}

function build({ transport, xdp, noXdpReason }: MetricsInputs): Promise<MetricsCollector> {
  if (!xdp) return createStoqCollector({ kernelUnavailableReason: noXdpReason, transport, windowMs: WINDOW_MS });
  const { object, sockets, latency } = xdp.metricsParts();
  return createStoqCollector({ object, xsks: () => sockets, transport, latency, windowMs: WINDOW_MS });
}
