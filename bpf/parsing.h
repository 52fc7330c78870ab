/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * Packet parsing shared by the XDP and TC programs. Works on a data/data_end
 * pair, checks bounds before every header access and never writes.
 */
#ifndef BPFCAST_PARSING_H
#define BPFCAST_PARSING_H

#include "consts.h"

enum parse_rc {
	PARSE_UDP = 0,		/* a UDP packet; struct pkt is filled */
	PARSE_OTHER,		/* not IP/UDP: not ours */
	PARSE_TRUNC_L2,
	PARSE_TRUNC_L3,
	PARSE_BAD_L3,
	PARSE_TRUNC_L4,
	PARSE_FRAG_NONFIRST,	/* no UDP header to classify by */
	PARSE_EXT_LIMIT,
};

struct pkt {
	__u16 l3_off;		/* IP header, from the start of the frame */
	__u16 l3_len;		/* IP header including options/extension headers */
	__u16 l4_off;		/* UDP header */
	__u16 udp_len;		/* from the UDP header */
	__u8 family;
	__u8 ttl;
	__u8 first_frag;	/* more fragments follow: cannot be copied */
	__u8 bad_len;		/* UDP length disagrees with the IP length */
	__be16 sport;
	__be16 dport;
	union bpfc_addr src;
	union bpfc_addr dst;
};

/*
 * A byte-swapped length with explicit bounds: before 6.3 or so the verifier
 * forgets a value's range across a byte swap and then refuses packet-pointer
 * arithmetic with it.
 */
static __always_inline __u32 ntohs_bounded(__be16 v)
{
	__u32 x = bpf_ntohs(v);

	asm volatile("%0 &= 0xffff" : "+r"(x));
	return x;
}

static __always_inline enum parse_rc parse_udp4(void *data, void *data_end, __u16 off,
						struct pkt *p)
{
	struct iphdr *iph = data + off;
	struct udphdr *udph;
	__u32 hlen, tot_len;
	__u16 frag;

	if ((void *)(iph + 1) > data_end)
		return PARSE_TRUNC_L3;
	if (iph->version != 4 || iph->ihl < 5)
		return PARSE_BAD_L3;
	hlen = iph->ihl * 4;
	tot_len = ntohs_bounded(iph->tot_len);
	if (tot_len < hlen)
		return PARSE_BAD_L3;
	if ((void *)iph + tot_len > data_end)
		return PARSE_TRUNC_L3;
	frag = bpf_ntohs(iph->frag_off);
	if (frag & IP_OFFSET)
		return PARSE_FRAG_NONFIRST;
	if (iph->protocol != IPPROTO_UDP_NR)
		return PARSE_OTHER;

	udph = (void *)iph + hlen;
	if ((void *)(udph + 1) > data_end)
		return PARSE_TRUNC_L4;

	p->family = BPFC_AF_INET;
	p->l3_off = off;
	p->l3_len = hlen;
	p->l4_off = off + hlen;
	p->ttl = iph->ttl;
	p->first_frag = !!(frag & IP_MF);
	p->src.v4 = iph->saddr;
	p->dst.v4 = iph->daddr;
	p->sport = udph->source;
	p->dport = udph->dest;
	p->udp_len = bpf_ntohs(udph->len);
	p->bad_len = !p->first_frag && (p->udp_len < sizeof(*udph) ||
					p->udp_len != tot_len - hlen);
	return PARSE_UDP;
}

/* Walk IPv6 extension headers up to UDP. Returns the UDP offset or a parse_rc. */
static __always_inline enum parse_rc parse_ext6(void *data, void *data_end, __u8 *nexthdr,
						__u16 *off, __u8 *first_frag)
{
	__u8 *hdr;
	__u16 len;
	int i;

#pragma unroll
	for (i = 0; i < BPFC_MAX_EXT_HDRS; i++) {
		switch (*nexthdr) {
		case IPPROTO_UDP_NR:
			return PARSE_UDP;
		case NEXTHDR_HOP:
		case NEXTHDR_DEST:
		case NEXTHDR_ROUTING:
		case NEXTHDR_AUTH:
			hdr = data + *off;
			if ((void *)(hdr + 4) > data_end)
				return PARSE_TRUNC_L3;
			/* Not the final destination yet: the stack routes it. */
			if (*nexthdr == NEXTHDR_ROUTING && hdr[3] != 0)
				return PARSE_OTHER;
			len = *nexthdr == NEXTHDR_AUTH ? (hdr[1] + 2) * 4 : (hdr[1] + 1) * 8;
			break;
		case NEXTHDR_FRAGMENT:
			hdr = data + *off;
			if ((void *)(hdr + 8) > data_end)
				return PARSE_TRUNC_L3;
			if ((hdr[2] << 8 | hdr[3]) & 0xFFF8)
				return PARSE_FRAG_NONFIRST;
			*first_frag = hdr[3] & 1;
			len = 8;
			break;
		default:
			return PARSE_OTHER;
		}
		*nexthdr = hdr[0];
		*off += len;
	}
	return *nexthdr == IPPROTO_UDP_NR ? PARSE_UDP : PARSE_EXT_LIMIT;
}

