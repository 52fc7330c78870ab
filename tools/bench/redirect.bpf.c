// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Reference relay for the benchmark: one subscriber, no copy. A TC program
 * rewrites the destination (MAC, IPv4 address, UDP port) and bpf_redirects the
 * packet: the cost of moving a packet through a relay without copying it.
 * Built per run with -DOUT_IFINDEX, -DDST_IP (network order), -DDST_PORT,
 * -DSRC_IP, -DDST_MAC and -DSRC_MAC (comma-separated bytes).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tc")
int bench_redirect(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u8 macs[12] = { DST_MAC, SRC_MAC };
	__be32 old_d, old_s, new_d = DST_IP, new_s = SRC_IP;
	__be16 old_p, new_p = bpf_htons(DST_PORT);
	__u32 ip_off = sizeof(*eth), udp_off = ip_off + sizeof(*ip);

	if ((void *)(udp + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
	    ip->protocol != IPPROTO_UDP)
		return TC_ACT_OK;
	old_d = ip->daddr;
	old_s = ip->saddr;
	old_p = udp->dest;
	bpf_l4_csum_replace(skb, udp_off + offsetof(struct udphdr, check), old_d, new_d,
			    BPF_F_PSEUDO_HDR | sizeof(new_d) | BPF_F_MARK_MANGLED_0);
	bpf_l4_csum_replace(skb, udp_off + offsetof(struct udphdr, check), old_s, new_s,
			    BPF_F_PSEUDO_HDR | sizeof(new_s) | BPF_F_MARK_MANGLED_0);
	bpf_l4_csum_replace(skb, udp_off + offsetof(struct udphdr, check), old_p, new_p,
			    sizeof(new_p) | BPF_F_MARK_MANGLED_0);
	bpf_l3_csum_replace(skb, ip_off + offsetof(struct iphdr, check), old_d, new_d, 4);
	bpf_l3_csum_replace(skb, ip_off + offsetof(struct iphdr, check), old_s, new_s, 4);
	bpf_skb_store_bytes(skb, ip_off + offsetof(struct iphdr, daddr), &new_d, 4, 0);
	bpf_skb_store_bytes(skb, ip_off + offsetof(struct iphdr, saddr), &new_s, 4, 0);
	bpf_skb_store_bytes(skb, udp_off + offsetof(struct udphdr, dest), &new_p, 2, 0);
	bpf_skb_store_bytes(skb, 0, macs, sizeof(macs), 0);
	return bpf_redirect(OUT_IFINDEX, 0);
}
