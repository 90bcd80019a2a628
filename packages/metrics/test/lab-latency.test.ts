// SPDX-License-Identifier: Apache-2.0
// Kernel→user latency from real XDP metadata on the lab veth: stoq_xdp (native, via the
// loader) stamps QUIC frames with bpf_ktime_get_ns() and redirects them into stoq_xsks,
// where a copy-mode @stoq/af-xdp socket receives them; the collector turns the stamps
// into percentiles and reports the socket's copies.
import { join } from 'node:path';
import { XskSocket } from '@stoq/af-xdp';
import { MAP_NAMES } from '@stoq/bpf-programs';
import { withLab } from '@stoq/netlab';
import { describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { createStoqCollector, LatencyRecorder, toEbpfMetrics } from '../src/index.js';
import { quicPayload } from './helpers/frames.js';
import { StoqXdp } from './helpers/stoq-xdp.js';

const isRoot = process.getuid?.() === 0;

const COUNT = 300;

describe('latency from real XDP metadata timestamps (copy-mode AF_XDP on veth)', skipUnless(isRoot, 'needs root: veth lab, XDP attach and copy-mode AF_XDP'), () => {
  it('records one latency per redirected frame, bounded by the send window, with ordered percentiles', async () => {
    const prog = await StoqXdp.load();
    try {
      await withLab({ hostSide: true, staticNeighbours: true }, async (lab) => {
        prog.configure({ redirect: true, timestampMeta: true });
        const link = prog.attach(lab.a.ifname, 'native');
        const socket = XskSocket.open({ ifname: lab.a.ifname, queueId: 0, mode: 'copy', inhibitProgramLoad: true });
        const sockets = new Set([socket]);
        try {
          const queue0 = Buffer.alloc(4);
          const fd = Buffer.alloc(4);
          fd.writeUInt32LE(socket.fd);
          prog.object.map(MAP_NAMES.xsks).update(queue0, fd);

          const latency = new LatencyRecorder();
          const collector = await createStoqCollector({ object: prog.object, xsks: sockets, latency, process: false });
          const before = toEbpfMetrics(await collector.collect());
          expect(before.latencyMetrics).toMatchObject({ available: false, reason: 'no timestamped frame received yet' });

          const stamps: bigint[] = [];
          socket.on('readable', () => {
            for (let batch = socket.receive(); batch.count > 0; batch = socket.receive()) {
              for (let i = 0; i < batch.count; i++) {
                const stamp = batch.metadataTimestamp(i);
                stamps.push(stamp);
                latency.recordLatencyNs(stamp);
              }
              batch.release();
            }
          });
          const startNs = process.hrtime.bigint(); // CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns
          const plan = [{ address: lab.a.address, port: 9292, hex: quicPayload('short', 300).toString('hex'), count: COUNT }];
          await lab.exec(lab.b, process.execPath, [join(import.meta.dirname, 'helpers/paced-sender.mjs'), '2000', JSON.stringify(plan)], 30_000);
          for (let i = 0; i < 100 && stamps.length < COUNT; i++) await new Promise((resolve) => setTimeout(resolve, 20));
          socket.removeAllListeners('readable');
          const endNs = process.hrtime.bigint();

          expect(socket.mode).toBe('copy'); // veth: no zero-copy AF_XDP
          expect(stamps.length).toBe(COUNT);
          for (const stamp of stamps) {
            expect(stamp).toBeGreaterThan(startNs);
            expect(stamp).toBeLessThan(endNs);
          }
          const json = toEbpfMetrics(await collector.collect());
          const lat = json.latencyMetrics;
          if (!lat.available) throw new Error(lat.reason);
          expect(lat.samples).toBe(COUNT);
          expect(latency.futureStamps).toBe(0);
          expect(lat.minUs).toBeGreaterThan(0);
          const ordered = [lat.minUs, lat.p50Us, lat.p95Us, lat.p99Us, lat.maxUs];
          expect(ordered).toEqual([...ordered].sort((x, y) => x - y));
          expect(lat.avgUs).toBeGreaterThanOrEqual(lat.minUs);
          expect(lat.avgUs).toBeLessThanOrEqual(lat.maxUs);
          // No frame can have waited longer than the whole exchange (HDR: 3 significant digits).
          expect(lat.maxUs).toBeLessThanOrEqual((Number(endNs - startNs) / 1000) * 1.001);

          const packets = json.packetMetrics;
          const packets0 = before.packetMetrics;
          if (!packets.available || !packets0.available) throw new Error('stats unavailable');
          expect(packets.verdicts['quic_redirected']!.total - packets0.verdicts['quic_redirected']!.total).toBe(COUNT);
          expect(json.memoryMetrics).toMatchObject({ available: true, zeroCopyOps: 0, memcpyOps: COUNT });
          expect(json.memoryMetrics.process).toMatchObject({ available: false });
          console.log(
            `copy-mode AF_XDP on veth, native XDP: ${COUNT} frames, kernel→user latency µs min ${lat.minUs} p50 ${lat.p50Us} p95 ${lat.p95Us} p99 ${lat.p99Us} max ${lat.maxUs}`,
          );
        } finally {
          socket.close();
          link.detach();
        }
      });
    } finally {
      prog.close();
    }
  }, 60_000);
});
