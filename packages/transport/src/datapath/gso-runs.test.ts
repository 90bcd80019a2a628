// SPDX-License-Identifier: Apache-2.0
// The kernel cuts a GSO send back into datagrams at segment-size boundaries, so a plan
// is right exactly when cutting each run that way gives back the batch unchanged.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { OutgoingDatagram } from './datapath.js';
import { gsoRunEnd, MAX_GSO_RUN_BYTES } from './gso-runs.js';

const SEGMENT = 1350;
const peers = [
  { address: 'fd00::1', port: 9292 },
  { address: 'fd00::1', port: 9293 },
  { address: 'fd00::2', port: 9292 },
];

function plan(batch: readonly OutgoingDatagram[], segment: number, maxSegments: number): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (let start = 0; start < batch.length; ) {
    const end = gsoRunEnd(batch, start, segment, maxSegments);
    runs.push([start, end]);
    start = end;
  }
  return runs;
}

/** What the kernel delivers for one run: its bytes cut every `segment` bytes. */
function kernelSplit(run: readonly OutgoingDatagram[], segment: number): number[] {
  if (run.length === 1) return [(run[0] as OutgoingDatagram).data.byteLength];
  const total = run.reduce((n, d) => n + d.data.byteLength, 0);
  const sizes: number[] = [];
  for (let left = total; left > 0; left -= segment) sizes.push(Math.min(segment, left));
  return sizes;
}

const datagram = fc.record({
  size: fc.oneof(fc.constant(SEGMENT), fc.constant(SEGMENT), fc.integer({ min: 0, max: SEGMENT })),
  peer: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: peers.length - 1 })),
});

describe('gsoRunEnd', () => {
  it('plans runs the kernel splits back into exactly the batch, one peer per run, within the limits', () => {
    fc.assert(
      fc.property(fc.array(datagram, { maxLength: 200 }), fc.integer({ min: 1, max: 64 }), (items, maxSegments) => {
        const batch = items.map(({ size, peer }) => ({ data: new Uint8Array(size), to: peers[peer] as OutgoingDatagram['to'] }));
        const runs = plan(batch, SEGMENT, maxSegments);
        const delivered: number[] = [];
        for (const [start, end] of runs) {
          const run = batch.slice(start, end);
          expect(end).toBeGreaterThan(start);
          expect(run.length).toBeLessThanOrEqual(maxSegments);
          expect(new Set(run.map((d) => `${d.to.address}|${d.to.port}`)).size).toBe(1);
          if (run.length > 1) expect(run.reduce((n, d) => n + d.data.byteLength, 0)).toBeLessThanOrEqual(MAX_GSO_RUN_BYTES);
          delivered.push(...kernelSplit(run, SEGMENT));
        }
        expect(delivered).toEqual(batch.map((d) => d.data.byteLength));
      }),
    );
  });

  it('coalesces a bulk burst: 100 full datagrams and a short tail to one peer in runs of maxSegments', () => {
    const to = peers[0] as OutgoingDatagram['to'];
    const batch = [...Array.from({ length: 100 }, () => ({ data: new Uint8Array(SEGMENT), to })), { data: new Uint8Array(40), to }];
    expect(plan(batch, SEGMENT, 64)).toEqual([[0, 48], [48, 96], [96, 101]]); // 48 × 1350 B is the most under 64 KiB
    expect(plan(batch, 0, 64)).toHaveLength(101); // GSO off: one send per datagram
  });
});
