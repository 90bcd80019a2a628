// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * stoq_xdp: classifies every frame on the interface (see DESIGN.md, "XDP
 * classification contract"): IPv4 dropped by policy, malformed or abusive QUIC
 * dropped, QUIC to our ports redirected to the AF_XDP socket of its queue (or
 * passed to the kernel), everything else passed. Exactly one class counter moves
 * per frame. Anything the program is not sure about goes to the kernel.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "stoq_shared.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/quic.h"
#include "lib/config.h"
#include "lib/stats.h"
#include "lib/conntrack.h"
#include "lib/ratelimit.h"

/* lo's ifindex in every network namespace (the kernel's LOOPBACK_IFINDEX). */
#define STOQ_LOOPBACK_IFINDEX 1

static __always_inline int classify(struct xdp_md *ctx, const struct stoq_config *cfg);
static __always_inline int verdict_of(struct xdp_md *ctx, const struct stoq_config *cfg,
				      int counter);
static __always_inline void stamp_metadata(struct xdp_md *ctx);

SEC("xdp")
int stoq_xdp(struct xdp_md *ctx)
{
	struct stoq_config cfg;
	struct stoq_stats *st = stats_get();
	int counter, verdict;

	config_load(&cfg);
	stats_count_rx(st, (__u64)ctx->data_end - ctx->data);

	counter = classify(ctx, &cfg);
	verdict = verdict_of(ctx, &cfg, counter);
	/* The redirect helper can fall back to PASS: count what really happens. */
	if (counter == STOQ_CTR_QUIC_REDIRECTED && verdict != XDP_REDIRECT)
		counter = STOQ_CTR_QUIC_PASSED;
	stats_count(st, counter);

	if (cfg.timestamp_meta &&
	    (counter == STOQ_CTR_QUIC_REDIRECTED || counter == STOQ_CTR_QUIC_PASSED))
		stamp_metadata(ctx);
	return verdict;
}

/* Maps a class counter to its verdict; QUIC classes go through the XSKMAP. */
static __always_inline int verdict_of(struct xdp_md *ctx, const struct stoq_config *cfg,
				      int counter)
{
	__u32 queue = ctx->rx_queue_index;

	switch (counter) {
	case STOQ_CTR_IPV4_DROPPED:
	case STOQ_CTR_MALFORMED_DROPPED:
	case STOQ_CTR_INITIAL_TOO_SMALL_DROPPED:
	case STOQ_CTR_INITIAL_RATE_LIMITED_DROPPED:
		return XDP_DROP;
	case STOQ_CTR_QUIC_REDIRECTED:
		/* Only redirect when a socket sits on this queue; else the kernel's dgram socket gets it. */
		if (!bpf_map_lookup_elem(&stoq_xsks, &queue))
			return XDP_PASS;
		return bpf_redirect_map(&stoq_xsks, queue, XDP_PASS);
	default:
		return XDP_PASS;
	}
}

/* 8 bytes of metadata in front of the packet: bpf_ktime_get_ns() at the hook. */
static __always_inline void stamp_metadata(struct xdp_md *ctx)
{
	__u64 *meta;
	void *data;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(__u64)))
		return; /* driver without metadata support: skip, never fail the packet */
	meta = (void *)(long)ctx->data_meta;
	data = (void *)(long)ctx->data;
	if ((void *)(meta + 1) > data)
		return;
	*meta = bpf_ktime_get_ns();
}

static __always_inline int classify_udp6(struct xdp_md *ctx, const struct stoq_config *cfg,
					 struct hdr_cursor *c, struct ipv6hdr *ip6,
					 void *payload_end, int truncated,
					 const struct ext_result *ext);

