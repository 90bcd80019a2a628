/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Just enough QUIC (RFC 8999 invariants, RFC 9000 v1, RFC 9369 v2) to tell long
 * from short headers, find the long-header packet type and read the CIDs.
 */
#ifndef STOQ_LIB_QUIC_H
#define STOQ_LIB_QUIC_H

#include "parse.h"
#include "../stoq_shared.h"

#define QUIC_LONG_HEADER 0x80
#define QUIC_V1 0x00000001u
#define QUIC_V2 0x6b3343cfu
#define QUIC_MAX_CID_LEN 20 /* v1 and v2; other versions may use up to 255 */

struct quic_info {
	int kind;        /* enum stoq_quic_kind */
	__u32 version;
	__u8 dcid_len;
	__u8 scid_len;
	__u8 *dcid;      /* points into the packet, valid until the packet changes */
	__u8 *scid;
};

/* Long-header type bits are permuted between v1 and v2 (RFC 9369 §3.2). */
static __always_inline int quic_long_kind(__u32 version, __u8 type_bits)
{
	if (version == QUIC_V1) {
		switch (type_bits) {
		case 0: return STOQ_QUIC_INITIAL;
		case 1: return STOQ_QUIC_ZERO_RTT;
		case 2: return STOQ_QUIC_HANDSHAKE;
		default: return STOQ_QUIC_RETRY;
		}
	}
	switch (type_bits) {
	case 1: return STOQ_QUIC_INITIAL;
	case 2: return STOQ_QUIC_ZERO_RTT;
	case 3: return STOQ_QUIC_HANDSHAKE;
	default: return STOQ_QUIC_RETRY;
	}
}

/*
 * Reads the first bytes of a non-empty UDP payload. Returns -1 when a long
 * header is shorter than the invariants require (version, CID lengths and CIDs)
 * or a v1/v2 CID is longer than 20 bytes. The header must lie within the datagram
 * (before end, where the IPv6 payload ends): bytes after it in the frame are not
 * the packet's. Every bound is checked against data_end too, for the verifier.
 */
static __always_inline int quic_fits(const __u8 *p, void *data_end, void *end)
{
	return (void *)p <= data_end && (void *)p <= end;
}

static __always_inline int parse_quic(struct hdr_cursor *c, void *data_end, void *end,
				      struct quic_info *q)
{
	__u8 *p = c->pos;
	__u8 first;

	if (!quic_fits(p + 1, data_end, end))
		return -1;
	first = p[0];
	if (!(first & QUIC_LONG_HEADER)) {
		q->kind = STOQ_QUIC_SHORT;
		return 0;
	}
	/* first byte, 4-byte version, DCID length */
	if (!quic_fits(p + 6, data_end, end))
		return -1;
	q->version = ((__u32)p[1] << 24) | ((__u32)p[2] << 16) | ((__u32)p[3] << 8) | p[4];
	q->dcid_len = p[5];
	if (q->version == 0)
		q->kind = STOQ_QUIC_VERSION_NEGOTIATION;
	else if (q->version == QUIC_V1 || q->version == QUIC_V2)
		q->kind = quic_long_kind(q->version, (first >> 4) & 0x3);
	else
		q->kind = STOQ_QUIC_UNKNOWN_VERSION;

	if (q->kind != STOQ_QUIC_VERSION_NEGOTIATION && q->kind != STOQ_QUIC_UNKNOWN_VERSION &&
	    q->dcid_len > QUIC_MAX_CID_LEN)
		return -1;
	/* DCID then the SCID length byte. */
	q->dcid = p + 6;
	p = p + 6 + q->dcid_len;
	if (!quic_fits(p + 1, data_end, end))
		return -1;
	q->scid_len = p[0];
	if (q->kind != STOQ_QUIC_VERSION_NEGOTIATION && q->kind != STOQ_QUIC_UNKNOWN_VERSION &&
	    q->scid_len > QUIC_MAX_CID_LEN)
		return -1;
	q->scid = p + 1;
	if (!quic_fits(p + 1 + q->scid_len, data_end, end))
		return -1;
	return 0;
}

#endif /* STOQ_LIB_QUIC_H */
