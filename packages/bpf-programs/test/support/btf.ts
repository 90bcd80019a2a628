// SPDX-License-Identifier: Apache-2.0
// Reads the struct layouts out of a BPF object's .BTF section (ELF64, little
// endian, as clang -target bpf writes on x86-64): enough for the layout-drift test,
// with no tool between the shipped object and the check.
import { readFileSync } from 'node:fs';

export interface BtfStruct {
  name: string;
  size: number;
  members: Array<{ name: string; bitsOffset: number }>;
}

const BTF_MAGIC = 0xeb9f;
const KIND = { STRUCT: 4, UNION: 5 } as const;
/** Bytes that follow the 12-byte btf_type, per kind: a fixed part plus one per vlen entry. */
const EXTRA: Record<number, { fixed: number; perEntry: number }> = {
  1: { fixed: 4, perEntry: 0 }, // INT
  3: { fixed: 12, perEntry: 0 }, // ARRAY
  4: { fixed: 0, perEntry: 12 }, // STRUCT
  5: { fixed: 0, perEntry: 12 }, // UNION
  6: { fixed: 0, perEntry: 8 }, // ENUM
  13: { fixed: 0, perEntry: 8 }, // FUNC_PROTO
  14: { fixed: 4, perEntry: 0 }, // VAR
  15: { fixed: 0, perEntry: 12 }, // DATASEC
  17: { fixed: 4, perEntry: 0 }, // DECL_TAG
  19: { fixed: 0, perEntry: 12 }, // ENUM64
};

function section(elf: Buffer, wanted: string): Buffer {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) throw new Error('not a little-endian ELF64 object');
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const header = (i: number) => {
    const at = shoff + i * shentsize;
    return { name: elf.readUInt32LE(at), offset: Number(elf.readBigUInt64LE(at + 24)), size: Number(elf.readBigUInt64LE(at + 32)) };
  };
  const names = header(elf.readUInt16LE(0x3e));
  for (let i = 0; i < shnum; i++) {
    const h = header(i);
    const at = names.offset + h.name;
    if (elf.toString('latin1', at, elf.indexOf(0, at)) === wanted) return elf.subarray(h.offset, h.offset + h.size);
  }
  throw new Error(`no ${wanted} section`);
}

export function btfStructs(objectPath: string): BtfStruct[] {
  const btf = section(readFileSync(objectPath), '.BTF');
  if (btf.readUInt16LE(0) !== BTF_MAGIC) throw new Error('bad BTF magic');
  const hdrLen = btf.readUInt32LE(4);
  const types = btf.subarray(hdrLen + btf.readUInt32LE(8), hdrLen + btf.readUInt32LE(8) + btf.readUInt32LE(12));
  const strings = btf.subarray(hdrLen + btf.readUInt32LE(16), hdrLen + btf.readUInt32LE(16) + btf.readUInt32LE(20));
  const str = (off: number) => strings.toString('utf8', off, strings.indexOf(0, off));

  const structs: BtfStruct[] = [];
  for (let at = 0; at < types.length;) {
    const info = types.readUInt32LE(at + 4);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const bitfields = info >>> 31 === 1;
    if (kind === KIND.STRUCT || kind === KIND.UNION) {
      const members = Array.from({ length: vlen }, (_, i) => {
        const m = at + 12 + i * 12;
        const offset = types.readUInt32LE(m + 8);
        return { name: str(types.readUInt32LE(m)), bitsOffset: bitfields ? offset & 0xffffff : offset };
      });
      if (kind === KIND.STRUCT) structs.push({ name: str(types.readUInt32LE(at)), size: types.readUInt32LE(at + 8), members });
    }
    const extra = EXTRA[kind] ?? { fixed: 0, perEntry: 0 };
    at += 12 + extra.fixed + extra.perEntry * vlen;
  }
  return structs;
}
