/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Token bucket per source /64 for QUIC Initials. Tokens are kept in
 * nano-tokens (1 Initial = 1e9) so refill is rate * elapsed_ns with no division
 * on the common path.
 */
#ifndef STOQ_LIB_RATELIMIT_H
#define STOQ_LIB_RATELIMIT_H

#include <linux/ipv6.h>
#include "maps.h"

#define STOQ_NANO_TOKENS 1000000000ull

/* Returns 1 if this Initial may pass, 0 if the source /64 is over its rate. */
static __always_inline int initial_rate_allow(const struct stoq_config *cfg,
					      const struct ipv6hdr *ip6, __u64 now)
{
	struct stoq_prefix_key key = {};
	struct stoq_token_bucket *b;
	__u64 capacity, elapsed, rate;

	if (cfg->initial_burst == 0)
		return 1;
	capacity = (__u64)cfg->initial_burst * STOQ_NANO_TOKENS;
	rate = cfg->initial_rate;
	__builtin_memcpy(key.prefix, &ip6->saddr, sizeof(key.prefix));

	b = bpf_map_lookup_elem(&stoq_init_rate, &key);
	if (!b) {
		struct stoq_token_bucket fresh = {
			.tokens_nano = capacity - STOQ_NANO_TOKENS,
			.last_ns = now,
		};
		bpf_map_update_elem(&stoq_init_rate, &key, &fresh, BPF_ANY);
		return 1;
	}
	/* Refill; once the gap is long enough to fill the bucket, just fill it (no overflow). */
	elapsed = now > b->last_ns ? now - b->last_ns : 0;
	if (b->tokens_nano > capacity) /* burst lowered since the last packet */
		b->tokens_nano = capacity;
	if (rate && elapsed >= (capacity - b->tokens_nano) / rate + 1)
		b->tokens_nano = capacity;
	else if (rate)
		b->tokens_nano += rate * elapsed;
	b->last_ns = now;
	if (b->tokens_nano < STOQ_NANO_TOKENS)
		return 0;
	b->tokens_nano -= STOQ_NANO_TOKENS;
	return 1;
}

#endif /* STOQ_LIB_RATELIMIT_H */
