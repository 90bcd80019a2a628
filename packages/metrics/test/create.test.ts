// SPDX-License-Identifier: Apache-2.0
// createStoqCollector over real kernel objects: a failed call closes the stoq_ct_states
// program it loaded (no BPF fd leaks), and UMEM bytes are what a real Umem maps.
import { readdirSync, readlinkSync } from 'node:fs';
import { Umem } from '@stoq/af-xdp';
import { ctStatesObjectPath } from '@stoq/bpf-programs';
import { BpfObject } from '@stoq/loader';
import { describe, expect, it } from 'vitest';
import { skipUnless } from '../../../vitest.skip.ts';
import { createStoqCollector, StoqMetricsError, type StoqObjectLike } from '../src/index.js';
import { StoqXdp } from './helpers/stoq-xdp.js';

const isRoot = process.getuid?.() === 0;

/** BPF objects (programs, maps, links) this process holds open. */
function bpfFds(): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith('anon_inode:bpf');
    } catch {
      return false; // closed between readdir and readlink (the readdir fd itself)
    }
  }).length;
}

describe('createStoqCollector over real kernel objects', skipUnless(isRoot, 'needs root: loading BPF programs and a UMEM (CAP_BPF, CAP_SYS_ADMIN)'), () => {
  it('closes the stoq_ct_states program it loaded when it fails, whichever map is missing', async () => {
    // A real object without the STOQ maps: the iterator program itself.
    const wrong = await BpfObject.load(ctStatesObjectPath);
    const prog = await StoqXdp.load();
    // The real stoq_xdp object, but its stoq_stats cannot be had (after stoq_conntrack was).
    const noStats: StoqObjectLike = {
      map: (name) => {
        if (name === 'stoq_stats') throw new Error('stoq_stats is gone');
        return prog.object.map(name);
      },
    };
    try {
      const before = bpfFds();
      for (let i = 0; i < 3; i++) {
        await expect(createStoqCollector({ object: wrong, process: false })).rejects.toMatchObject({ code: 'STOQ_ERR_BPF_NOT_FOUND' });
        await expect(createStoqCollector({ object: noStats, process: false })).rejects.toThrow('stoq_stats is gone');
      }
      expect(bpfFds()).toBe(before);
      // And a good call still loads it (the count above would hide nothing being loaded at all).
      const collector = await createStoqCollector({ object: prog.object, process: false });
      expect(bpfFds()).toBeGreaterThan(before);
      const reading = (await collector.collect()).readings.conntrack;
      expect(reading.available && reading.data.readMethod).toBe('iterator');
      collector.close();
      expect(bpfFds()).toBe(before);
    } finally {
      prog.close();
      wrong.close();
    }
  });

  it('refuses a bad windowMs or batchSize before loading anything', async () => {
    const prog = await StoqXdp.load();
    try {
      const before = bpfFds();
      await expect(createStoqCollector({ object: prog.object, windowMs: 0 })).rejects.toMatchObject({ code: 'STOQ_ERR_INVALID_ARGUMENT', field: 'windowMs' });
      await expect(createStoqCollector({ object: prog.object, batchSize: 0.5 })).rejects.toMatchObject({ code: 'STOQ_ERR_INVALID_ARGUMENT', field: 'batchSize' });
      expect(bpfFds()).toBe(before);
    } finally {
      prog.close();
    }
  });

  it('counts the UMEM a real staggered-layout Umem maps (frames a stride apart), not frameCount * frameSize', async () => {
    const umem = Umem.create({ frameCount: 4096, frameSize: 2048, layout: 'staggered' });
    try {
      expect(umem.frameStride).toBeGreaterThan(umem.frameSize); // else this test shows nothing
      const xsk = { mode: 'copy' as const, umem, statistics: () => ({ kernel: { rxDropped: 0 }, socket: { rxPackets: 0, txPackets: 0 } }) };
      // Two sockets over one shared UMEM: counted once.
      const collector = await createStoqCollector({ xsks: () => [xsk, { ...xsk }] });
      const reading = (await collector.collect()).readings.process;
      if (!reading.available) throw new Error(reading.reason);
      expect(reading.data.umemBytes).toBe(umem.buffer.byteLength);
      expect(reading.data.umemBytes).toBeGreaterThanOrEqual(umem.frameCount * umem.frameStride);
      collector.close();
    } finally {
      umem.destroy();
    }
  });
});

describe('createStoqCollector options', () => {
  it('refuses a byName map id that is not a kernel id before loading anything', async () => {
    for (const [field, id] of [['statsMapId', 'x'], ['conntrackMapId', 0], ['statsMapId', 1.5], ['conntrackMapId', 2 ** 32]] as const) {
      const error = await createStoqCollector({ byName: { [field]: id } as never, process: false }).catch((e: unknown) => e);
      expect(error, `${field} ${id}`).toBeInstanceOf(StoqMetricsError);
      expect(error).toMatchObject({ code: 'STOQ_ERR_INVALID_ARGUMENT', field: `byName.${field}` });
    }
  });

  it('keeps the process source (CPU, RSS) when the xsks callback throws: UMEM bytes null, the af_xdp source failed and counted', skipUnless(process.platform === 'linux', 'linux only: process CPU and RSS from /proc'), async () => {
    let fail = false;
    const umem = { frameCount: 4, frameSize: 2048 };
    const xsk = { mode: 'copy' as const, umem, statistics: () => ({ kernel: { rxDropped: 0 }, socket: { rxPackets: 1, txPackets: 0 } }) };
    const collector = await createStoqCollector({
      xsks: () => {
        if (fail) throw new Error('socket list unavailable');
        return [xsk];
      },
    });
    try {
      const before = (await collector.collect()).readings.process;
      expect(before.available && before.data.umemBytes).toBe(8192);
      fail = true;
      const snapshot = await collector.collect();
      expect(snapshot.readings.afXdp).toEqual({ available: false, reason: 'collect failed: socket list unavailable' });
      const proc = snapshot.readings.process;
      if (!proc.available) throw new Error(proc.reason);
      expect(proc.data.umemBytes).toBeNull();
      expect(proc.data.rssBytes).toBeGreaterThan(0);
      expect(snapshot.sourceErrors).toMatchObject({ af_xdp: 1, process: 0 });
    } finally {
      collector.close();
    }
  });
});
