// SPDX-License-Identifier: Apache-2.0
// Byte layouts of the structs and enums in bpf/stoq_shared.h. Field names are the
// C member names so the drift test can compare them one to one with the object's BTF.
import { endianness } from 'node:os';

/** Map values are in host byte order. */
export const LITTLE_ENDIAN = endianness() === 'LE';

export const PROGRAM_NAME = 'stoq_xdp';

/** The iterator program in stoq_ct_states.bpf.o (attach it to stoq_conntrack). */
export const CT_STATES_PROGRAM_NAME = 'stoq_ct_states';

export const MAP_NAMES = {
  config: 'stoq_config',
  stats: 'stoq_stats',
  conntrack: 'stoq_conntrack',
  xsks: 'stoq_xsks',
  initialBuckets: 'stoq_initial_buckets',
} as const;

/** Counter names in enum stoq_counter order (index = enum value). */
export const COUNTER_NAMES = [
  'rx_packets',
  'rx_bytes',
  'malformed_passed',
  'non_ip_passed',
  'ipv4_dropped',
  'ipv4_passed',
  'ipv6_non_udp_passed',
  'ipv6_fragment_passed',
  'udp_non_quic_passed',
  'malformed_dropped',
  'initial_too_small_dropped',
  'initial_rate_limited_dropped',
  'quic_redirected',
  'quic_passed',
] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];

/** The counters of which exactly one moves per frame (all but rx_packets/rx_bytes). */
export const CLASS_COUNTER_NAMES = COUNTER_NAMES.slice(2) as Exclude<CounterName, 'rx_packets' | 'rx_bytes'>[];

/** Inclusive upper bounds of the frame-size histogram buckets; the last bucket is "larger". */
export const SIZE_BUCKET_LIMITS = [64, 128, 256, 512, 1024, 1518, 4096, Infinity] as const;

export const MAX_QUIC_PORTS = 8;
export const CONFIG_MAGIC = 0x53544f51;

export interface StructLayout {
  readonly name: string;
  readonly size: number;
  readonly offsets: Readonly<Record<string, number>>;
}

export const CONFIG_LAYOUT = {
  name: 'stoq_config',
  size: 36,
  offsets: {
    magic: 0, quic_ports: 4, ipv4_policy: 20, redirect: 21, timestamp_meta: 22,
    initial_min_size: 24, initial_rate: 28, initial_burst: 32,
  },
} as const satisfies StructLayout;

export const STATS_LAYOUT = {
  name: 'stoq_stats',
  size: (COUNTER_NAMES.length + SIZE_BUCKET_LIMITS.length) * 8,
  offsets: { counters: 0, size_hist: COUNTER_NAMES.length * 8 },
} as const satisfies StructLayout;

export const CT_KEY_LAYOUT = {
  name: 'stoq_ct_key',
  size: 20,
  offsets: { peer_addr: 0, peer_port: 16, local_port: 18 },
} as const satisfies StructLayout;

export const CT_VALUE_LAYOUT = {
  name: 'stoq_ct_value',
  size: 40,
  offsets: { state: 0, first_seen_ns: 8, last_seen_ns: 16, packets: 24, bytes: 32 },
} as const satisfies StructLayout;

export const PREFIX_KEY_LAYOUT = {
  name: 'stoq_prefix_key',
  size: 8,
  offsets: { prefix: 0 },
} as const satisfies StructLayout;

export const TOKEN_BUCKET_LAYOUT = {
  name: 'stoq_token_bucket',
  size: 16,
  offsets: { tokens_nano: 0, last_ns: 8 },
} as const satisfies StructLayout;

/** Slots of stoq_ct_summary.by_state: one per enum stoq_ct_state value (slot 0 = unknown state). */
export const CT_STATE_SLOTS = 5;

/** The record the stoq_ct_states iterator writes once per pass. */
export const CT_SUMMARY_LAYOUT = {
  name: 'stoq_ct_summary',
  size: (3 + CT_STATE_SLOTS) * 8,
  offsets: { entries: 0, by_state: 8, packets: 8 + CT_STATE_SLOTS * 8, bytes: 16 + CT_STATE_SLOTS * 8 },
} as const satisfies StructLayout;

export const STRUCT_LAYOUTS: readonly StructLayout[] = [
  CONFIG_LAYOUT, STATS_LAYOUT, CT_KEY_LAYOUT, CT_VALUE_LAYOUT, PREFIX_KEY_LAYOUT, TOKEN_BUCKET_LAYOUT, CT_SUMMARY_LAYOUT,
];

/** Conntrack states in enum stoq_ct_state order (0 = none, never stored). */
export const CONNTRACK_STATES = { initial: 1, handshake: 2, established: 3, closing: 4 } as const;
export type ConntrackState = keyof typeof CONNTRACK_STATES;

export const IPV4_POLICIES = { drop: 0, pass: 1 } as const;
export type Ipv4Policy = keyof typeof IPV4_POLICIES;

/** Enum values the C header defines, by C enumerator name, for the drift test. */
export const ENUM_VALUES: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  stoq_counter: {
    ...Object.fromEntries(COUNTER_NAMES.map((n, i) => [`STOQ_CTR_${n.toUpperCase()}`, i])),
    STOQ_CTR_MAX: COUNTER_NAMES.length,
  },
  stoq_ct_state: {
    STOQ_CT_NONE: 0,
    ...Object.fromEntries(Object.entries(CONNTRACK_STATES).map(([k, v]) => [`STOQ_CT_${k.toUpperCase()}`, v])),
  },
  stoq_ipv4_policy: { STOQ_IPV4_DROP: IPV4_POLICIES.drop, STOQ_IPV4_PASS: IPV4_POLICIES.pass },
  stoq_size_bucket: { STOQ_SIZE_BUCKETS: SIZE_BUCKET_LIMITS.length },
};