static __always_inline int classify(struct xdp_md *ctx, const struct stoq_config *cfg)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct hdr_cursor c = { .pos = data };
	struct ext_result ext = {};
	struct ipv6hdr *ip6;
	void *payload_end;
	int proto, nexthdr, truncated;

	proto = parse_ethhdr(&c, data_end);
	if (proto < 0)
		return STOQ_CTR_MALFORMED_PASSED;
	if (proto == ETH_P_IP) {
		if (c.pos + sizeof(struct iphdr) > data_end)
			return STOQ_CTR_MALFORMED_PASSED;
		return cfg->ipv4_policy == STOQ_IPV4_PASS ? STOQ_CTR_IPV4_PASSED
							   : STOQ_CTR_IPV4_DROPPED;
	}
	if (proto != ETH_P_IPV6)
		return STOQ_CTR_NON_IP_PASSED;

	ip6 = c.pos;
	nexthdr = parse_ipv6hdr(&c, data_end, &payload_end, &truncated);
	if (nexthdr < 0)
		return STOQ_CTR_MALFORMED_PASSED;
	if (skip_ipv6_ext_hdrs(&c, data_end, payload_end, nexthdr, &ext) < 0)
		return STOQ_CTR_MALFORMED_PASSED;
	if (ext.fragmented && !ext.first_fragment)
		return STOQ_CTR_IPV6_FRAGMENT_PASSED;
	/* More than four extension headers: we cannot see the upper layer. */
	if (ext.too_long || ext.nexthdr != IPPROTO_UDP)
		return truncated ? STOQ_CTR_MALFORMED_PASSED : STOQ_CTR_IPV6_NON_UDP_PASSED;
	return classify_udp6(ctx, cfg, &c, ip6, payload_end, truncated, &ext);
}

static __always_inline int classify_udp6(struct xdp_md *ctx, const struct stoq_config *cfg,
					 struct hdr_cursor *c, struct ipv6hdr *ip6,
					 void *payload_end, int truncated,
					 const struct ext_result *ext)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct udphdr *udp = c->pos;
	struct quic_info q = {};
	__u64 now, frame_len;
	__u16 dport, udp_len;

	/* Without the destination port we cannot tell whose packet this is. */
	if (c->pos + 4 > data_end)
		return STOQ_CTR_MALFORMED_PASSED;
	dport = bpf_ntohs(udp->dest);
	if (!config_is_quic_port(cfg, dport)) {
		if (truncated || (void *)(udp + 1) > payload_end)
			return STOQ_CTR_MALFORMED_PASSED;
		return STOQ_CTR_UDP_NON_QUIC_PASSED;
	}
	/* A piece of a fragmented datagram: only the kernel can reassemble it. */
	if (ext->fragmented && ext->more_fragments)
		return STOQ_CTR_IPV6_FRAGMENT_PASSED;
	/* Our port, but not a datagram for our unicast socket (multicast, v4-mapped source,
	 * ::1 source or destination, not at its final hop, an RPL/SRH routing header,
	 * misplaced hop-by-hop, or another destination than the bound local_addr): the
	 * kernel decides, before we judge it. */
	if (ext->not_final || ipv6_addrs_not_ours(ip6, ctx->ingress_ifindex != STOQ_LOOPBACK_IFINDEX) ||
	    config_other_destination(cfg, ip6))
		return STOQ_CTR_QUIC_PASSED;
	if (truncated || (void *)(udp + 1) > data_end || (void *)(udp + 1) > payload_end)
		return STOQ_CTR_MALFORMED_DROPPED;
	udp_len = bpf_ntohs(udp->len);
	if ((long)udp_len != (long)(payload_end - (void *)udp) || udp_len <= sizeof(*udp))
		return STOQ_CTR_MALFORMED_DROPPED;

	c->pos = udp + 1;
	if (parse_quic(c, data_end, payload_end, &q) < 0)
		return STOQ_CTR_MALFORMED_DROPPED;
	if (q.kind == STOQ_QUIC_INITIAL) {
		if (udp_len - sizeof(*udp) < cfg->initial_min_size)
			return STOQ_CTR_INITIAL_TOO_SMALL_DROPPED;
		now = bpf_ktime_get_ns();
		if (!initial_rate_allow(cfg, ip6, now))
			return STOQ_CTR_INITIAL_RATE_LIMITED_DROPPED;
	} else {
		now = bpf_ktime_get_ns();
	}
	frame_len = (__u64)ctx->data_end - ctx->data;
	conntrack_update(ip6, bpf_ntohs(udp->source), dport, q.kind, frame_len, now);
	/* Longer than any datagram our endpoint accepts: under generic XDP that is a
	 * local sender's GSO run (or a GRO merge) arriving as one skb. The kernel
	 * segments it for the dgram socket; an AF_XDP frame would take it whole (the
	 * QUIC packets after the first are lost) or drop it. */
	if (cfg->max_redirect_payload && udp_len - sizeof(*udp) > cfg->max_redirect_payload)
		return STOQ_CTR_QUIC_PASSED;
	return cfg->redirect ? STOQ_CTR_QUIC_REDIRECTED : STOQ_CTR_QUIC_PASSED;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
