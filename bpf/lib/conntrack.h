/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-peer QUIC flow tracking. The state only moves forward
 * (initial → handshake → established) and CLOSING, which userspace writes when
 * the connection closes, is never overwritten here.
 */
#ifndef STOQ_LIB_CONNTRACK_H
#define STOQ_LIB_CONNTRACK_H

#include <linux/ipv6.h>
#include "maps.h"

/* The state a packet of this kind proves, or NONE if it proves nothing. */
static __always_inline __u32 ct_state_for(int quic_kind)
{
	switch (quic_kind) {
	case STOQ_QUIC_INITIAL:
	case STOQ_QUIC_ZERO_RTT:
		return STOQ_CT_INITIAL;
	case STOQ_QUIC_HANDSHAKE:
		return STOQ_CT_HANDSHAKE;
	case STOQ_QUIC_SHORT:
		return STOQ_CT_ESTABLISHED;
	default:
		return STOQ_CT_NONE;
	}
}

/*
 * Moves *state forward to next unless it is already there or CLOSING. Two RX
 * queues can carry one peer's packets (it reaches two of our addresses on one
 * port), so this is a compare-and-swap: a plain check-then-write could move the
 * state back (a HANDSHAKE written over the ESTABLISHED another CPU just wrote).
 */
static __always_inline void ct_advance(__u32 *state, __u32 next)
{
	__u32 cur = *(volatile __u32 *)state;
	int i;

	for (i = 0; i < 3 && cur != STOQ_CT_CLOSING && next > cur; i++) {
		__u32 seen = __sync_val_compare_and_swap(state, cur, next);

		if (seen == cur)
			return;
		cur = seen;
	}
}

static __always_inline void conntrack_update(const struct ipv6hdr *ip6, __u16 peer_port,
					     __u16 local_port, int quic_kind, __u64 frame_len,
					     __u64 now)
{
	struct stoq_ct_key key = {};
	struct stoq_ct_value *val;
	__u32 next = ct_state_for(quic_kind);

	__builtin_memcpy(key.peer_addr, &ip6->saddr, sizeof(key.peer_addr));
	key.peer_port = peer_port;
	key.local_port = local_port;

	val = bpf_map_lookup_elem(&stoq_conntrack, &key);
	if (val) {
		__sync_fetch_and_add(&val->packets, 1);
		__sync_fetch_and_add(&val->bytes, frame_len);
		val->last_seen_ns = now;
		ct_advance(&val->state, next);
		return;
	}
	/* Retry and version negotiation come from servers; they start nothing here. */
	if (next == STOQ_CT_NONE)
		return;
	struct stoq_ct_value fresh = {
		.state = next,
		.first_seen_ns = now,
		.last_seen_ns = now,
		.packets = 1,
		.bytes = frame_len,
	};
	/* NOEXIST: if another CPU raced us in, its entry stands. */
	bpf_map_update_elem(&stoq_conntrack, &key, &fresh, BPF_NOEXIST);
}

#endif /* STOQ_LIB_CONNTRACK_H */
