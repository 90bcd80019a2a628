// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Fault injector for the reliability lab, attached at tc clsact egress of a veth end.
// For IPv6 UDP packets it drops, duplicates or reorders at per-mille rates read from
// the `fault_cfg` map (changeable while attached). The kernel here has no netem and
// no fq, so reordering is done by swapping: a chosen packet is copied into
// `fault_held` and dropped; the next packet is first sent as a clone, then rewritten
// into the held one and passed, so the held packet leaves after its successor.
// So that a held packet never waits long for a successor (a real network reorders by
// milliseconds, not until the next packet), the controller sends "nudges": UDP to
// port NUDGE_PORT, every few milliseconds. A nudge is machinery, not traffic: it is
// never faulted or counted; it is turned into the held packet if there is one, and
// dropped otherwise.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define HELD_MAX 2048
#define NUDGE_PORT 9
/* Marks packets this program emitted itself, so they pass untouched on re-entry. */
#define FAULT_MARK 0x5f0e17u

struct fault_cfg {
	__u32 loss_permille;
	__u32 dup_permille;
	__u32 reorder_permille;
	__u32 pad;
};

enum { C_SEEN, C_DROPPED, C_DUPLICATED, C_HELD, C_RELEASED, C_HOLD_FAILED, C_NUDGE_RELEASED, C_MAX };

/* The hold slot is shared by all CPUs, so whoever writes or reads it claims it first
 * with a compare-and-swap (BPF atomics, -mcpu=v3); a packet that finds it claimed
 * simply passes. Without the claim, two CPUs released one packet twice or overwrote
 * one another's (two floods on two CPUs: 14,243 released of 12,869 held). */
enum { SLOT_FREE, SLOT_HELD, SLOT_WRITING, SLOT_READING };

struct held {
	__u32 len;
	__u32 state;
	__u8 data[HELD_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fault_cfg);
} fault_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} fault_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct held);
} fault_held SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&fault_counters, &idx);

	if (c)
		__sync_fetch_and_add(c, 1);
}

static __always_inline int chance(__u32 permille)
{
	return permille && bpf_get_prandom_u32() % 1000 < permille;
}

/* Copies the current packet into the free hold slot; 0 on success. */
static __always_inline int hold(struct __sk_buff *skb, struct held *h)
{
	__u32 len = skb->len;

	if (len < ETH_HLEN || len >= HELD_MAX)
		return -1;
	if (__sync_val_compare_and_swap(&h->state, SLOT_FREE, SLOT_WRITING) != SLOT_FREE)
		return -1;
	if (bpf_skb_load_bytes(skb, 0, h->data, len) < 0) {
		__sync_val_compare_and_swap(&h->state, SLOT_WRITING, SLOT_FREE);
		return -1;
	}
	h->len = len;
	__sync_val_compare_and_swap(&h->state, SLOT_WRITING, SLOT_HELD);
	return 0;
}

/* Claims the held packet for this CPU; false when there is none or another CPU is
 * writing or sending it. */
static __always_inline int claim_held(struct held *h)
{
	return __sync_val_compare_and_swap(&h->state, SLOT_HELD, SLOT_READING) == SLOT_HELD;
}

/* Turns the skb into the claimed held packet and frees the slot; sends the current
 * packet first (as a clone) unless it is a nudge. */
static __always_inline int release(struct __sk_buff *skb, struct held *h, int send_current)
{
	__u32 len = h->len;
	int verdict = TC_ACT_SHOT;

	if (send_current) {
		skb->mark = FAULT_MARK;
		bpf_clone_redirect(skb, skb->ifindex, 0);
		skb->mark = 0;
	}
	if (len >= ETH_HLEN && len < HELD_MAX && bpf_skb_change_tail(skb, len, 0) == 0 &&
	    bpf_skb_store_bytes(skb, 0, h->data, len, 0) == 0) {
		count(C_RELEASED);
		verdict = TC_ACT_OK;
	}
	__sync_val_compare_and_swap(&h->state, SLOT_READING, SLOT_FREE);
	return verdict;
}

SEC("tc")
int faults(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip6 + 1);
	__u32 zero = 0;
	struct fault_cfg *cfg;
	struct held *h;

	if (skb->mark == FAULT_MARK) {
		skb->mark = 0;
		return TC_ACT_OK;
	}
	if ((void *)(ip6 + 1) > end || eth->h_proto != bpf_htons(ETH_P_IPV6) || ip6->nexthdr != IPPROTO_UDP)
		return TC_ACT_OK; /* neighbour discovery and everything else pass */
	cfg = bpf_map_lookup_elem(&fault_cfg, &zero);
	h = bpf_map_lookup_elem(&fault_held, &zero);
	if (!cfg || !h)
		return TC_ACT_OK;
	if ((void *)(udp + 1) <= end && udp->dest == bpf_htons(NUDGE_PORT)) {
		if (!claim_held(h))
			return TC_ACT_SHOT;
		count(C_NUDGE_RELEASED);
		return release(skb, h, 0);
	}
	count(C_SEEN);

	if (chance(cfg->loss_permille)) {
		count(C_DROPPED);
		return TC_ACT_SHOT;
	}
	if (claim_held(h))
		return release(skb, h, 1);
	if (chance(cfg->reorder_permille)) {
		if (hold(skb, h) == 0) {
			count(C_HELD);
			return TC_ACT_SHOT;
		}
		count(C_HOLD_FAILED);
	}
	if (chance(cfg->dup_permille)) {
		skb->mark = FAULT_MARK;
		if (bpf_clone_redirect(skb, skb->ifindex, 0) == 0)
			count(C_DUPLICATED);
		skb->mark = 0;
	}
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
