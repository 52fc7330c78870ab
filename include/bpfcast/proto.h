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
	/* device <-> relay, over UDP (BPFC_JOIN_PORT); see "Consent" in docs/protocol.md */
	BPFC_MSG_JOIN,				/* A_STREAM_NAME [A_TOKEN] [A_NONCE] */
	BPFC_MSG_CHALLENGE,			/* A_NONCE: echo it in a second JOIN */
	BPFC_MSG_KEEPALIVE,			/* A_STREAM_NAME A_NONCE: consent is still given */
	BPFC_MSG_LEAVE,				/* A_STREAM_NAME A_NONCE */
	/* admin -> agent or manager */
	BPFC_MSG_TOKEN_GET,			/* A_STREAM_NAME A_SUB [A_TTL]: answered with TOKEN */
	BPFC_MSG_TOKEN,				/* A_TOKEN_TEXT A_EXPIRES [A_RELAY A_JOIN] */
	/* agent -> manager */
	BPFC_MSG_CONSENT,			/* A_STREAM_NAME A_SUB A_CONSENT_MS A_NONCE; 0 ms: gone */
	BPFC_MSG_EVENT,				/* status: A_TIME_MS [A_STREAM_NAME] A_TEXT, newest last */
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
	BPFC_A_TOKEN,		/* binary, BPFC_TOKEN_LEN: be64 expiry (Unix s) + HMAC-SHA256 */
	BPFC_A_NONCE,		/* binary, BPFC_NONCE_LEN */
	BPFC_A_CONSENT_MS,	/* u32: consent left; 0 in CONSENT: expired or left */
	BPFC_A_STATIC,		/* u8 flag: subscriber needs no consent (operator's choice) */
	BPFC_A_TTL,		/* u32: token lifetime, seconds */
	BPFC_A_TOKEN_TEXT,	/* string: the token as users pass it */
	BPFC_A_EXPIRES,		/* u64: Unix seconds */
	BPFC_A_JOIN,		/* nested bpfc_ep_attr: where a device sends its JOIN */
	BPFC_A_CONSENT,		/* nested bpfc_consent_attr: status of a subscriber / stream */
	BPFC_A_QUOTA,		/* nested bpfc_quota_attr: a stream's limits */
	BPFC_A_PAD,		/* binary, ignored: brings a JOIN to BPFC_JOIN_MIN_LEN */
	BPFC_A_TIME_MS,		/* u64: Unix time, ms */
	BPFC_A_TEXT,		/* string: what happened */
	BPFC_A_RATE_MBPS,	/* u32: a relay's or stream's bitrate, Mbps (rounded) */
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
	BPFC_STAT_NO_CONSENT,	/* u64: copies withheld for want of consent */
	BPFC_STAT_JOIN_RATE_LIMITED, /* u64: JOIN packets dropped in XDP (relay only) */
	BPFC_STAT_QUOTA_REFUSED,/* u64: subscriptions refused over a quota */
	BPFC_STAT_SHED,		/* u64: input packets shed since the last report (congested egress) */
	__BPFC_STAT_MAX,
};
#define BPFC_STAT_MAX (__BPFC_STAT_MAX - 1)

/* Consent counters and state; per stream, or per subscriber (STATE, MS_LEFT). */
enum bpfc_consent_attr {
	BPFC_CONSENT_UNSPEC,
	BPFC_CONSENT_JOINS,		/* u64: JOINs that completed the handshake */
	BPFC_CONSENT_CHALLENGES,	/* u64: CHALLENGEs sent */
	BPFC_CONSENT_REFUSED,		/* u64: JOINs refused (token, nonce, quota, policy) */
	BPFC_CONSENT_EXPIRIES,		/* u64: subscribers removed for silence */
	BPFC_CONSENT_LEAVES,		/* u64: LEAVEs */
	BPFC_CONSENT_STATE,		/* u8: enum bpfc_consent_state */
	BPFC_CONSENT_MS_LEFT,		/* u32 */
	__BPFC_CONSENT_MAX,
};
#define BPFC_CONSENT_MAX (__BPFC_CONSENT_MAX - 1)

enum bpfc_consent_state {
	BPFC_CS_STATIC = 1,		/* operator-added with --static */
	BPFC_CS_PENDING = 2,		/* authorised, waiting for the device's JOIN */
	BPFC_CS_FRESH = 3,		/* consent given and kept alive */
	BPFC_CS_EXPIRED = 4,		/* silent past its deadline; removal follows */
};

enum bpfc_quota_attr {
	BPFC_QUOTA_UNSPEC,
	BPFC_QUOTA_MAX_SUBS,		/* u32: devices on this stream per relay; 0: no limit */
	BPFC_QUOTA_MAX_MBPS,		/* u32: egress Mbps of this stream per relay; 0: no limit */
	__BPFC_QUOTA_MAX,
};
#define BPFC_QUOTA_MAX (__BPFC_QUOTA_MAX - 1)

/* Consent defaults (RFC 7675 uses 30 s; keepalives every 5 s ride out loss). */
#define BPFC_JOIN_PORT		5400
#define BPFC_CONSENT_TTL_MS	30000
#define BPFC_KEEPALIVE_MS	5000
#define BPFC_JOIN_RATE		20	/* JOIN-port packets/s per source, enforced in XDP */
#define BPFC_TOKEN_TTL_S	3600
#define BPFC_TOKEN_LEN		40	/* be64 expiry + 32-byte HMAC-SHA256 */
#define BPFC_NONCE_LEN		16
/* A relay never answers a device with more bytes than it sent: no amplification. */
#define BPFC_JOIN_MIN_LEN	192	/* room for a refusal's reason in the answer */

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
