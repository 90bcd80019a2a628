/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The program's maps. Their names are a contract (DESIGN.md): keep them. */
#ifndef STOQ_LIB_MAPS_H
#define STOQ_LIB_MAPS_H

#include <linux/bpf.h>
#include <linux/in6.h>
#include <bpf/bpf_helpers.h>
#include "../stoq_shared.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stoq_config);
} stoq_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stoq_stats);
} stoq_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, STOQ_CONNTRACK_ENTRIES);
	__type(key, struct stoq_ct_key);
	__type(value, struct stoq_ct_value);
} stoq_conntrack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, STOQ_XSKS_ENTRIES);
	__type(key, __u32);
	__type(value, __u32);
} stoq_xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, STOQ_INITIAL_BUCKET_ENTRIES);
	__type(key, struct stoq_prefix_key);
	__type(value, struct stoq_token_bucket);
} stoq_init_rate SEC(".maps");

/* The host's own IPv6 addresses (key: 16 bytes, network order; value unused, 1), read
 * when stoq_config.check_local_addrs is set and local_addr is ::. Kept by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STOQ_HOST_ADDRS_ENTRIES);
	__type(key, struct in6_addr);
	__type(value, __u8);
} stoq_host_addrs SEC(".maps");

#endif /* STOQ_LIB_MAPS_H */
