// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * stoq_ct_states: a map-element iterator over stoq_conntrack that counts entries per
 * state (and sums packets/bytes) in the kernel, then writes one struct
 * stoq_ct_summary. Reading a 64k-entry map this way copies 64 bytes to userspace
 * instead of every key and value.
 *
 * Attach it to stoq_conntrack (the kernel checks the map's key/value sizes against
 * what the program reads); every read() of the iterator link is one whole pass.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "stoq_shared.h"

/* The kernel's iterator context, resolved against its BTF (CO-RE): no vmlinux.h needed. */
struct seq_file;
struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
} __attribute__((preserve_access_index));
struct bpf_iter__bpf_map_elem {
	struct bpf_iter_meta *meta;
	struct bpf_map *map;
	void *key;
	void *value;
} __attribute__((preserve_access_index));

/*
 * The pass's accumulator (.bss). Reset after each final record so every read starts
 * at zero; one object serves one reader at a time (read() is a single syscall pass).
 */
struct stoq_ct_summary summary = {};

SEC("iter/bpf_map_elem")
int stoq_ct_states(struct bpf_iter__bpf_map_elem *ctx)
{
	struct stoq_ct_key *key = ctx->key;
	struct stoq_ct_value *value = ctx->value;
	__u32 state;

	if (!key || !value) { /* called once more after the last element */
		bpf_seq_write(ctx->meta->seq, &summary, sizeof(summary));
		__builtin_memset(&summary, 0, sizeof(summary));
		return 0;
	}
	state = value->state;
	if (state >= STOQ_CT_STATE_SLOTS)
		state = STOQ_CT_NONE;
	summary.entries += 1;
	summary.by_state[state] += 1;
	summary.packets += value->packets;
	summary.bytes += value->bytes;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
