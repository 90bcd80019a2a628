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

/* One load the compiler may not split, merge or repeat. */
#define READ_ONCE_U64(x) (*(volatile __u64 *)&(x))

/* Compare-and-swap attempts per Initial; a bucket that contended is rare (one /64
 * hitting several RX queues at the same instant), and losing every attempt denies. */
#define STOQ_BUCKET_CAS_TRIES 4

/* The tokens after refilling `tokens` for `elapsed` ns, capped at capacity without overflow. */
static __always_inline __u64 bucket_refill(__u64 tokens, __u64 capacity, __u64 rate,
					   __u64 elapsed)
{
	if (tokens > capacity) /* burst lowered since the last packet */
		tokens = capacity;
	if (!rate)
		return tokens;
	/* Once the gap is long enough to fill the bucket, just fill it (no overflow). */
	if (elapsed >= (capacity - tokens) / rate + 1)
		return capacity;
	return tokens + rate * elapsed;
}

/*
 * Returns 1 if this Initial may pass, 0 if the source /64 is over its rate. Every
 * RX queue's CPU may update one /64's bucket at once, so it is lock-free: each time
 * interval is credited by the one CPU whose compare-and-swap moves last_ns over it, and a
 * token is spent only by a compare-and-swap of the count it was read from (a plain
 * read-modify-write let two CPUs spend one token).
 */
static __always_inline int initial_rate_allow(const struct stoq_config *cfg,
					      const struct ipv6hdr *ip6, __u64 now)
{
	struct stoq_prefix_key key = {};
	struct stoq_token_bucket *b;
	__u64 capacity, elapsed, rate, prev, old, tokens;
	int i;

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
		/* NOEXIST: when another CPU created it first, take a token from its bucket. */
		if (bpf_map_update_elem(&stoq_init_rate, &key, &fresh, BPF_NOEXIST) == 0)
			return 1;
		b = bpf_map_lookup_elem(&stoq_init_rate, &key);
		if (!b)
			return 1; /* evicted at once: the LRU is under more pressure than this /64 */
	}
	/* last_ns only moves forward: a CPU whose `now` is older than the stored one (it
	 * read the clock first but got here second) credits nothing. */
	elapsed = 0;
	prev = READ_ONCE_U64(b->last_ns);
	for (i = 0; i < STOQ_BUCKET_CAS_TRIES && now > prev; i++) {
		__u64 seen = __sync_val_compare_and_swap(&b->last_ns, prev, now);

		if (seen == prev) {
			elapsed = now - prev;
			break;
		}
		prev = seen;
	}
	for (i = 0; i < STOQ_BUCKET_CAS_TRIES; i++) {
		old = READ_ONCE_U64(b->tokens_nano);
		tokens = bucket_refill(old, capacity, rate, elapsed);
		if (tokens < STOQ_NANO_TOKENS) {
			/* Denied; still bank the refill so the interval is not lost. */
			if (tokens == old || __sync_val_compare_and_swap(&b->tokens_nano, old, tokens) == old)
				return 0;
			continue;
		}
		if (__sync_val_compare_and_swap(&b->tokens_nano, old, tokens - STOQ_NANO_TOKENS) == old)
			return 1;
	}
	return 0;
}

#endif /* STOQ_LIB_RATELIMIT_H */
