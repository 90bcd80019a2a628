/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Bounds-checked header parsers on a cursor. Each returns -1 when the frame is
 * shorter than the header it claims to hold, and advances the cursor on success.
 */
#ifndef STOQ_LIB_PARSE_H
#define STOQ_LIB_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define STOQ_MAX_VLAN_TAGS 2
#define STOQ_MAX_EXT_HDRS 4

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

struct hdr_cursor {
	void *pos;
};

struct vlan_tag {
	__be16 tci;
	__be16 encapsulated_proto;
};

/* Common prefix of hop-by-hop, routing and destination-options headers. */
struct ipv6_ext_hdr {
	__u8 nexthdr;
	__u8 hdrlen; /* in 8-byte units, not counting the first 8 */
	__u8 type;          /* routing header: routing type */
	__u8 segments_left; /* routing header: hops still to visit */
};

struct ipv6_frag {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset in 8-byte units << 3 | M flag */
	__be32 identification;
};

#define STOQ_FRAG_OFFSET_MASK 0xFFF8
#define STOQ_FRAG_MORE 0x0001

/* Ethernet plus up to two 802.1Q/802.1ad tags; returns the inner ethertype (host order). */
static __always_inline int parse_ethhdr(struct hdr_cursor *c, void *data_end)
{
	struct ethhdr *eth = c->pos;
	__u16 proto;

	if ((void *)(eth + 1) > data_end)
		return -1;
	c->pos = eth + 1;
	proto = bpf_ntohs(eth->h_proto);

#pragma unroll
	for (int i = 0; i < STOQ_MAX_VLAN_TAGS; i++) {
		struct vlan_tag *tag = c->pos;

		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
			break;
		if ((void *)(tag + 1) > data_end)
			return -1;
		c->pos = tag + 1;
		proto = bpf_ntohs(tag->encapsulated_proto);
	}
	return proto;
}

/*
 * Fixed 40-byte IPv6 header; returns the next header. *payload_end is where the
 * payload ends, clamped to the frame; *truncated says the frame is shorter than
 * payload_len claims (the caller decides, once it knows the port, what that means).
 */
static __always_inline int parse_ipv6hdr(struct hdr_cursor *c, void *data_end,
					 void **payload_end, int *truncated)
{
	struct ipv6hdr *ip6 = c->pos;
	void *end;

	if ((void *)(ip6 + 1) > data_end)
		return -1;
	if (ip6->version != 6)
		return -1;
	c->pos = ip6 + 1;
	end = c->pos + bpf_ntohs(ip6->payload_len);
	*truncated = end > data_end;
	*payload_end = *truncated ? data_end : end;
	return ip6->nexthdr;
}

struct ext_result {
	int nexthdr;       /* upper-layer protocol, or the 5th ext header if the chain is too long */
	int too_long;      /* more than STOQ_MAX_EXT_HDRS extension headers */
	int fragmented;    /* a fragment header was seen */
	int first_fragment;/* ...and every one seen is a first (offset 0) */
	int more_fragments;/* ...and one of them says more follow (M flag) */
	int not_final;     /* the kernel would not deliver it here as is: a routing header with
			    * segments left, or a hop-by-hop header not in first position */
};

static __always_inline int is_ext_hdr(int nexthdr)
{
	return nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
	       nexthdr == IPPROTO_DSTOPTS || nexthdr == IPPROTO_FRAGMENT;
}

/*
 * Skips up to four extension headers. Returns -1 if one runs past the frame or payload.
 * Several fragment headers accumulate: the datagram is a first fragment only if every
 * one says offset 0, and more fragments follow if any one says so.
 */
static __always_inline int skip_ipv6_ext_hdrs(struct hdr_cursor *c, void *data_end,
					      void *payload_end, int nexthdr,
					      struct ext_result *res)
{
#pragma unroll
	for (int i = 0; i < STOQ_MAX_EXT_HDRS; i++) {
		if (!is_ext_hdr(nexthdr))
			break;
		if (nexthdr == IPPROTO_FRAGMENT) {
			struct ipv6_frag *frag = c->pos;
			__u16 off;

			/* data_end for the verifier, payload_end for the packet's own claim. */
			if ((void *)(frag + 1) > data_end || (void *)(frag + 1) > payload_end)
				return -1;
			off = bpf_ntohs(frag->frag_off);
			res->first_fragment = (res->fragmented ? res->first_fragment : 1) &
					      ((off & STOQ_FRAG_OFFSET_MASK) == 0);
			res->more_fragments |= off & STOQ_FRAG_MORE;
			res->fragmented = 1;
			nexthdr = frag->nexthdr;
			c->pos = frag + 1;
			/* A later fragment has no upper-layer header to read. */
			if (!res->first_fragment)
				break;
		} else {
			struct ipv6_ext_hdr *ext = c->pos;
			void *next;

			/* Every extension header is at least 8 bytes: checking 4 here changes no verdict. */
			if ((void *)(ext + 1) > data_end)
				return -1;
			next = c->pos + (ext->hdrlen + 1) * 8;
			if (next > data_end || next > payload_end)
				return -1;
			/* RFC 8200 4.1: hop-by-hop only right after the IPv6 header; a routing header
			 * with segments left means this node is not the final destination. Routing
			 * types 3 (RPL) and 4 (SRH) the kernel drops whatever segments_left, unless
			 * rpl_seg_enabled / seg6_enabled is set on the interface (default 0): we
			 * cannot see that setting, so we pass them and let the kernel decide. */
			if ((nexthdr == IPPROTO_HOPOPTS && i > 0) ||
			    (nexthdr == IPPROTO_ROUTING &&
			     (ext->segments_left || ext->type == 3 || ext->type == 4)))
				res->not_final = 1;
			nexthdr = ext->nexthdr;
			c->pos = next;
		}
	}
	res->nexthdr = nexthdr;
	res->too_long = is_ext_hdr(nexthdr) && !(res->fragmented && !res->first_fragment);
	return 0;
}

/*
 * Addresses the kernel would not deliver to a local unicast UDP socket as is (it
 * drops, or hands to multicast delivery): a multicast destination, a multicast source
 * (RFC 4291 2.7), a v4-mapped source (::ffff:0:0/96, refused by ip6_rcv_core), or,
 * `off_lo` (arrived on a device other than lo), a loopback ::1 source or destination:
 * ip6_rcv_core drops those there, and a remote host must not get spoofed ::1 traffic
 * onto the AF_XDP path. On lo itself ::1 is the ordinary address (the transport's
 * generic-XDP mode on lo runs on it).
 */
static __always_inline int ipv6_addrs_not_ours(const struct ipv6hdr *ip6, int off_lo)
{
	const __u32 *src = ip6->saddr.in6_u.u6_addr32;
	const __u32 *dst = ip6->daddr.in6_u.u6_addr32;

	if (ip6->daddr.in6_u.u6_addr8[0] == 0xff || ip6->saddr.in6_u.u6_addr8[0] == 0xff)
		return 1;
	if (src[0] == 0 && src[1] == 0) {
		if (src[2] == bpf_htonl(0x0000ffff))
			return 1;
		if (off_lo && src[2] == 0 && src[3] == bpf_htonl(1))
			return 1;
	}
	return off_lo && dst[0] == 0 && dst[1] == 0 && dst[2] == 0 && dst[3] == bpf_htonl(1);
}

#endif /* STOQ_LIB_PARSE_H */
