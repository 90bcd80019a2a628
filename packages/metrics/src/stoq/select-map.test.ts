// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { selectMap } from './select-map.js';

const a = { id: 12, map: 'a' };
const b = { id: 7, map: 'b' };

describe('selectMap', () => {
  it('takes the only candidate, or the one with the wanted id', () => {
    expect(selectMap('stoq_stats', [a])).toEqual({ map: 'a', id: 12 });
    expect(selectMap('stoq_stats', [a, b], 7)).toEqual({ map: 'b', id: 7 });
  });

  it('refuses to guess between several and lists their ids', () => {
    expect(selectMap('stoq_stats', [a, b])).toEqual({
      unavailable: '2 maps named stoq_stats (ids 7, 12): several STOQ programs are loaded; choose one by id (bpftool map show name stoq_stats)',
    });
  });

  it('says why when nothing matches', () => {
    expect(selectMap('stoq_stats', [])).toEqual({ unavailable: 'no map named stoq_stats on this host: no STOQ program with XDP is loaded' });
    expect(selectMap('stoq_stats', [a], 99)).toEqual({
      unavailable: 'no map stoq_stats with id 99: its program was unloaded or never existed (maps named stoq_stats now: ids 12)',
    });
  });
});
