/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The bpfcast control protocol: netlink-style messages (struct nlmsghdr then
 * struct nlattr TLVs, built and parsed with libmnl) over a stream socket.
 * Every message type and attribute is defined here and documented in
 * docs/protocol.md.
 *
 * A request carries NLM_F_REQUEST and a sequence number. The answer is
 *   - NLMSG_ERROR with error 0 (an ACK) or -errno, plus NLMSGERR_ATTR_MSG
 *     text saying what was wrong (extended ack, NLM_F_ACK_TLVS set); or
 *   - for a dump (NLM_F_DUMP), messages flagged NLM_F_MULTI, then NLMSG_DONE.
 */
#ifndef BPFCAST_PROTO_H
#define BPFCAST_PROTO_H

#include <linux/netlink.h>

#define BPFC_PROTO_VERSION	1
/* A peer that sends a longer message is cut off. */
#define BPFC_MSG_MAX		(64 * 1024)

enum bpfc_msg_type {
	BPFC_MSG_STREAM_ADD = NLMSG_MIN_TYPE,	/* A_STREAM_NAME A_INGEST [A_SOURCE] [A_EGRESS_PORT] */
	BPFC_MSG_STREAM_DEL,			/* A_STREAM_NAME */
	BPFC_MSG_SUB_ADD,			/* A_STREAM_NAME A_SUB [A_SUB_KIND] */
	BPFC_MSG_SUB_DEL,			/* A_STREAM_NAME A_SUB */
	BPFC_MSG_STATUS_GET,			/* dump: STREAM and SUB messages */
	BPFC_MSG_STREAM,			/* status: one stream and its counters */
	BPFC_MSG_SUB,				/* status: one subscriber and its counters */
	BPFC_MSG_RELAY,				/* status: relay-wide counters (first in a dump) */
	__BPFC_MSG_MAX,
};

enum bpfc_attr {
	BPFC_A_UNSPEC,
	BPFC_A_STREAM_NAME,	/* string, 1..31 bytes plus NUL */
	BPFC_A_INGEST,		/* nested bpfc_ep_attr: ADDR, PORT */
	BPFC_A_SOURCE,		/* nested bpfc_ep_attr: ADDR, PLEN */
	BPFC_A_EGRESS_PORT,	/* u16: UDP source port of the copies */
	BPFC_A_SUB,		/* nested bpfc_ep_attr: ADDR, PORT */
	BPFC_A_SUB_KIND,	/* u8: enum bpfc_sub_kind */
	BPFC_A_STATS,		/* nested bpfc_stat_attr */
	BPFC_A_DROPS,		/* nested: attribute type = drop reason index + 1, u64 */
	BPFC_A_VERSION,		/* u32: BPFC_PROTO_VERSION */
	__BPFC_A_MAX,
};
#define BPFC_A_MAX (__BPFC_A_MAX - 1)

enum bpfc_ep_attr {
	BPFC_EP_UNSPEC,
	BPFC_EP_ADDR,		/* binary: 4 bytes IPv4 or 16 bytes IPv6, network order */
	BPFC_EP_PORT,		/* u16, host order */
	BPFC_EP_PLEN,		/* u8: prefix length */
	__BPFC_EP_MAX,
};
#define BPFC_EP_MAX (__BPFC_EP_MAX - 1)

enum bpfc_stat_attr {
	BPFC_STAT_UNSPEC,
	BPFC_STAT_RX_PACKETS,	/* u64 */
	BPFC_STAT_RX_BYTES,	/* u64 */
	BPFC_STAT_TX_PACKETS,	/* u64 */
	BPFC_STAT_TX_BYTES,	/* u64 */
	BPFC_STAT_ERRORS,	/* u64: delivery errors */
	BPFC_STAT_RX_PPS,	/* u64: packets/s over the last samples */
	BPFC_STAT_RX_BPS,	/* u64: bits/s over the last samples */
	BPFC_STAT_EVENTS_LOST,	/* u64: ring-buffer records lost (relay only) */
	BPFC_STAT_MALFORMED,	/* u64: unparseable packets seen (relay only) */
	__BPFC_STAT_MAX,
};
#define BPFC_STAT_MAX (__BPFC_STAT_MAX - 1)

#endif /* BPFCAST_PROTO_H */
