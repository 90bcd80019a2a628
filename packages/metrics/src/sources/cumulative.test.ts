// SPDX-License-Identifier: Apache-2.0
// Exported *_total counters must never go down when a socket or datapath leaves the
// live set (Prometheus would read a reset and rate() would over-count).
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MetricsCollector } from '../collector.js';
import { registerStoqMetrics } from '../prometheus.js';
import { afXdpSource, type AfXdpSocketLike } from './af-xdp.js';
import { datapathSource, type DatapathStatsLike } from './datapath.js';
import { quicSource } from './quic.js';

/** A socket shaped like `XskSocket` of @stoq/af-xdp; `counts` is read on every statistics(). */
function socket(mode: 'copy' | 'zerocopy', counts: { dropped: number; rx: number; free?: number }): AfXdpSocketLike {
  return {
    mode,
    statistics: () => ({
      kernel: { rxDropped: counts.dropped, rxRingFull: 0, rxInvalidDescs: 0, txInvalidDescs: 0, rxFillRingEmptyDescs: 0, txRingEmptyDescs: 0 },
      socket: { rxPackets: counts.rx, txPackets: 0, umemFreeFrames: counts.free ?? 0 },
    }),
  };
}

const datapath = (kind: string, memcpyOps: number, zeroCopyOps = 0): DatapathStatsLike => ({
  kind,
  rxDatagrams: memcpyOps + zeroCopyOps,
  rxBytes: 0,
  txDatagrams: 0,
  txBytes: 0,
  memcpyOps,
  zeroCopyOps,
});

