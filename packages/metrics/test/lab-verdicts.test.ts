// SPDX-License-Identifier: Apache-2.0
// Real frames on the lab veth: stoq_xdp attached in native mode through @stoq/loader
// (bpf_link) on side A, a paced UDP sender in B's namespace. The counters must equal
// what was sent per verdict, and each windowed rate must equal what the sender really
// sent inside that window (it reports every send time).
import { join } from 'node:path';
import { withLab } from '@stoq/netlab';
import { describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { createStoqCollector, toEbpfMetrics, type EbpfMetrics } from '../src/index.js';
import { quicPayload } from './helpers/frames.js';
import { StoqXdp } from './helpers/stoq-xdp.js';

const isRoot = process.getuid?.() === 0;

const RATE = 400; // datagrams per second
const WINDOW_MS = 1000;
const QUIC_COUNT = 1000; // 2.5 s at RATE: long enough for a 1 s window to sit fully inside it

type Packets = Extract<EbpfMetrics['packetMetrics'], { available: true }>;
function packets(json: EbpfMetrics): Packets {
  if (!json.packetMetrics.available) throw new Error(json.packetMetrics.reason);
  return json.packetMetrics;
}

describe('real frames through stoq_xdp on the lab veth (native XDP via bpf_link)', skipUnless(isRoot, 'needs root: veth lab and native XDP attach via bpf_link'), () => {
  it('counts every frame sent per verdict, and the 1 s window rate follows the send rate', async () => {
    const prog = await StoqXdp.load();
    try {
      await withLab({ hostSide: true, staticNeighbours: true, ipv4: true }, async (lab) => {
        const link = prog.attach(lab.a.ifname, 'native');
        try {
          expect(link.mode).toBe('native');
          const collector = await createStoqCollector({ object: prog.object, windowMs: WINDOW_MS, process: false });
          const first = await collector.collect();
          const before = packets(toEbpfMetrics(first));
          const a6 = lab.a.address;
          const plan = [
            { verdict: 'quic_passed', address: a6, port: 9292, payload: quicPayload('short', 200), count: QUIC_COUNT },
            { verdict: 'udp_non_quic_passed', address: a6, port: 7000, payload: Buffer.alloc(100, 1), count: 40 },
            { verdict: 'initial_too_small_dropped', address: a6, port: 9292, payload: quicPayload('initial', 100), count: 30 },
            { verdict: 'malformed_dropped', address: a6, port: 9292, payload: Buffer.alloc(0), count: 20 },
            { verdict: 'ipv4_dropped', address: lab.a.address4!, port: 9292, payload: quicPayload('short', 200), count: 25 },
          ];
          const args = [RATE, JSON.stringify(plan.map(({ address, port, payload, count }, i) => ({ address, port, hex: payload.toString('hex'), count, times: i === 0 })))];
          const sender = lab.spawn(lab.b, process.execPath, [join(import.meta.dirname, 'helpers/paced-sender.mjs'), ...args.map(String)]);
          let stdout = '';
          let stderr = '';
          sender.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
          sender.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
          const exited = new Promise<number | null>((resolve) => sender.once('exit', resolve));
          let running = true;
          void exited.then(() => (running = false));

          // Collect every 200 ms while the sender runs (bounded by 30 s).
          const readings: { atNs: bigint; rate: number | null }[] = [{ atNs: first.monotonicNs, rate: null }];
          for (let i = 0; i < 150 && running; i++) {
            await new Promise((resolve) => setTimeout(resolve, 200));
            const snapshot = await collector.collect();
            readings.push({ atNs: snapshot.monotonicNs, rate: snapshot.rates?.perVerdict['quic_passed'] ?? null });
          }
          expect(await exited, stderr).toBe(0);
          const { groups } = JSON.parse(stdout) as { groups: { sent: number; startNs: string; endNs: string; sentAtNs?: string[] }[] };
          // Counter reads are synchronous: once the sender is done, everything it sent was counted.
          const after = packets(toEbpfMetrics(await collector.collect()));

          const delta = (verdict: string) => after.verdicts[verdict]!.total - before.verdicts[verdict]!.total;
          for (const { verdict, count } of plan) expect(delta(verdict), verdict).toBe(count);
          expect(delta('quic_redirected')).toBe(0); // no AF_XDP socket on the queue

          const quic = groups[0]!;
          const startNs = BigInt(quic.startNs);
          const endNs = BigInt(quic.endNs);
          const sentAt = quic.sentAtNs!.map(BigInt);
          const sendRate = (quic.sent * 1e9) / Number(endNs - startNs);
          expect(sendRate).toBeGreaterThan(RATE * 0.8); // the sender roughly kept its schedule
          // The window of reading r starts at the latest earlier reading at least WINDOW_MS old
          // (RateWindow keeps that point): the rate must equal what was sent between the two.
          const windowNs = BigInt(WINDOW_MS) * 1_000_000n;
          const compared: string[] = [];
          for (const [r, reading] of readings.entries()) {
            if (reading.atNs < startNs + windowNs || reading.atNs > endNs) continue;
            const from = readings.slice(0, r).findLast((p) => reading.atNs - p.atNs >= windowNs)!;
            const seconds = Number(reading.atNs - from.atNs) / 1e9;
            const sentInside = sentAt.filter((t) => t > from.atNs && t <= reading.atNs).length;
            // 5 datagrams of slack: the counters are read a moment before the reading is stamped.
            expect(Math.abs(reading.rate! * seconds - sentInside), `reading ${r}`).toBeLessThanOrEqual(5);
            compared.push(`${reading.rate!.toFixed(1)} vs ${(sentInside / seconds).toFixed(1)}`);
          }
          expect(compared.length).toBeGreaterThanOrEqual(2);
          console.log(`native XDP on veth: quic_passed sent at ${sendRate.toFixed(1)}/s overall; 1 s-window rate vs sent in that window: ${compared.join(', ')} /s`);
        } finally {
          link.detach();
        }
      });
    } finally {
      prog.close();
    }
  }, 60_000);
});
