// SPDX-License-Identifier: Apache-2.0
// Which way the conntrack source counted, and why: logic only (the kernel paths are in test/).
import { describe, expect, it } from 'vitest';
import { conntrackSource } from './conntrack.js';

const value = (state: number) => {
  const b = Buffer.alloc(40);
  b.writeUInt32LE(state);
  return b;
};
const names = ['none', 'initial', 'handshake', 'established', 'closing'];
const map = { entries: () => [[Buffer.alloc(20), value(3)], [Buffer.alloc(20), value(1)]] as const };
const decode = (_k: Buffer, v: Buffer) => ({ state: names[v.readUInt32LE(0)]! });

describe('conntrackSource', () => {
  it('walks the map after the summary reader failed once, says why, and never asks it again', async () => {
    let reads = 0;
    let closed = 0;
    const source = conntrackSource({
      map, decode,
      summary: { read: () => { reads++; throw new Error('EBADF'); }, close: () => { closed++; } },
    });
    for (let i = 0; i < 2; i++) {
      expect(await source.collect()).toEqual({
        available: true,
        data: {
          entries: 2, byState: { initial: 1, handshake: 0, established: 1, closing: 0 }, readMethod: 'entries',
          iteratorUnavailable: 'stoq_ct_states read failed (EBADF); walking the map instead',
        },
      });
    }
    expect({ reads, closed }).toEqual({ reads: 1, closed: 1 });
  });

  it('an entry with an unknown state fails the collection on the kernel path as on the walk', async () => {
    const byState = { initial: 0, handshake: 0, established: 0, closing: 0 };
    const source = conntrackSource({ map, decode, summary: { read: () => ({ entries: 1, byState, unknownState: 1 }) } });
    await expect(source.collect()).rejects.toThrow(/unknown state/);
  });
});