async function scrape(registry: Registry, name: string): Promise<number> {
  const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no sample ${name}`);
  return Number(line.split(' ')[1]);
}

describe('counters over sockets and datapaths that come and go', () => {
  it('keeps the counts of a closed AF_XDP socket in the exported totals', async () => {
    const first = { dropped: 100, rx: 1000, free: 50 };
    const a = socket('copy', first);
    const b = socket('copy', { dropped: 7, rx: 500, free: 60 });
    const open = new Set([a, b]);
    const collector = new MetricsCollector({ sources: { afXdp: afXdpSource(() => open), process: null } });
    const registry = new Registry();
    registerStoqMetrics(registry, collector);
    expect(await scrape(registry, 'stoq_afxdp_rx_dropped_total')).toBe(107);
    expect(await scrape(registry, 'stoq_datapath_memcpy_packets_total')).toBe(1500);
    first.dropped = 110; // counted after the last scrape, before it closed: lost (the last reading is what is kept)
    open.delete(a);
    expect(await scrape(registry, 'stoq_afxdp_rx_dropped_total')).toBe(107);
    expect(await scrape(registry, 'stoq_datapath_memcpy_packets_total')).toBe(1500);
    const reading = collector.lastSnapshot!.readings.afXdp;
    if (!reading.available) throw new Error(reading.reason);
    expect(reading.data.sockets).toBe(1);
    expect(reading.data.totals['umem_free_frames']).toBe(60); // a level: only the open socket's
    // All closed, then a new socket: the counters go on from where they were.
    open.delete(b);
    expect((await collector.collect()).readings.afXdp).toEqual({ available: false, reason: 'no AF_XDP socket is open' });
    open.add(socket('zerocopy', { dropped: 1, rx: 3 }));
    expect(await scrape(registry, 'stoq_afxdp_rx_dropped_total')).toBe(108);
    expect(await scrape(registry, 'stoq_datapath_memcpy_packets_total')).toBe(1500);
    expect(await scrape(registry, 'stoq_datapath_zero_copy_packets_total')).toBe(3);
  });

  it('counts a socket listed twice once', async () => {
    const a = socket('copy', { dropped: 5, rx: 10 });
    const reading = await afXdpSource(() => [a, a]).collect();
    if (!reading.available) throw new Error(reading.reason);
    expect(reading.data).toMatchObject({ sockets: 1, copyPackets: 10, totals: { rx_dropped: 5 } });
  });

  it('keeps the counts of a closed or replaced datapath (fresh stats objects on every call, as the transport hands them)', async () => {
    // [kind, count, id]: the transport gives each datapath its own id.
    let live: [string, number, number][] = [['dgram', 70, 1], ['xdp', 100, 2]];
    const collector = new MetricsCollector({ sources: { datapath: datapathSource(() => live.map(([kind, n, id]) => ({ ...datapath(kind, n), id }))), process: null } });
    const registry = new Registry();
    registerStoqMetrics(registry, collector);
    expect(await scrape(registry, 'stoq_datapath_memcpy_packets_total')).toBe(170);
    live = [['dgram', 75, 1]]; // the XDP datapath closed
    expect(await scrape(registry, 'stoq_datapath_memcpy_packets_total')).toBe(175);
    live = [['dgram', 80, 1], ['xdp', 4, 3]]; // a new XDP datapath, counting from 0
    expect(await scrape(registry, 'stoq_datapath_memcpy_packets_total')).toBe(184);
    live = [['dgram', 80, 1], ['xdp', 2, 4]]; // replaced again between two collections
    expect(await scrape(registry, 'stoq_datapath_memcpy_packets_total')).toBe(186);
    const reading = collector.lastSnapshot!.readings.datapath;
    if (!reading.available) throw new Error(reading.reason);
    expect(reading.data.byKind['xdp']!.memcpyOps).toBe(106);
    expect(reading.data.byKind['dgram']!.rxDatagrams).toBe(80);
  });

  it('never counts a datapath twice: by id when the stats carry one, else only the drop of a kind', async () => {
    const stats = (kind: string, n: number, id?: number): DatapathStatsLike => ({ ...datapath(kind, n), ...(id === undefined ? {} : { id }) });
    // Two dgram datapaths (two transports on one collector); the second closes while the first counts on.
    for (const withIds of [true, false]) {
      let live = [stats('dgram', 100, withIds ? 1 : undefined), stats('dgram', 50, withIds ? 2 : undefined)];
      const collector = new MetricsCollector({ sources: { datapath: datapathSource(() => live), process: null } });
      const registry = new Registry();
      registerStoqMetrics(registry, collector);
      expect(await scrape(registry, 'stoq_datapath_memcpy_packets_total')).toBe(150);
      live = [stats('dgram', 110, withIds ? 1 : undefined)];
      const after = await scrape(registry, 'stoq_datapath_memcpy_packets_total');
      // True total 160: exact with ids; without, the first's growth in that interval is missed (150), never 260.
      expect(after).toBe(withIds ? 160 : 150);
      live = [stats('dgram', 120, withIds ? 1 : undefined)];
      expect(await scrape(registry, 'stoq_datapath_memcpy_packets_total')).toBe(after + 10);
    }
  });

  it('counts a socket or datapath once when it is missing from one collection and comes back', async () => {
    const a = socket('copy', { dropped: 100, rx: 1000 });
    const b = socket('copy', { dropped: 5, rx: 50 });
    let sockets = [a, b];
    const xdp = { ...datapath('xdp', 10), id: 7 };
    const dgram = { ...datapath('dgram', 3), id: 1 };
    let datapaths = [dgram, xdp];
    const collector = new MetricsCollector({ sources: { afXdp: afXdpSource(() => sockets), datapath: datapathSource(() => datapaths), process: null } });
    const registry = new Registry();
    registerStoqMetrics(registry, collector);
    const totals = async () => [await scrape(registry, 'stoq_afxdp_rx_dropped_total'), await scrape(registry, 'stoq_datapath_memcpy_packets_total')];
    expect(await totals()).toEqual([105, 13]);
    sockets = [b]; // a list read that missed them
    datapaths = [dgram];
    expect(await totals()).toEqual([105, 13]);
    sockets = [a, b];
    datapaths = [dgram, xdp];
    expect(await totals()).toEqual([105, 13]); // not 205 and 23
    const reading = collector.lastSnapshot!.readings.afXdp;
    expect(reading.available && reading.data.copyPackets).toBe(1050);
    // Gone again, and a different datapath under the same id counting from 0: its counts add on.
    datapaths = [dgram];
    expect((await totals())[1]).toBe(13);
    datapaths = [dgram, { ...datapath('xdp', 4), id: 7 }];
    expect((await totals())[1]).toBe(17);
  });

  it('counts a kind summed without ids once when it is missing from one collection and comes back', async () => {
    let live = [datapath('dgram', 100), datapath('xdp', 1)];
    const collector = new MetricsCollector({ sources: { datapath: datapathSource(() => live), process: null } });
    const registry = new Registry();
    registerStoqMetrics(registry, collector);
    expect(await scrape(registry, 'stoq_datapath_memcpy_packets_total')).toBe(101);
    live = [datapath('xdp', 1)];
    expect(await scrape(registry, 'stoq_datapath_memcpy_packets_total')).toBe(101);
    live = [datapath('dgram', 110), datapath('xdp', 1)];
    expect(await scrape(registry, 'stoq_datapath_memcpy_packets_total')).toBe(111); // not 211
  });

  it('leaves QUIC connections without an RTT sample (rttUs 0) out of the RTT statistics', async () => {
    const conn = (rttUs: number) => ({ stats: () => ({ rttUs, cwnd: 1200, lost: 0, retrans: 0, sent: 1, recv: 1 }) });
    const mixed = await quicSource(() => [conn(0), conn(1000), conn(3000)]).collect();
    if (!mixed.available) throw new Error(mixed.reason);
    expect(mixed.data).toMatchObject({ connections: 3, rttUs: { min: 1000, avg: 2000, max: 3000 } });
    const none = await quicSource(() => [conn(0)]).collect();
    if (!none.available) throw new Error(none.reason);
    expect(none.data).toMatchObject({ connections: 1, rttUs: null });
  });
});
