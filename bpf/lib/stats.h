/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Per-CPU counters: no atomics needed, userspace sums the CPUs. */
#ifndef STOQ_LIB_STATS_H
#define STOQ_LIB_STATS_H

#include "maps.h"

static __always_inline struct stoq_stats *stats_get(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&stoq_stats, &key);
}

static __always_inline __u32 size_bucket(__u64 len)
{
	if (len <= 64) return STOQ_SIZE_LE_64;
	if (len <= 128) return STOQ_SIZE_LE_128;
	if (len <= 256) return STOQ_SIZE_LE_256;
	if (len <= 512) return STOQ_SIZE_LE_512;
	if (len <= 1024) return STOQ_SIZE_LE_1024;
	if (len <= 1518) return STOQ_SIZE_LE_1518;
	if (len <= 4096) return STOQ_SIZE_LE_4096;
	return STOQ_SIZE_LARGER;
}

static __always_inline void stats_count_rx(struct stoq_stats *st, __u64 len)
{
	if (!st)
		return;
	st->counters[STOQ_CTR_RX_PACKETS]++;
	st->counters[STOQ_CTR_RX_BYTES] += len;
	st->size_hist[size_bucket(len) & (STOQ_SIZE_BUCKETS - 1)]++;
}

static __always_inline void stats_count(struct stoq_stats *st, __u32 counter)
{
	if (st && counter < STOQ_CTR_MAX)
		st->counters[counter]++;
}

#endif /* STOQ_LIB_STATS_H */
