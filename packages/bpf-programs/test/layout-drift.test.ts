// SPDX-License-Identifier: Apache-2.0
// Fails when the TS codecs and bpf/stoq_shared.h drift apart: struct sizes and member
// offsets from the shipped object's BTF (read here, support/btf.ts), enum values from
// the header compiled for userspace C (BTF drops enums that are only used as constants).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CONFIG_MAGIC, CONNTRACK_STATES, CT_STATE_SLOTS, CT_SUMMARY_LAYOUT, ENUM_VALUES, MAX_QUIC_PORTS, STRUCT_LAYOUTS,
  ctStatesObjectPath, headerPath, objectPath,
} from '../src/index.js';
import { btfStructs, type BtfStruct } from './support/btf.js';

const here = dirname(fileURLToPath(import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'stoq-probe-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('layout drift between bpf/stoq_shared.h and the TS codecs', () => {
  it('ships the object and the header in dist/', () => {
    expect(existsSync(objectPath)).toBe(true);
    expect(existsSync(headerPath)).toBe(true);
    expect(existsSync(ctStatesObjectPath)).toBe(true);
  });

  // The summary record lives only in the iterator's object; every other struct in stoq_xdp's.
  // (How the iterator reads stoq_ct_value is checked by value in ct-states-iterator.test.ts.)
  const structs = btfStructs(objectPath);
  const iterStructs = btfStructs(ctStatesObjectPath);
  const offsetsOf = (struct: BtfStruct) =>
    Object.fromEntries(struct.members.filter((m) => !m.name.startsWith('_pad')).map((m) => [m.name, m.bitsOffset / 8]));

  it('the BTF reader gets a kernel UAPI struct right (struct xdp_md)', () => {
    const md = structs.find((s) => s.name === 'xdp_md');
    expect(md?.size).toBe(24);
    expect(md?.members.map((m) => [m.name, m.bitsOffset / 8])).toEqual([
      ['data', 0], ['data_end', 4], ['data_meta', 8], ['ingress_ifindex', 12], ['rx_queue_index', 16], ['egress_ifindex', 20],
    ]);
  });

  it.each(STRUCT_LAYOUTS.map((l) => [l.name, l] as const))('struct %s: size and offsets match BTF', (name, layout) => {
    const struct = (layout === CT_SUMMARY_LAYOUT ? iterStructs : structs).find((t) => t.name === name);
    expect(struct, `struct ${name} in BTF`).toBeDefined();
    expect(struct!.size).toBe(layout.size);
    expect(offsetsOf(struct!)).toEqual(layout.offsets);
  });


  it('enum values and constants match the header compiled for userspace', () => {
    const probe = join(scratch, 'layout_probe');
    execFileSync('clang', ['-O0', '-I', dirname(headerPath), '-I/usr/include/x86_64-linux-gnu', join(here, 'support/layout_probe.c'), '-o', probe]);
    const { enums } = JSON.parse(execFileSync(probe, { encoding: 'utf8' })) as { enums: Record<string, number> };
    for (const values of Object.values(ENUM_VALUES)) {
      for (const [name, value] of Object.entries(values)) expect({ name, value: enums[name] }).toEqual({ name, value });
    }
    expect(enums.STOQ_MAX_QUIC_PORTS).toBe(MAX_QUIC_PORTS);
    expect(enums.STOQ_CT_STATE_SLOTS).toBe(CT_STATE_SLOTS);
    expect(Math.max(...Object.values(CONNTRACK_STATES)) + 1).toBe(CT_STATE_SLOTS);
    expect(enums.STOQ_CONFIG_MAGIC).toBe(CONFIG_MAGIC);
  });
});
