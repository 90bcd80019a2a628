// SPDX-License-Identifier: Apache-2.0
// stoq_ct_states: the iterator attached to a real stoq_xdp's stoq_conntrack counts
// what the map holds, per state, in the kernel — checked against the entries read back
// key by key, pass after pass (its accumulator must reset between reads).
import { BpfObject } from '@stoq/loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import {
  CT_STATES_PROGRAM_NAME, CT_SUMMARY_LAYOUT, MAP_NAMES, ctStatesObjectPath, decodeConntrackSummary, type ConntrackState,
} from '../src/index.js';
import { CLIENT, quicLong, quicShort, udp6Frame } from './support/frames.js';
import { LoadedStoqProgram, isRoot } from './support/kernel.js';


describe('stoq_ct_states iterator over stoq_conntrack', skipUnless(isRoot, 'needs root: loading BPF programs and a BPF iterator (CAP_BPF, CAP_SYS_ADMIN)'), () => {
  let prog: LoadedStoqProgram;
  let iterObject: BpfObject;
  beforeAll(async () => {
    prog = await LoadedStoqProgram.load();
    iterObject = await BpfObject.load(ctStatesObjectPath);
  });
  afterAll(() => {
    iterObject?.close();
    prog?.close();
  });

  /** What the map holds, read entry by entry in userspace. */
  function expected() {
    const byState: Record<ConntrackState, number> = { initial: 0, handshake: 0, established: 0, closing: 0 };
    let packets = 0;
    let bytes = 0;
    const all = prog.conntrack();
    for (const e of all) {
      byState[e.state]++;
      packets += e.packets;
      bytes += e.bytes;
    }
    return { entries: all.length, byState, unknownState: 0, packets, bytes };
  }

  it('an empty map still yields one all-zero record', () => {
    const iterator = iterObject.program(CT_STATES_PROGRAM_NAME).attachIterator({ map: prog.object.map('stoq_conntrack') });
    try {
      const record = iterator.read();
      expect(record.length).toBe(CT_SUMMARY_LAYOUT.size);
      expect(decodeConntrackSummary(record)).toEqual(expected());
      expect(expected().entries).toBe(0);
    } finally {
      iterator.close();
    }
  });

  it('counts states, packets and bytes written by the program and by userspace, pass after pass', () => {
    const dcid = Buffer.from('c0ffee00c0ffee00', 'hex');
    // Peers 1..6 reach initial; 3..6 handshake; 5..6 established: 2 of each, real frames through stoq_xdp.
    for (let peer = 1; peer <= 6; peer++) {
      const from = { src: CLIENT, sport: 41000 + peer };
      prog.run(udp6Frame({ ...from, payload: quicLong({ type: 'initial', size: 1200, dcid }) }));
      if (peer >= 3) prog.run(udp6Frame({ ...from, payload: quicLong({ type: 'handshake', size: 300, dcid }) }));
      if (peer >= 5) prog.run(udp6Frame({ ...from, payload: quicShort(100) }), 3);
    }
    const iterator = iterObject.program(CT_STATES_PROGRAM_NAME).attachIterator({ map: prog.object.map('stoq_conntrack') });
    try {
      const first = decodeConntrackSummary(iterator.read());
      expect(first).toEqual(expected());
      expect(first.byState).toEqual({ initial: 2, handshake: 2, established: 2, closing: 0 });
      expect(first.packets).toBe(6 + 4 + 2 * 3);

      // Userspace marks one closing; the second pass sees it and does not add to the first.
      const victim = prog.conntrack().find((e) => e.state === 'established')!;
      prog.writeConntrack(victim, { ...victim, state: 'closing' });
      const second = decodeConntrackSummary(iterator.read());
      expect(second).toEqual(expected());
      expect(second.byState).toEqual({ initial: 2, handshake: 2, established: 1, closing: 1 });
    } finally {
      iterator.close();
    }
  });

  it('the kernel refuses to attach it to a map with smaller values (stoq_init_rate is not conntrack)', () => {
    // 16-byte token buckets; the iterator reads 40-byte stoq_ct_values.
    const small = prog.object.map(MAP_NAMES.initialBuckets);
    expect(() => iterObject.program(CT_STATES_PROGRAM_NAME).attachIterator({ map: small })).toThrow(
      expect.objectContaining({ code: 'STOQ_ERR_BPF_ITERATOR' }),
    );
  });
});

describe('decodeConntrackSummary', () => {
  it('takes exactly one record and names the layout otherwise', () => {
    const record = Buffer.alloc(CT_SUMMARY_LAYOUT.size);
    record.writeBigUInt64LE(7n, 0);
    record.writeBigUInt64LE(7n, CT_SUMMARY_LAYOUT.offsets.by_state + 3 * 8);
    record.writeBigUInt64LE(99n, CT_SUMMARY_LAYOUT.offsets.bytes);
    expect(decodeConntrackSummary(record)).toEqual({
      entries: 7, byState: { initial: 0, handshake: 0, established: 7, closing: 0 }, unknownState: 0, packets: 0, bytes: 99,
    });
    expect(() => decodeConntrackSummary(Buffer.concat([record, record]))).toThrow(/stoq_ct_summary/);
    expect(() => decodeConntrackSummary(record.subarray(8))).toThrow(expect.objectContaining({ code: 'STOQ_ERR_INVALID_LAYOUT' }));
  });
});
