// SPDX-License-Identifier: Apache-2.0
// A real AF_XDP socket (@stoq/af-xdp, copy mode on the lab veth, libxdp's default
// redirect program) receives real datagrams from the peer namespace; the collector
// must report the socket, its kernel statistics and the copies it really made.
import { join } from 'node:path';
import { XskSocket } from '@stoq/af-xdp';
import { withLab, type Lab } from '@stoq/netlab';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { afXdpSource, MetricsCollector, processSource, registerStoqMetrics, toEbpfMetrics } from '../src/index.js';

const isRoot = process.getuid?.() === 0;

const COUNT = 200;

/**
 * Sends COUNT datagrams from the lab's peer to `socket`'s interface and drains what
 * arrives; returns how many frames it received (within 2 s of the send).
 */
async function receiveFromPeer(lab: Lab, socket: XskSocket): Promise<number> {
  let received = 0;
  const drain = () => {
    for (let batch = socket.receive(); batch.count > 0; batch = socket.receive()) {
      received += batch.count;
      batch.release();
    }
  };
  socket.on('readable', drain);
  try {
    await lab.exec(lab.b, process.execPath, [join(import.meta.dirname, 'helpers/udp-sender.mjs'), lab.a.address, '9292', String(COUNT), '200'], 30_000);
    for (let i = 0; i < 100 && received < COUNT; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    socket.off('readable', drain);
  }
  return received;
}

describe('AF_XDP source over a real socket (copy mode, veth)', skipUnless(isRoot, 'needs root: an AF_XDP socket on a veth lab'), () => {
  it('counts the socket, its received frames as memcpy operations, and goes unavailable once closed', async () => {
    await withLab({ hostSide: true, staticNeighbours: true }, async (lab) => {
      const open = new Set<XskSocket>();
      const socket = XskSocket.open({ ifname: lab.a.ifname, queueId: 0, mode: 'copy' });
      open.add(socket);
      try {
        const collector = new MetricsCollector({
          sources: {
            afXdp: afXdpSource(() => open),
            process: processSource({ umemBytes: () => [...open].reduce((n, s) => n + s.umem.frameCount * s.umem.frameSize, 0) }),
          },
        });
        const received = await receiveFromPeer(lab, socket);
        expect(received).toBeGreaterThanOrEqual(COUNT); // the default program redirects the whole queue (MLD too)

        const snapshot = await collector.collect();
        const reading = snapshot.readings.afXdp;
        if (!reading.available) throw new Error(reading.reason);
        const stats = socket.statistics();
        expect(reading.data).toMatchObject({ sockets: 1, zerocopySockets: 0, copySockets: 1 });
        expect(reading.data.totals['rx_packets']).toBe(stats.socket.rxPackets);
        expect(reading.data.totals['rx_packets']).toBe(received);
        expect(reading.data.totals['rx_dropped']).toBe(stats.kernel.rxDropped);
        const json = toEbpfMetrics(snapshot);
        // veth has no zero-copy AF_XDP: every frame was copied into UMEM by the kernel
        expect(json.memoryMetrics).toMatchObject({ available: true, zeroCopyOps: 0, memcpyOps: stats.socket.rxPackets + stats.socket.txPackets });
        expect(json.memoryMetrics.process).toMatchObject({ available: true, umemBytes: socket.umem.frameCount * socket.umem.frameSize });

        const registry = new Registry();
        registerStoqMetrics(registry, collector);
        const families = parsePrometheusTextFormat(await registry.metrics());
        const value = (name: string, labels: Record<string, string> = {}) =>
          families.find((f) => f.name === name)?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value;
        expect(value('stoq_afxdp_sockets', { mode: 'copy' })).toBe('1');
        expect(value('stoq_afxdp_sockets', { mode: 'zerocopy' })).toBe('0');
        expect(Number(value('stoq_datapath_memcpy_packets_total'))).toBe(received);
        expect(value('stoq_afxdp_rx_ring_full_total')).toBe(String(stats.kernel.rxRingFull));
      } finally {
        socket.close();
        open.delete(socket);
      }
      const closed = await new MetricsCollector({ sources: { afXdp: afXdpSource(() => open), process: null } }).collect();
      expect(closed.readings.afXdp).toEqual({ available: false, reason: 'no AF_XDP socket is open' });
    });
  }, 60_000);

  it('keeps a closed socket’s counts in the exported counters when another takes its queue', async () => {
    await withLab({ hostSide: true, staticNeighbours: true }, async (lab) => {
      const open = new Set<XskSocket>();
      const collector = new MetricsCollector({ sources: { afXdp: afXdpSource(() => open), process: null } });
      const registry = new Registry();
      registerStoqMetrics(registry, collector);
      const scrape = async (name: string) => Number(parsePrometheusTextFormat(await registry.metrics()).find((f) => f.name === name)?.metrics[0]?.value);

      const first = XskSocket.open({ ifname: lab.a.ifname, queueId: 0, mode: 'copy' });
      open.add(first);
      let stats: ReturnType<XskSocket['statistics']>;
      try {
        await receiveFromPeer(lab, first);
        stats = first.statistics();
        expect(await scrape('stoq_datapath_memcpy_packets_total')).toBe(stats.socket.rxPackets + stats.socket.txPackets);
      } finally {
        first.close();
        open.delete(first);
      }
      expect(stats.socket.rxPackets).toBeGreaterThanOrEqual(COUNT);
      const second = await openWhenReleased(lab.a.ifname);
      open.add(second);
      try {
        const copied = await scrape('stoq_datapath_memcpy_packets_total');
        const now = second.statistics();
        // The first socket's frames stay counted; the new one adds what it got (MLD at most).
        expect(copied).toBeGreaterThanOrEqual(stats.socket.rxPackets + stats.socket.txPackets);
        expect(copied).toBeLessThanOrEqual(stats.socket.rxPackets + stats.socket.txPackets + now.socket.rxPackets + now.socket.txPackets);
        expect(await scrape('stoq_afxdp_rx_dropped_total')).toBeGreaterThanOrEqual(stats.kernel.rxDropped);
      } finally {
        second.close();
        open.delete(second);
      }
    });
  }, 60_000);
});

/** Opens queue 0 once the kernel has released it (a closed socket lets go asynchronously: EBUSY until then). */
async function openWhenReleased(ifname: string): Promise<XskSocket> {
  for (let attempt = 0; ; attempt++) {
    try {
      return XskSocket.open({ ifname, queueId: 0, mode: 'copy' });
    } catch (error) {
      if ((error as { errno?: number }).errno !== 16 || attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
