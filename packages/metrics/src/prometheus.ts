// SPDX-License-Identifier: Apache-2.0
import type { Registry, RegistryContentType } from 'prom-client';
import type { MetricsCollector, MetricsSnapshot } from './collector.js';
import { StoqMetricsError, checkFunction, invalidArgument } from './errors.js';
import { METRIC_CATALOG, type MetricDefinition } from './metric-catalog.js';

/** What prom-client's Registry calls on a registered metric (`registerMetric` + `get()`). */
interface RegistryMetric {
  name: string;
  readonly help: string;
  readonly type: string;
  readonly aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: { labels: Record<string, string>; value: number }[] }>;
  reset(): void;
}

/**
 * Registers every catalog metric on the caller's prom-client Registry (never the global
 * default one) with a custom `get()`. A scrape calls every `get()` in the same tick, so
 * they all join the collector's one in-flight collection: one map walk per scrape.
 * Returns a function that unregisters the metrics again. Once the collector is closed
 * they read as no samples, so a registry shared with other metrics still scrapes. All
 * or nothing: when a name is
 * already registered it throws StoqMetricsError (STOQ_ERR_METRIC_REGISTERED) naming them
 * and registers none, so a retry after removing them succeeds.
 */
export function registerStoqMetrics(registry: Registry<RegistryContentType>, collector: MetricsCollector): () => void {
  if (typeof registry?.getSingleMetric !== 'function') throw invalidArgument('registry', "a prom-client Registry", registry);
  checkFunction('collector.collect', (collector as Partial<MetricsCollector> | null)?.collect);
  const metrics = METRIC_CATALOG.map((definition) => toRegistryMetric(definition, () => (collector.closed ? null : collector.collect())));
  const taken = metrics.filter((metric) => registry.getSingleMetric(metric.name) !== undefined).map((metric) => metric.name);
  if (taken.length > 0) {
    throw new StoqMetricsError('STOQ_ERR_METRIC_REGISTERED', 'registry', `already holds ${taken.join(', ')}; nothing was registered`);
  }
  // Kept by the name they were registered under: an OpenMetrics registry renames a counter on every scrape.
  const registered: string[] = [];
  const unregister = () => {
    for (const name of registered.splice(0)) registry.removeSingleMetric(name);
  };
  try {
    // prom-client types registerMetric() with its Metric class, but the registry only uses
    // name/help/type/get()/reset() (the documented way to expose externally held values).
    for (const metric of metrics) {
      registry.registerMetric(metric as never);
      registered.push(metric.name);
    }
  } catch (error) {
    unregister(); // e.g. a registry whose registerMetric refuses one: leave it as it was
    throw error;
  }
  return unregister;
}

function toRegistryMetric(definition: MetricDefinition, snapshot: () => Promise<MetricsSnapshot> | null): RegistryMetric {
  return {
    name: definition.name,
    help: definition.help,
    type: definition.type,
    aggregator: 'sum',
    async get() {
      // A closed collector has nothing to report; failing here would fail the whole scrape
      // of a registry shared with the application's own metrics.
      const pending = snapshot();
      const values = pending === null ? [] : definition.read(await pending).map((sample) => ({ labels: { ...sample.labels }, value: sample.value }));
      // The name the registry holds now, not the definition's: an OpenMetrics registry strips a
      // counter's `_total` here and adds it back to each sample (else `…_total_total`).
      return { name: this.name, help: definition.help, type: definition.type, aggregator: 'sum', values };
    },
    reset() {
      // Values live in the kernel and the sources, not here: nothing to reset.
    },
  };
}
