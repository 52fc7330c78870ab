// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * The benchmark's sink: counts each UDP copy per (destination address, port)
 * and drops it in XDP, so receiving costs almost nothing. It also reads the
 * generator's send time from the payload for the added latency, and keeps the
 * first and last arrival of each sequence number for the fan-out skew.
 * In CPU trials it only counts: there its receive runs on the relay's CPU.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define LAT_BUCKETS 4096	/* 1 us each; the last one holds everything slower */
#define SPANS 65536

struct sink_key {
	__be32 daddr;
	__be16 dport;
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct sink_key);
	__type(value, __u64);
} sink_counts SEC(".maps");

/* All copies: what a trial reads (one small lookup instead of a dump). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sink_total SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LAT_BUCKETS);
	__type(key, __u32);
	__type(value, __u64);
} sink_latency SEC(".maps");

#define SINK_COUNT_ONLY	1	/* sink_mode: no per-address counts, latency or spans */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} sink_mode SEC(".maps");

struct span {
	__u64 seq;
	__u64 first_ns;
	__u64 last_ns;
	__u64 copies;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SPANS);
	__type(key, __u32);
	__type(value, struct span);
} sink_spans SEC(".maps");

static __always_inline __u64 be64(const __u8 *p)
{
	__u64 v = 0;
	int i;

#pragma unroll
	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

SEC("xdp")
int bench_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u8 *pl = (void *)(udp + 1);
	struct sink_key key = {};
	struct span *sp;
	__u64 *cnt, now, seq, sent;
	__u32 bucket, slot, zero = 0, *mode;

	if ((void *)(pl + 16) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
	    ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	key.daddr = ip->daddr;
	key.dport = udp->dest;
	cnt = bpf_map_lookup_elem(&sink_total, &zero);
	if (cnt)
		(*cnt)++;
	mode = bpf_map_lookup_elem(&sink_mode, &zero);
	if (mode && *mode == SINK_COUNT_ONLY)
		return XDP_DROP;
	cnt = bpf_map_lookup_elem(&sink_counts, &key);
	if (cnt) {
		(*cnt)++;
	} else {
		__u64 one = 1;

		bpf_map_update_elem(&sink_counts, &key, &one, BPF_NOEXIST);
	}
	now = bpf_ktime_get_ns();
	seq = be64(pl);
	sent = be64(pl + 8);
	bucket = now > sent ? (now - sent) / 1000 : 0;
	if (bucket >= LAT_BUCKETS)
		bucket = LAT_BUCKETS - 1;
	cnt = bpf_map_lookup_elem(&sink_latency, &bucket);
	if (cnt)
		(*cnt)++;
	slot = seq % SPANS;
	sp = bpf_map_lookup_elem(&sink_spans, &slot);
	if (sp) {
		if (sp->seq != seq || !sp->copies) {
			sp->seq = seq;
			sp->first_ns = now;
			sp->copies = 0;
		}
		sp->last_ns = now;
		sp->copies++;
	}
	return XDP_DROP;
}
