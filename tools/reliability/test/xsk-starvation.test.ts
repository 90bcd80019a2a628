// Copy-mode AF_XDP sockets with a 64-entry RX ring on the lab veth, flooded by
// udp6_flood while nobody reads (src/xsk-rings.ts): with a fill ring as small as the RX
// ring the kernel counts the empty fill ring; with 4,096 frames on the fill ring it
// counts the full RX ring. Either way the socket must receive again after draining,
// every payload intact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { existsSync } from 'node:fs';
import { createLab, type Lab } from '@stoq/netlab';
import { overflowRxRing, udp6Flood, type RingOverflowResult } from '../src/xsk-rings.ts';
import { isRoot } from './helpers.ts';


/** After the drain: ten bursts of sequence numbers 0..19, each exactly ten times. */
function expectReceivesAgain(r: RingOverflowResult) {
  const perSeq = new Map<number, number>();
  for (const q of r.again) perSeq.set(q, (perSeq.get(q) ?? 0) + 1);
  expect(r.again.length).toBe(200);
  expect([...perSeq.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, k) => k));
  expect([...perSeq.values()].every((n) => n === 10)).toBe(true);
}

describe('AF_XDP ring starvation', skipUnless(isRoot, 'needs root: AF_XDP sockets on a lab veth (network namespaces, BPF)'), () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await createLab({ hostSide: true, staticNeighbours: true, timeoutMs: 2 * 60_000 });
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('fill ring as small as the RX ring (64): the empty fill ring is counted, then receives again after draining', async () => {
    expect(existsSync(udp6Flood), `${udp6Flood} is built by @stoq/pktgen`).toBe(true);
    const r = await overflowRxRing(lab, 64, 20_000);
    console.log(`flood of ${r.sent} into 64-entry RX and fill rings, unread: ${JSON.stringify(r.overflowed)}; ` +
      `drained ${r.stale.length}, then received ${r.again.length}/200 intact; final ${JSON.stringify(r.final)}`);
    // Fill ring and RX ring run out on the same packet; the fill ring is checked first.
    expect(r.overflowed.rxDropped).toBeGreaterThan(0);
    expect(r.overflowed.rxFillRingEmptyDescs).toBeGreaterThan(0);
    expect(r.overflowed.rxRingFull).toBe(0);
    expectReceivesAgain(r);
  }, 60_000);

  it('fill ring stocked with 4,096 frames, RX ring 64: the full RX ring is counted and survived', async () => {
    expect(existsSync(udp6Flood), `${udp6Flood} is built by @stoq/pktgen`).toBe(true);
    const r = await overflowRxRing(lab, 4096, 2000);
    console.log(`flood of ${r.sent} (${r.arrived} packets arrived) into a 64-entry RX ring over 4,096 fill-ring frames, unread: ${JSON.stringify(r.overflowed)}; ` +
      `drained ${r.stale.length} (seq 0..${r.stale.length - 1}), then received ${r.again.length}/200 intact; after the drain ${JSON.stringify(r.drained)}; final ${JSON.stringify(r.final)}`);
    expect(r.sent).toBe(2000);
    expect(r.overflowed.rxRingFull).toBeGreaterThan(0);
    // The fill ring never ran dry: nothing dropped for want of a frame.
    expect(r.overflowed.rxDropped).toBe(0);
    expect(r.overflowed.rxFillRingEmptyDescs).toBe(0);
    // The ring held the first flood packets, in order, intact; the rest were counted as
    // ring-full (≤, not =: the veth itself may drop some when the sender outruns NAPI).
    // The bound is what B's veth transmitted, not the flood's count: the fresh link's own
    // ICMPv6 is redirected too, and a clean-clone CI run counted 2,001 of 2,000.
    expect(r.stale.length).toBeGreaterThan(0);
    expect(r.stale.length).toBeLessThanOrEqual(64);
    expect(r.stale).toEqual(Array.from({ length: r.stale.length }, (_, k) => k));
    expect(r.stale.length + r.overflowed.rxRingFull).toBeLessThanOrEqual(r.arrived);
    // A packet of the link's own may still meet the full ring after the counters settled
    // and before the drain; nothing else can.
    expect(r.stale.length + r.drained.rxRingFull).toBeLessThanOrEqual(r.arrivedByDrain);
    expectReceivesAgain(r);
    expect(r.final.rxRingFull).toBe(r.drained.rxRingFull); // nothing overflowed after the drain
    expect(r.final.rxDropped).toBe(0);
  }, 60_000);
});
