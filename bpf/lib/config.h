/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Reads stoq_config on every packet; a never-written entry means the defaults. */
#ifndef STOQ_LIB_CONFIG_H
#define STOQ_LIB_CONFIG_H

#include <linux/ipv6.h>
#include "maps.h"

static __always_inline void config_defaults(struct stoq_config *cfg)
{
	__builtin_memset(cfg, 0, sizeof(*cfg));
	cfg->magic = STOQ_CONFIG_MAGIC;
	cfg->quic_ports[0] = STOQ_DEFAULT_QUIC_PORT;
	cfg->ipv4_policy = STOQ_IPV4_DROP;
	cfg->redirect = 1;
	cfg->initial_min_size = STOQ_DEFAULT_INITIAL_MIN_SIZE;
}

static __always_inline void config_load(struct stoq_config *cfg)
{
	__u32 key = 0;
	struct stoq_config *stored = bpf_map_lookup_elem(&stoq_config, &key);

	if (stored && stored->magic == STOQ_CONFIG_MAGIC)
		__builtin_memcpy(cfg, stored, sizeof(*cfg));
	else
		config_defaults(cfg);
}

static __always_inline int config_is_quic_port(const struct stoq_config *cfg, __u16 port)
{
#pragma unroll
	for (int i = 0; i < STOQ_MAX_QUIC_PORTS; i++) {
		if (cfg->quic_ports[i] != 0 && cfg->quic_ports[i] == port)
			return 1;
	}
	return 0;
}

/*
 * 1 when the datagram is for a destination that is not ours to judge: the kernel delivers
 * it (another socket bound to that address and port), forwards it, or refuses it.
 * local_addr set (not ::): any other destination. local_addr :: with check_local_addrs:
 * a destination missing from stoq_host_addrs (the host's addresses), i.e. traffic the
 * host only forwards (a router, pods or VMs behind a bridge or veth on the same port).
 * Both unset, it costs one test of four words and one of a byte, already on the stack.
 */
static __always_inline int config_other_destination(const struct stoq_config *cfg,
						    const struct ipv6hdr *ip6)
{
	const __u32 *local = (const __u32 *)cfg->local_addr;
	const __u32 *dst = ip6->daddr.in6_u.u6_addr32;

	if (local[0] | local[1] | local[2] | local[3])
		return ((local[0] ^ dst[0]) | (local[1] ^ dst[1]) | (local[2] ^ dst[2]) |
			(local[3] ^ dst[3])) != 0;
	if (!cfg->check_local_addrs)
		return 0;
	return bpf_map_lookup_elem(&stoq_host_addrs, &ip6->daddr) == NULL;
}

#endif /* STOQ_LIB_CONFIG_H */
