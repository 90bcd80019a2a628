// SPDX-License-Identifier: Apache-2.0
// PeerTable, the XDP datapath's per-peer records bound to '::', driven with synthetic
// keys at its real capacity (MAX_PEERS): which record a new peer pushes out.
import { describe, expect, it } from 'vitest';
import { MAX_PEERS, PeerTable, type PeerRecord } from './peer-table.js';

const key = (n: number) => `fd00::${n.toString(16)}|443`;
/** Adds `count` new peers numbered from `first` (a flood of new sources). */
function flood(table: PeerTable, first: number, count: number): void {
  for (let n = first; n < first + count; n++) table.add(key(n), 'fd00::1');
}
const FLOOD = 1_000_000;

describe('PeerTable', () => {
  it('pushes out the peer not heard from since the last epoch before the one that was', () => {
    const t = new PeerTable();
    const active = t.add('fd00::a|1', 'fd00::1');
    const idle = t.add('fd00::b|1', 'fd00::1');
    flood(t, FLOOD, MAX_PEERS - 2);
    expect(t.size).toBe(MAX_PEERS);
    t.tick();
    t.heard(active);
    t.add(key(2 * FLOOD), null);
    expect(idle.evicted).toBe(true);
    expect(t.get(idle.key)).toBeUndefined();
    expect(t.get(active.key)).toBe(active);
    // Every other record goes first: `active` is the oldest once the rest are replaced.
    flood(t, 3 * FLOOD, MAX_PEERS - 2);
    expect(t.get(active.key)).toBe(active);
    t.add(key(4 * FLOOD), null);
    expect(active.evicted).toBe(true);
    expect(t.size).toBe(MAX_PEERS);
  });

  it('moves a peer back at most once per epoch (heard again in the same one: stays where it is)', () => {
    const t = new PeerTable();
    const a = t.add('fd00::a|1', null);
    t.add('fd00::b|1', null);
    t.heard(a);
    flood(t, FLOOD, MAX_PEERS - 2);
    t.add(key(2 * FLOOD), null);
    expect(a.evicted).toBe(true);
  });

  it('keeps the records of peers with an open connection through a flood of new peers, however many sit at the front', () => {
    const t = new PeerTable();
    // More than any fixed scan of the oldest records: 100 connected peers, oldest first.
    const connected: PeerRecord[] = [];
    for (let n = 0; n < 100; n++) {
      t.connectionUp(key(n));
      connected.push(t.add(key(n), 'fd00::1'));
    }
    flood(t, FLOOD, 10 * MAX_PEERS);
    expect(t.size).toBe(MAX_PEERS);
    expect(connected.filter((p) => p.evicted || t.get(p.key) !== p)).toEqual([]);
  });

  it('counts connections per peer: the record is kept until the last one closes, then goes in turn', () => {
    const t = new PeerTable();
    // Counted before the record exists (a connection open when the datapath starts).
    t.connectionUp('fd00::c|1');
    t.connectionUp('fd00::c|1');
    const c = t.add('fd00::c|1', null);
    t.connectionDown('fd00::c|1');
    flood(t, FLOOD, 2 * MAX_PEERS);
    expect(t.get(c.key)).toBe(c);
    t.connectionDown('fd00::c|1');
    // Now an ordinary record, behind the ones added before the close.
    flood(t, 3 * FLOOD, MAX_PEERS - 1);
    expect(t.get(c.key)).toBe(c);
    t.add(key(4 * FLOOD), null);
    expect(c.evicted).toBe(true);
  });

  it('at the cap with every record connected, the oldest connected one goes and the table stays at the cap', () => {
    const t = new PeerTable();
    const all: PeerRecord[] = [];
    for (let n = 0; n < MAX_PEERS + 10; n++) {
      t.connectionUp(key(n));
      all.push(t.add(key(n), null));
    }
    expect(t.size).toBe(MAX_PEERS);
    expect(all.slice(0, 10).every((p) => p.evicted && t.get(p.key) === undefined)).toBe(true);
    expect(all.slice(10).every((p) => !p.evicted && t.get(p.key) === p)).toBe(true);
    // A new unconnected peer takes the oldest connected record's place; the next one takes its own.
    const first = t.add(key(FLOOD), null);
    expect(all[10]?.evicted).toBe(true);
    t.add(key(FLOOD + 1), null);
    expect(first.evicted).toBe(true);
    expect(all[11]?.evicted).toBe(false);
    expect(t.size).toBe(MAX_PEERS);
  });
});
