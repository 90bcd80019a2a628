// SPDX-License-Identifier: Apache-2.0
// Wrong arguments to the public constructors fail at once with a typed error, not with a
// TypeError at the first collection or scrape.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MetricsCollector } from './collector.js';
import { registerStoqMetrics } from './prometheus.js';
import { afXdpSource } from './sources/af-xdp.js';
import { conntrackSource } from './sources/conntrack.js';
import { datapathSource } from './sources/datapath.js';
import { quicSource } from './sources/quic.js';
import { xdpStatsSource } from './sources/xdp-stats.js';
import { createStoqCollector } from './stoq/create.js';

const invalid = (field: string) => expect.objectContaining({ code: 'STOQ_ERR_INVALID_ARGUMENT', field });

describe('argument checks', () => {
  it('sources refuse a missing callback or options object', () => {
    expect(() => afXdpSource(null as never)).toThrow(invalid('sockets'));
    expect(() => datapathSource(5 as never)).toThrow(invalid('datapaths'));
    expect(() => quicSource('x' as never)).toThrow(invalid('connections'));
    expect(() => conntrackSource(undefined as never)).toThrow(invalid('options'));
    expect(() => conntrackSource({ map: {} as never, decode: 1 as never })).toThrow(invalid('decode'));
    expect(() => xdpStatsSource({} as never)).toThrow(invalid('decode'));
    expect(() => xdpStatsSource({ map: {} as never, decode: () => ({}) as never, sizeBucketLimits: 5 as never })).toThrow(invalid('sizeBucketLimits'));
    // null is how a caller says "nothing to read" for these two
    expect(datapathSource(null).name).toBe('datapath');
    expect(quicSource(null).name).toBe('quic');
  });

  it('createStoqCollector takes null as no options and refuses bad ones before loading anything', async () => {
    const collector = await createStoqCollector(null as never);
    collector.close();
    await expect(createStoqCollector(5 as never)).rejects.toThrow(invalid('options'));
    await expect(createStoqCollector({ object: {} as never, byName: {} })).rejects.toThrow(invalid('options'));
    await expect(createStoqCollector({ xsks: 5 as never })).rejects.toThrow(invalid('xsks'));
  });

  it('registerStoqMetrics refuses a missing registry or collector and registers nothing', () => {
    const registry = new Registry();
    expect(() => registerStoqMetrics(null as never, new MetricsCollector({ sources: { process: null } }))).toThrow(invalid('registry'));
    expect(() => registerStoqMetrics(registry, null as never)).toThrow(invalid('collector.collect'));
    expect(registry.getMetricsAsArray()).toHaveLength(0);
  });
});
