// SPDX-License-Identifier: Apache-2.0
// Byte layouts of the structs and enums in bpf/stoq_shared.h. Field names are the
// C member names so the drift test can compare them one to one with the object's BTF.
import { endianness } from 'node:os';

/** Map values are in host byte order. */
export const LITTLE_ENDIAN = endianness() === 'LE';

/** The XDP program's name in stoq_xdp.bpf.o (`BpfObject.program(PROGRAM_NAME)`). */
export const PROGRAM_NAME = 'stoq_xdp';

/** The iterator program in stoq_ct_states.bpf.o (attach it to stoq_conntrack). */
export const CT_STATES_PROGRAM_NAME = 'stoq_ct_states';

/** The maps of stoq_xdp.bpf.o by role. */
export const MAP_NAMES = {
  /** Array, one stoq_config at key 0 (CONFIG_LAYOUT): ports, IPv4 policy, redirect, Initial limits, local address, local-address check. */
  config: 'stoq_config',
  /** Per-CPU array, one stoq_stats at key 0 (STATS_LAYOUT); sum the CPUs (decodeStats). */
  stats: 'stoq_stats',
  /** Hash of stoq_ct_key → stoq_ct_value: one entry per QUIC peer address and port. */
  conntrack: 'stoq_conntrack',
  /** XSKMAP: AF_XDP socket per RX queue index, where QUIC frames are redirected. */
  xsks: 'stoq_xsks',
  /** Hash of stoq_prefix_key → stoq_token_bucket: the Initial rate limit per source /64. */
  initialBuckets: 'stoq_init_rate',
  /**
   * Hash of 16-byte IPv6 address (network order) → u8 (1; only presence counts): the host's
   * own addresses, HOST_ADDRS_ENTRIES at most (encodeHostAddrKey / HOST_ADDR_VALUE). Read
   * when stoq_config.check_local_addrs is set and local_addr is '::'.
   */
  hostAddrs: 'stoq_host_addrs',
} as const;

/** max_entries of stoq_host_addrs (STOQ_HOST_ADDRS_ENTRIES). */
export const HOST_ADDRS_ENTRIES = 1024;

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
/** One of COUNTER_NAMES, e.g. `'quic_redirected'`. */
export type CounterName = (typeof COUNTER_NAMES)[number];

/** The counters of which exactly one moves per frame (all but rx_packets/rx_bytes). */
export const CLASS_COUNTER_NAMES = COUNTER_NAMES.slice(2) as Exclude<CounterName, 'rx_packets' | 'rx_bytes'>[];

/** Inclusive upper bounds of the frame-size histogram buckets; the last bucket is "larger". */
export const SIZE_BUCKET_LIMITS = [64, 128, 256, 512, 1024, 1518, 4096, Infinity] as const;

/** How many UDP ports stoq_config.quic_ports holds (STOQ_MAX_QUIC_PORTS); unused slots are 0. */
export const MAX_QUIC_PORTS = 8;
/** stoq_config.magic ('STOQ'): without it (an entry never written) the program uses its built-in defaults. */
export const CONFIG_MAGIC = 0x53544f51;

/** The byte layout of one C struct of stoq_shared.h (host byte order). */
export interface StructLayout {
  /** The C struct tag, e.g. `stoq_config`. */
  readonly name: string;
  /** sizeof the struct, in bytes. */
  readonly size: number;
  /** Byte offset of each member, by C member name (padding members left out). */
  readonly offsets: Readonly<Record<string, number>>;
}

/** Layout of struct stoq_config, the value of stoq_config (key 0). */
export const CONFIG_LAYOUT = {
  /** The C struct tag. */
  name: 'stoq_config',
  /** sizeof, in bytes. */
  size: 52,
  /** Byte offsets of the members. */
  offsets: {
    /** u32 CONFIG_MAGIC. */
    magic: 0,
    /** u16[MAX_QUIC_PORTS] local UDP ports treated as QUIC (0 = unused slot). */
    quic_ports: 4,
    /** u8 IPV4_POLICIES value. */
    ipv4_policy: 20,
    /** u8, 1 = redirect QUIC frames to stoq_xsks. */
    redirect: 21,
    /** u8, 1 = write an 8-byte ktime into the XDP metadata. */
    timestamp_meta: 22,
    /** u8, 1 = with local_addr '::', QUIC to a destination missing from stoq_host_addrs goes to the kernel. */
    check_local_addrs: 23,
    /** u16 minimum UDP payload of a datagram carrying an Initial. */
    initial_min_size: 24,
    /** u16 longest UDP payload redirected to AF_XDP; 0 = no limit. */
    max_redirect_payload: 26,
    /** u32 Initials per second per source /64. */
    initial_rate: 28,
    /** u32 token bucket size; 0 = no limit. */
    initial_burst: 32,
    /** u8[16] the bound IPv6 address (network order); all zeros (::) = any destination. */
    local_addr: 36,
  },
} as const satisfies StructLayout;