static __always_inline enum parse_rc parse_udp6(void *data, void *data_end, __u16 off,
						struct pkt *p)
{
	struct ipv6hdr *ip6h = data + off;
	struct udphdr *udph;
	__u16 l4_off = off + sizeof(*ip6h);
	__u32 payload_len;
	__u8 nexthdr, first_frag = 0;
	enum parse_rc rc;

	if ((void *)(ip6h + 1) > data_end)
		return PARSE_TRUNC_L3;
	if (ip6h->version != 6)
		return PARSE_BAD_L3;
	payload_len = ntohs_bounded(ip6h->payload_len);
	if (payload_len == 0)		/* jumbogram: not media */
		return PARSE_BAD_L3;
	if ((void *)(ip6h + 1) + payload_len > data_end)
		return PARSE_TRUNC_L3;

	nexthdr = ip6h->nexthdr;
	rc = parse_ext6(data, data_end, &nexthdr, &l4_off, &first_frag);
	if (rc != PARSE_UDP)
		return rc;
	if (l4_off > off + sizeof(*ip6h) + payload_len)
		return PARSE_BAD_L3;

	udph = data + l4_off;
	if ((void *)(udph + 1) > data_end)
		return PARSE_TRUNC_L4;

	p->family = BPFC_AF_INET6;
	p->l3_off = off;
	p->l3_len = l4_off - off;
	p->l4_off = l4_off;
	p->ttl = ip6h->hop_limit;
	p->first_frag = first_frag;
	__builtin_memcpy(p->src.v6, &ip6h->saddr, 16);
	__builtin_memcpy(p->dst.v6, &ip6h->daddr, 16);
	p->sport = udph->source;
	p->dport = udph->dest;
	p->udp_len = bpf_ntohs(udph->len);
	p->bad_len = !first_frag && (p->udp_len < sizeof(*udph) ||
				     p->udp_len != off + sizeof(*ip6h) + payload_len - l4_off);
	return PARSE_UDP;
}

/* Ethernet, at most one 802.1Q tag, then IPv4 or IPv6, then UDP. */
static __always_inline enum parse_rc parse_frame(void *data, void *data_end, struct pkt *p)
{
	struct ethhdr *eth = data;
	__u16 off = sizeof(*eth);
	__be16 proto;

	if ((void *)(eth + 1) > data_end)
		return PARSE_TRUNC_L2;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q)) {
		struct vlan_hdr *vh = data + off;

		if ((void *)(vh + 1) > data_end)
			return PARSE_TRUNC_L2;
		proto = vh->h_vlan_encapsulated_proto;
		off += sizeof(*vh);
	}
	if (proto == bpf_htons(ETH_P_IP))
		return parse_udp4(data, data_end, off, p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_udp6(data, data_end, off, p);
	return PARSE_OTHER;
}

static __always_inline void stream_key_of(const struct pkt *p, struct bpfc_stream_key *key)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->family = p->family;
	key->port = p->dport;
	key->addr = p->dst;
}

static __always_inline bool word_match(__be32 a, __be32 b, __s32 bits)
{
	__u32 mask;

	if (bits <= 0)
		return true;
	mask = bits >= 32 ? 0xFFFFFFFF : ~(0xFFFFFFFFu >> bits);
	return !((bpf_ntohl(a) ^ bpf_ntohl(b)) & mask);
}

static __always_inline bool prefix_match(const union bpfc_addr *a, const union bpfc_addr *pfx,
					 __u8 plen)
{
	return word_match(a->v6[0], pfx->v6[0], plen) &&
	       word_match(a->v6[1], pfx->v6[1], plen - 32) &&
	       word_match(a->v6[2], pfx->v6[2], plen - 64) &&
	       word_match(a->v6[3], pfx->v6[3], plen - 96);
}

/*
 * Why a packet of a known stream must not be copied, as the index of its
 * drop counter; 0 when it may be.
 */
enum stream_verdict {
	VERDICT_COPY = 0,
	VERDICT_MALFORMED,
	VERDICT_FRAGMENT,
	VERDICT_BAD_SOURCE,
	VERDICT_TTL,
};

static __always_inline enum stream_verdict stream_check(const struct bpfc_stream *s,
							 const struct pkt *p)
{
	if (p->bad_len)
		return VERDICT_MALFORMED;
	if (p->first_frag)
		return VERDICT_FRAGMENT;
	if ((s->flags & BPFC_STREAM_F_SOURCE) &&
	    (s->source_family != p->family ||
	     !prefix_match(&p->src, &s->source, s->source_plen)))
		return VERDICT_BAD_SOURCE;
	if (p->ttl <= 1)
		return VERDICT_TTL;
	return VERDICT_COPY;
}

#endif /* BPFCAST_PARSING_H */
