/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every layout shared between the STOQ XDP program and userspace: config,
 * counters, conntrack and rate-limiter entries. Fixed-width types only, so C
 * userspace can include it too; the TypeScript codecs in @stoq/bpf-programs
 * mirror it and a test compares them against this object's BTF.
 */
#ifndef STOQ_SHARED_H
#define STOQ_SHARED_H

#include <linux/types.h>

#define STOQ_MAX_QUIC_PORTS 8
#define STOQ_DEFAULT_QUIC_PORT 9292
#define STOQ_DEFAULT_INITIAL_MIN_SIZE 1200
#define STOQ_CONNTRACK_ENTRIES 65536
#define STOQ_INITIAL_BUCKET_ENTRIES 65536
#define STOQ_XSKS_ENTRIES 64
/* The host's own IPv6 addresses (stoq_host_addrs): a host with more turns the check off. */
#define STOQ_HOST_ADDRS_ENTRIES 1024

/* Written by userspace into stoq_config.magic; any other value means "use defaults". */
#define STOQ_CONFIG_MAGIC 0x53544f51u /* "STOQ" */

/* Counter indexes in stoq_stats.counters. The order is part of the contract. */
enum stoq_counter {
	STOQ_CTR_RX_PACKETS = 0,
	STOQ_CTR_RX_BYTES = 1,
	STOQ_CTR_MALFORMED_PASSED = 2,
	STOQ_CTR_NON_IP_PASSED = 3,
	STOQ_CTR_IPV4_DROPPED = 4,
	STOQ_CTR_IPV4_PASSED = 5,
	STOQ_CTR_IPV6_NON_UDP_PASSED = 6,
	STOQ_CTR_IPV6_FRAGMENT_PASSED = 7,
	STOQ_CTR_UDP_NON_QUIC_PASSED = 8,
	STOQ_CTR_MALFORMED_DROPPED = 9,
	STOQ_CTR_INITIAL_TOO_SMALL_DROPPED = 10,
	STOQ_CTR_INITIAL_RATE_LIMITED_DROPPED = 11,
	STOQ_CTR_QUIC_REDIRECTED = 12,
	STOQ_CTR_QUIC_PASSED = 13,
	STOQ_CTR_MAX = 14,
};

/* Frame-size histogram upper bounds (bytes): 64 128 256 512 1024 1518 4096, then larger. */
enum stoq_size_bucket {
	STOQ_SIZE_LE_64 = 0,
	STOQ_SIZE_LE_128 = 1,
	STOQ_SIZE_LE_256 = 2,
	STOQ_SIZE_LE_512 = 3,
	STOQ_SIZE_LE_1024 = 4,
	STOQ_SIZE_LE_1518 = 5,
	STOQ_SIZE_LE_4096 = 6,
	STOQ_SIZE_LARGER = 7,
	STOQ_SIZE_BUCKETS = 8,
};

enum stoq_ipv4_policy {
	STOQ_IPV4_DROP = 0,
	STOQ_IPV4_PASS = 1,
};

/* Conntrack states; the program only moves forward and never touches CLOSING. */
enum stoq_ct_state {
	STOQ_CT_NONE = 0,
	STOQ_CT_INITIAL = 1,
	STOQ_CT_HANDSHAKE = 2,
	STOQ_CT_ESTABLISHED = 3,
	STOQ_CT_CLOSING = 4,
};

/* What the program recognised in the first bytes of a UDP payload. */
enum stoq_quic_kind {
	STOQ_QUIC_SHORT = 0,
	STOQ_QUIC_INITIAL = 1,
	STOQ_QUIC_ZERO_RTT = 2,
	STOQ_QUIC_HANDSHAKE = 3,
	STOQ_QUIC_RETRY = 4,
	STOQ_QUIC_VERSION_NEGOTIATION = 5,
	STOQ_QUIC_UNKNOWN_VERSION = 6,
};

/* stoq_config, key 0. Ports in host byte order; 0 = unused slot. */
struct stoq_config {
	__u32 magic;
	__u16 quic_ports[STOQ_MAX_QUIC_PORTS];
	__u8 ipv4_policy;    /* enum stoq_ipv4_policy */
	__u8 redirect;       /* 1 = redirect QUIC to stoq_xsks */
	__u8 timestamp_meta; /* 1 = 8-byte ktime in XDP metadata */
	/* 1 = with local_addr ::, QUIC-port datagrams to a destination missing from
	 * stoq_host_addrs are left to the kernel (forwarded traffic, not ours) */
	__u8 check_local_addrs;
	__u16 initial_min_size; /* minimum UDP payload of a datagram carrying an Initial */
	__u16 max_redirect_payload; /* longer UDP payloads go to the kernel; 0 = no limit */
	__u32 initial_rate;  /* Initials per second per source /64 */
	__u32 initial_burst; /* bucket size; 0 = no limit */
	/* The endpoint's bound IPv6 address (network order); all zeros (::) = any. When set,
	 * QUIC-port datagrams to another destination are left to the kernel (another socket
	 * may own that address and port). */
	__u8 local_addr[16];
};

/* stoq_stats, per-CPU, key 0; userspace sums the CPUs. */
struct stoq_stats {
	__u64 counters[STOQ_CTR_MAX];
	__u64 size_hist[STOQ_SIZE_BUCKETS];
};

/* stoq_conntrack key. Ports in host byte order. */
struct stoq_ct_key {
	__u8 peer_addr[16];
	__u16 peer_port;
	__u16 local_port;
};

struct stoq_ct_value {
	__u32 state; /* enum stoq_ct_state */
	__u32 _pad;
	__u64 first_seen_ns;
	__u64 last_seen_ns;
	__u64 packets;
	__u64 bytes;
};

/*
 * The one record stoq_ct_states (a map-element iterator over stoq_conntrack) writes
 * per pass: entries per state (index = enum stoq_ct_state; by_state[0] counts values
 * with a state outside the enum) and the packet/byte totals of all entries.
 */
#define STOQ_CT_STATE_SLOTS 5
struct stoq_ct_summary {
	__u64 entries;
	__u64 by_state[STOQ_CT_STATE_SLOTS];
	__u64 packets;
	__u64 bytes;
};

/* stoq_init_rate key: the source's /64 prefix. */
struct stoq_prefix_key {
	__u8 prefix[8];
};

/* Token bucket; tokens are scaled by 1e9 so refill is rate * elapsed_ns. */
struct stoq_token_bucket {
	__u64 tokens_nano;
	__u64 last_ns;
};

#endif /* STOQ_SHARED_H */
