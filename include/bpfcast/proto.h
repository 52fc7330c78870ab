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
	/* agent <-> manager, CLI <-> manager */
	BPFC_MSG_HELLO,				/* A_VERSION A_ROLE [A_RELAY_ID]: first on a connection */
	BPFC_MSG_REGISTER,			/* A_RELAY_ID [A_DATA_ADDR4] [A_DATA_ADDR6] A_MAX_SUBS A_MAX_MBPS */
	BPFC_MSG_STATE,				/* agent: its maps follow as STREAM/SUB, then DONE */
	BPFC_MSG_REPORT,			/* agent: A_STREAM_NAME A_STATS A_DROPS, per stream */
	BPFC_MSG_HEARTBEAT,			/* either way; answered with an ACK */
	BPFC_MSG_THRESHOLDS_SET,		/* admin: A_STREAM_NAME A_THRESHOLDS */
	BPFC_MSG_RELAYS_GET,			/* admin: dump of RELAY_INFO */
	BPFC_MSG_RELAY_INFO,			/* A_RELAY_ID A_CONNECTED A_COUNT_STREAMS A_COUNT_SUBS */
	BPFC_MSG_PEER,				/* status: A_STREAM_NAME A_FROM A_TO */
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
	BPFC_A_ROLE,		/* u8: enum bpfc_role */
	BPFC_A_RELAY_ID,	/* string, 1..31 bytes plus NUL */
	BPFC_A_DATA_ADDR4,	/* binary, 4 bytes: where peers send this relay streams */
	BPFC_A_DATA_ADDR6,	/* binary, 16 bytes */
	BPFC_A_MAX_SUBS,	/* u32: capacity */
	BPFC_A_MAX_MBPS,	/* u32: egress capacity */
	BPFC_A_ORIGIN,		/* string: relay id where a stream is ingested */
	BPFC_A_THRESHOLDS,	/* nested bpfc_th_attr */
	BPFC_A_RELAY,		/* string: relay serving a subscription */
	BPFC_A_FROM,		/* string: relay id */
	BPFC_A_TO,		/* string: relay id */
	BPFC_A_CONNECTED,	/* u8 */
	BPFC_A_COUNT_STREAMS,	/* u32 */
	BPFC_A_COUNT_SUBS,	/* u32 */
	BPFC_A_CAPS,		/* u32: enum bpfc_cap bits the sender supports */
	BPFC_A_ANY_SOURCE,	/* u8 flag: a manager stream without A_SOURCE on purpose */
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
	BPFC_STAT_TX_BPS,	/* u64: bits/s sent over the last samples */
	BPFC_STAT_DEVICES,	/* u64: DEVICE subscribers */
	BPFC_STAT_PEERS,	/* u64: PEER subscribers */
	__BPFC_STAT_MAX,
};
#define BPFC_STAT_MAX (__BPFC_STAT_MAX - 1)

enum bpfc_role {
	BPFC_ROLE_AGENT = 1,
	BPFC_ROLE_ADMIN = 2,
};

/* Capabilities, exchanged in HELLO. A manager refuses an agent lacking one it needs. */
enum bpfc_cap {
	BPFC_CAP_FANOUT = 1 << 0,	/* STREAM/SUB instructions applied to BPF maps */
	BPFC_CAP_PEER = 1 << 1,		/* PEER subscribers (relay to relay) */
	BPFC_CAP_REPORT = 1 << 2,	/* REPORT of traffic conditions */
	BPFC_CAP_THRESHOLDS = 1 << 3,	/* STREAM_ADD may carry A_THRESHOLDS for immediate REPORTs */
};
#define BPFC_CAPS_AGENT (BPFC_CAP_FANOUT | BPFC_CAP_PEER | BPFC_CAP_REPORT | BPFC_CAP_THRESHOLDS)
#define BPFC_CAPS_NEEDED (BPFC_CAP_FANOUT | BPFC_CAP_PEER)

enum bpfc_th_attr {
	BPFC_TH_UNSPEC,
	BPFC_TH_OFFLOAD_ABOVE,		/* u32: devices on one relay */
	BPFC_TH_OFFLOAD_ABOVE_MBPS,	/* u32: egress Mbps on one relay; 0: none */
	BPFC_TH_CEASE_BELOW,		/* u32: devices on a peer */
	BPFC_TH_HOLD,			/* u32: seconds between decisions */
	__BPFC_TH_MAX,
};
#define BPFC_TH_MAX (__BPFC_TH_MAX - 1)

/* Agents and managers drop a peer silent for this long. */
#define BPFC_HEARTBEAT_MS	1000
#define BPFC_DEAD_MS		5000

#endif /* BPFCAST_PROTO_H */
