// Structure-aware mutations of real QUIC datagrams: bit flips, truncation, splices and
// targeted edits of the long-header fields (type bits, version, CID lengths, token
// and length varints), plus pure garbage. Deterministic for a given seed.

/** Small fast PRNG (mulberry32) so a failing run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Mutation =
  | 'bitflip' | 'truncate' | 'garbage' | 'overwrite' | 'insert' | 'splice'
  | 'type-bits' | 'version' | 'dcid-length' | 'scid-length' | 'length-varint' | 'short-header' | 'zero-tail';

export const MUTATIONS: readonly Mutation[] = [
  'bitflip', 'truncate', 'garbage', 'overwrite', 'insert', 'splice',
  'type-bits', 'version', 'dcid-length', 'scid-length', 'length-varint', 'short-header', 'zero-tail',
];

const VERSIONS = [0x00000001, 0x6b3343cf, 0x00000000, 0xff00001d, 0x1a2a3a4a, 0xffffffff];

export function mutate(seed: Buffer, corpus: readonly Buffer[], rnd: () => number, kind?: Mutation): { kind: Mutation; data: Buffer } {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const k = kind ?? pick(MUTATIONS);
  const d = Buffer.from(seed);
  const at = (max = d.length) => Math.floor(rnd() * Math.max(1, max));
  const dcidLenAt = 5;
  switch (k) {
    case 'bitflip':
      for (let n = 1 + at(8); n > 0 && d.length; n--) d[at()]! ^= 1 << at(8);
      return { kind: k, data: d };
    case 'truncate':
      return { kind: k, data: d.subarray(0, at(d.length)) };
    case 'garbage': {
      const g = Buffer.alloc(1 + at(1500));
      for (let i = 0; i < g.length; i++) g[i] = at(256);
      return { kind: k, data: g };
    }
    case 'overwrite':
      for (let n = 1 + at(32), i = at(); n > 0 && i < d.length; n--, i++) d[i] = at(256);
      return { kind: k, data: d };
    case 'insert': {
      const i = at();
      return { kind: k, data: Buffer.concat([d.subarray(0, i), Buffer.alloc(1 + at(64), at(256)), d.subarray(i)]).subarray(0, 1500) };
    }
    case 'splice': {
      const other = pick(corpus);
      return { kind: k, data: Buffer.concat([d.subarray(0, at()), other.subarray(at(other.length))]).subarray(0, 1500) };
    }
    case 'type-bits':
      if (d.length) d[0] = (d[0]! & 0xcf) | (at(4) << 4);
      return { kind: k, data: d };
    case 'version':
      if (d.length >= 5) d.writeUInt32BE(pick(VERSIONS), 1);
      return { kind: k, data: d };
    case 'dcid-length':
      if (d.length > dcidLenAt) d[dcidLenAt] = pick([0, 1, 8, 20, 21, 255]);
      return { kind: k, data: d };
    case 'scid-length': {
      const i = dcidLenAt + 1 + (d[dcidLenAt] ?? 0);
      if (i < d.length) d[i] = pick([0, 20, 21, 255]);
      return { kind: k, data: d };
    }
    case 'length-varint': {
      // Somewhere after the CIDs sit the token length and Length varints: make one huge.
      const i = Math.min(d.length - 1, dcidLenAt + 2 + (d[dcidLenAt] ?? 0) + at(24));
      if (i > 0) d[i] = pick([0x40, 0x7f, 0xbf, 0xff]);
      return { kind: k, data: d };
    }
    case 'short-header':
      if (d.length) d[0] = 0x40 | (d[0]! & 0x3f);
      return { kind: k, data: d };
    case 'zero-tail':
      d.fill(0, at());
      return { kind: k, data: d };
  }
}