/** Layout of struct stoq_stats, the per-CPU value of stoq_stats (key 0). */
export const STATS_LAYOUT = {
  /** The C struct tag. */
  name: 'stoq_stats',
  /** sizeof, in bytes. */
  size: (COUNTER_NAMES.length + SIZE_BUCKET_LIMITS.length) * 8,
  /** Byte offsets of the members. */
  offsets: {
    /** u64[] in COUNTER_NAMES order. */
    counters: 0,
    /** u64[] frame counts per SIZE_BUCKET_LIMITS bucket. */
    size_hist: COUNTER_NAMES.length * 8,
  },
} as const satisfies StructLayout;

/** Layout of struct stoq_ct_key, the key of stoq_conntrack (ports in host byte order). */
export const CT_KEY_LAYOUT = {
  /** The C struct tag. */
  name: 'stoq_ct_key',
  /** sizeof, in bytes. */
  size: 20,
  /** Byte offsets of the members. */
  offsets: {
    /** u8[16] the peer's IPv6 address. */
    peer_addr: 0,
    /** u16 the peer's UDP port. */
    peer_port: 16,
    /** u16 our UDP port. */
    local_port: 18,
  },
} as const satisfies StructLayout;

/** Layout of struct stoq_ct_value, the value of stoq_conntrack. */
export const CT_VALUE_LAYOUT = {
  /** The C struct tag. */
  name: 'stoq_ct_value',
  /** sizeof, in bytes. */
  size: 40,
  /** Byte offsets of the members. */
  offsets: {
    /** u32 CONNTRACK_STATES value. */
    state: 0,
    /** u64 bpf_ktime_get_ns() of the first packet. */
    first_seen_ns: 8,
    /** u64 bpf_ktime_get_ns() of the latest packet. */
    last_seen_ns: 16,
    /** u64 packets seen. */
    packets: 24,
    /** u64 bytes seen. */
    bytes: 32,
  },
} as const satisfies StructLayout;

/** Layout of struct stoq_prefix_key, the key of stoq_init_rate. */
export const PREFIX_KEY_LAYOUT = {
  /** The C struct tag. */
  name: 'stoq_prefix_key',
  /** sizeof, in bytes. */
  size: 8,
  /** Byte offsets of the members. */
  offsets: {
    /** u8[8] the source address's /64 prefix. */
    prefix: 0,
  },
} as const satisfies StructLayout;

/** Layout of struct stoq_token_bucket, the value of stoq_init_rate. */
export const TOKEN_BUCKET_LAYOUT = {
  /** The C struct tag. */
  name: 'stoq_token_bucket',
  /** sizeof, in bytes. */
  size: 16,
  /** Byte offsets of the members. */
  offsets: {
    /** u64 tokens scaled by 1e9 (refill is rate × elapsed ns). */
    tokens_nano: 0,
    /** u64 bpf_ktime_get_ns() of the last refill. */
    last_ns: 8,
  },
} as const satisfies StructLayout;

/** Slots of stoq_ct_summary.by_state: one per enum stoq_ct_state value (slot 0 = unknown state). */
export const CT_STATE_SLOTS = 5;

/** The record the stoq_ct_states iterator writes once per pass. */
export const CT_SUMMARY_LAYOUT = {
  /** The C struct tag. */
  name: 'stoq_ct_summary',
  /** sizeof, in bytes. */
  size: (3 + CT_STATE_SLOTS) * 8,
  /** Byte offsets of the members. */
  offsets: {
    /** u64 entries walked. */
    entries: 0,
    /** u64[CT_STATE_SLOTS] entries per state value (slot 0: a state outside the enum). */
    by_state: 8,
    /** u64 packets of all entries. */
    packets: 8 + CT_STATE_SLOTS * 8,
    /** u64 bytes of all entries. */
    bytes: 16 + CT_STATE_SLOTS * 8,
  },
} as const satisfies StructLayout;

/** Every layout above, for the drift test against the object's BTF. */
export const STRUCT_LAYOUTS: readonly StructLayout[] = [
  CONFIG_LAYOUT, STATS_LAYOUT, CT_KEY_LAYOUT, CT_VALUE_LAYOUT, PREFIX_KEY_LAYOUT, TOKEN_BUCKET_LAYOUT, CT_SUMMARY_LAYOUT,
];

/** Conntrack states in enum stoq_ct_state order (0 = none, never stored). */
export const CONNTRACK_STATES = {
  /** An Initial or 0-RTT packet seen from the peer. */
  initial: 1,
  /** A Handshake packet seen. */
  handshake: 2,
  /** A short-header (1-RTT) packet seen. */
  established: 3,
  /** Written by user space when the connection closes; the program never overwrites it. */
  closing: 4,
} as const;
/** One of CONNTRACK_STATES' names. */
export type ConntrackState = keyof typeof CONNTRACK_STATES;

/** What stoq_xdp does with IPv4 frames (enum stoq_ipv4_policy); STOQ is IPv6 only. */
export const IPV4_POLICIES = {
  /** Drop them (counted as ipv4_dropped). */
  drop: 0,
  /** Pass them to the kernel stack (counted as ipv4_passed). */
  pass: 1,
} as const;
/** One of IPV4_POLICIES' names. */
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
