// SPDX-License-Identifier: Apache-2.0
// stoq_conntrack through a real-looking handshake: client Initial → Handshake →
// short header moves initial → handshake → established; userspace's closing sticks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { MAP_NAMES } from '../src/index.js';
import { CLIENT, quicLong, quicShort, udp6Frame } from './support/frames.js';
import { XDP } from './support/fixtures.js';
import { LoadedStoqProgram, isRoot } from './support/kernel.js';


describe('stoq_conntrack', skipUnless(isRoot, 'needs root: loading BPF programs and BPF_PROG_TEST_RUN (CAP_BPF, CAP_SYS_ADMIN)'), () => {
  let prog: LoadedStoqProgram;
  beforeAll(async () => {
    prog = await LoadedStoqProgram.load();
  });
  afterAll(() => prog?.close());

  const key = { peerAddress: CLIENT, peerPort: 40000, localPort: 9292 };
  const dcid = Buffer.from('c0ffee00c0ffee00', 'hex');

  function entry() {
    const all = prog.conntrack();
    expect(all).toHaveLength(1);
    return all[0]!;
  }

  it('follows initial → handshake → established and never overwrites closing', () => {
    const frames = [
      udp6Frame({ payload: quicLong({ type: 'initial', size: 1200, dcid }) }),
      udp6Frame({ payload: quicLong({ type: 'handshake', size: 300, dcid }) }),
      udp6Frame({ payload: quicShort(100) }),
    ];
    const states: string[] = [];
    for (const f of frames) {
      expect(prog.run(f).retval).toBe(XDP.PASS);
      states.push(entry().state);
    }
    expect(states).toEqual(['initial', 'handshake', 'established']);
    const e = entry();
    expect(e).toMatchObject({ ...key, packets: 3, bytes: frames.reduce((n, f) => n + f.length, 0) });
    expect(e.lastSeenNs).toBeGreaterThanOrEqual(e.firstSeenNs);
    expect(e.firstSeenNs).toBeGreaterThan(0n);

    // A late Initial (retransmission) does not move the state backwards.
    prog.run(frames[0]!);
    expect(entry().state).toBe('established');

    prog.writeConntrack(key, { ...e, state: 'closing' });
    prog.run(frames[2]!);
    prog.run(frames[1]!);
    expect(entry()).toMatchObject({ state: 'closing', packets: e.packets + 2 });
  });

  it('dropped packets and server-only packet types create no entry', () => {
    prog.clearMap(MAP_NAMES.conntrack);
    expect(prog.run(udp6Frame({ sport: 40001, payload: quicLong({ type: 'initial', size: 500 }) })).retval).toBe(XDP.DROP);
    expect(prog.run(udp6Frame({ sport: 40002, payload: quicLong({ type: 'retry', size: 100 }) })).retval).toBe(XDP.PASS);
    expect(prog.run(udp6Frame({ sport: 40003, payload: quicLong({ type: 'initial', version: 0, size: 100 }) })).retval).toBe(XDP.PASS);
    expect(prog.conntrack()).toEqual([]);
  });

  it('keys on peer address, peer port and local port', () => {
    prog.clearMap(MAP_NAMES.conntrack);
    prog.run(udp6Frame({ src: 'fd00:9::5', sport: 5000, payload: quicShort() }));
    prog.run(udp6Frame({ src: 'fd00:9::5', sport: 5001, payload: quicShort() }));
    prog.run(udp6Frame({ src: 'fd00:9::6', sport: 5000, payload: quicShort() }));
    const keys = prog.conntrack().map((e) => `${e.peerAddress}/${e.peerPort}/${e.localPort}`).sort();
    expect(keys).toEqual(['fd00:9::5/5000/9292', 'fd00:9::5/5001/9292', 'fd00:9::6/5000/9292']);
  });
});
