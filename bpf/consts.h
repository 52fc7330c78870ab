/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Data-plane constants. Each can be overridden with -D at build time. */
#ifndef BPFCAST_CONSTS_H
#define BPFCAST_CONSTS_H

#define ETH_ALEN	6
#define ETH_HLEN	14
#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define ETH_P_8021Q	0x8100

#define IPPROTO_UDP_NR	17
#define IP_MF		0x2000
#define IP_DF		0x4000
#define IP_OFFSET	0x1FFF

#define NEXTHDR_HOP	0
#define NEXTHDR_ROUTING	43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH	51
#define NEXTHDR_DEST	60

#define TC_ACT_OK	0
#define TC_ACT_SHOT	2
#define TC_ACT_REDIRECT	7

/*
 * IPv6 extension headers walked before giving up and passing the packet to
 * the stack. Real senders use at most two or three; a long chain is more
 * likely an attack on parsers than media.
 */
#ifndef BPFC_MAX_EXT_HDRS
#define BPFC_MAX_EXT_HDRS	6
#endif

/*
 * Longest UDP datagram whose checksum the TC path computes from scratch (an
 * IPv4 sender that sent checksum 0). A 9000-byte jumbo frame fits.
 */
#ifndef BPFC_CSUM_MAX_LEN
#define BPFC_CSUM_MAX_LEN	9216
#endif

/* Headers pulled into the linear area before parsing in TC. */
#define BPFC_TC_PULL_LEN	(ETH_HLEN + 4 + 40 + 8 * 64 + 8)

/* Minimum gap between error events for one subscriber. */
#ifndef BPFC_EVENT_GAP_NS
#define BPFC_EVENT_GAP_NS	(100ULL * 1000 * 1000)
#endif

/*
 * fib lookups are done as if the packet entered on loopback: the kernel then
 * checks forwarding on lo only, so the relay host need not forward anything
 * else. Loopback is ifindex 1 in every namespace.
 */
#define BPFC_FIB_IFINDEX	1

#endif /* BPFCAST_CONSTS_H */
