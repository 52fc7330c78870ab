/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Internet checksum helpers for the TC path. */
#ifndef BPFCAST_CSUM_H
#define BPFCAST_CSUM_H

#include "consts.h"

static __always_inline __u16 csum_fold(__s64 csum)
{
	__u32 sum = (__u32)csum;

	sum = (sum & 0xFFFF) + (sum >> 16);
	sum = (sum & 0xFFFF) + (sum >> 16);
	return (__u16)~sum;
}

#define UDP4_OFF	(ETH_HLEN + sizeof(struct iphdr))

#define CSUM_CHUNK(n)							\
	do {								\
		if (rem >= (n)) {					\
			if (pos + (n) > data_end)			\
				return -1;				\
			sum = bpf_csum_diff(NULL, 0, pos, (n), sum);	\
			pos += (n);					\
			rem -= (n);					\
		}							\
	} while (0)

/*
 * What follows the whole blocks: rem (< CSUM_BLOCK) bytes at pos, in 4-byte
 * aligned chunks, then up to 3 bytes zero-padded. Needs pos, data_end, rem,
 * sum and a zeroed __u8 tail[4]; returns -1 from the caller on a bad bound.
 */
#define CSUM_TAIL()								\
	do {									\
		CSUM_CHUNK(128);						\
		CSUM_CHUNK(64);							\
		CSUM_CHUNK(32);							\
		CSUM_CHUNK(16);							\
		CSUM_CHUNK(8);							\
		CSUM_CHUNK(4);							\
		if (rem) {							\
			__u8 *b = pos;						\
										\
			if ((void *)(b + 1) > data_end)				\
				return -1;					\
			tail[0] = b[0];						\
			if (rem > 1) {						\
				if ((void *)(b + 2) > data_end)			\
					return -1;				\
				tail[1] = b[1];					\
			}							\
			if (rem > 2) {						\
				if ((void *)(b + 3) > data_end)			\
					return -1;				\
				tail[2] = b[2];					\
			}							\
			sum = bpf_csum_diff(NULL, 0, (__be32 *)tail, sizeof(tail), sum); \
		}								\
	} while (0)

#define CSUM_BLOCK	256

struct csum_walk {
	struct __sk_buff *skb;
	__u32 blocks;
	__s64 sum;
};

/* bpf_loop callback: add block `i` of the UDP datagram; a loop the verifier walks once. */
static long csum_block(__u32 i, void *data)
{
	struct csum_walk *w = data;
	void *pkt = (void *)(long)w->skb->data;
	void *pkt_end = (void *)(long)w->skb->data_end;
	void *pos;

	if (i >= w->blocks)
		return 1;
	pos = pkt + UDP4_OFF + (i & 0x3F) * CSUM_BLOCK;
	/* One register for the bounds check and the access, or the verifier loses the range. */
	asm volatile("" : "+r"(pos));
	if (pos + CSUM_BLOCK > pkt_end) {
		w->sum = -1;
		return 1;
	}
	w->sum = bpf_csum_diff(NULL, 0, pos, CSUM_BLOCK, w->sum);
	return 0;
}

/*
 * An IPv4 sender may send UDP checksum 0 ("none"). Copies may go out as IPv6,
 * where a checksum is mandatory, so compute the real one once per packet.
 */
static __always_inline int udp4_csum_fill(struct __sk_buff *skb, const struct pkt *p)
{
	struct {
		__be32 saddr;
		__be32 daddr;
		__u8 zero;
		__u8 proto;
		__be16 len;
	} ph = {
		.saddr = p->src.v4,
		.daddr = p->dst.v4,
		.proto = IPPROTO_UDP_NR,
		.len = bpf_htons(p->udp_len),
	};
	struct csum_walk w = { .skb = skb, .blocks = p->udp_len / CSUM_BLOCK };
	void *data, *data_end, *pos;
	__u32 rem = p->udp_len % CSUM_BLOCK;
	__u8 tail[4] = {};
	__s64 sum;
	__u16 check;

	if (p->udp_len > BPFC_CSUM_MAX_LEN)
		return -1;
	/* Called on a normalized packet: the UDP header follows a bare IPv4 header. */
	if (bpf_skb_pull_data(skb, UDP4_OFF + p->udp_len))
		return -1;
	w.sum = bpf_csum_diff(NULL, 0, (__be32 *)&ph, sizeof(ph), 0);
	bpf_loop(BPFC_CSUM_MAX_LEN / CSUM_BLOCK, csum_block, &w, 0);
	if (w.sum < 0)
		return -1;
	sum = w.sum;

	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	pos = data + UDP4_OFF + (w.blocks & 0x3F) * CSUM_BLOCK;
	CSUM_TAIL();
	check = csum_fold(sum);
	if (!check)
		check = 0xFFFF;
	return bpf_skb_store_bytes(skb, UDP4_OFF + offsetof(struct udphdr, check), &check,
				   sizeof(check), BPF_F_RECOMPUTE_CSUM);
}

struct xdp_csum_walk {
	struct xdp_md *ctx;
	__u32 off;
	__u32 blocks;
	__s64 sum;
};

static long xdp_csum_block(__u32 i, void *data)
{
	struct xdp_csum_walk *w = data;
	void *pkt = (void *)(long)w->ctx->data;
	void *pkt_end = (void *)(long)w->ctx->data_end;
	void *pos;

	if (i >= w->blocks)
		return 1;
	pos = pkt + (w->off & 0xFF) + (i & 0x3F) * CSUM_BLOCK;
	asm volatile("" : "+r"(pos));
	if (pos + CSUM_BLOCK > pkt_end) {
		w->sum = -1;
		return 1;
	}
	w->sum = bpf_csum_diff(NULL, 0, pos, CSUM_BLOCK, w->sum);
	return 0;
}

/*
 * The unfolded sum of len bytes at off (< 256, even) in an XDP frame: the UDP
 * payload, whose checksum in the frame may be a partial one. -1 on error.
 */
static __always_inline __s64 xdp_payload_sum(struct xdp_md *ctx, __u32 off, __u32 len)
{
	struct xdp_csum_walk w = { .ctx = ctx, .off = off, .blocks = len / CSUM_BLOCK };
	__u32 rem = len % CSUM_BLOCK;
	void *data, *data_end, *pos;
	__u8 tail[4] = {};
	__s64 sum;

	if (len > BPFC_CSUM_MAX_LEN || off > 0xFF)
		return -1;
	bpf_loop(BPFC_CSUM_MAX_LEN / CSUM_BLOCK, xdp_csum_block, &w, 0);
	if (w.sum < 0)
		return -1;
	sum = w.sum;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	pos = data + (off & 0xFF) + (w.blocks & 0x3F) * CSUM_BLOCK;
	CSUM_TAIL();
	return sum;
}

#endif /* BPFCAST_CSUM_H */
