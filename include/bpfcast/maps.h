/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The data-plane ABI: every map key and value shared by the BPF programs and
 * user space. One definition; both sides include this file.
 *
 * Map                 type             key                    value
 * bpfc_streams        HASH             bpfc_stream_key        bpfc_stream
 * bpfc_fanout         ARRAY_OF_MAPS    stream id              inner ARRAY of bpfc_sub
 * bpfc_subs           HASH             subscriber id          bpfc_sub
 * bpfc_strm_stats     PERCPU_ARRAY     stream id              bpfc_stream_stats
 * bpfc_sub_stats      PERCPU_ARRAY     subscriber id          bpfc_sub_stats
 * bpfc_strm_state     ARRAY            stream id              bpfc_stream_state
 * bpfc_sub_evt        ARRAY            subscriber id          last error event time (ns)
 * bpfc_consent        ARRAY            subscriber id          bpfc_consent
 * bpfc_join_rate      LRU_HASH         bpfc_join_src          bpfc_join_window
 * bpfc_settings       ARRAY            0                      bpfc_settings
 * bpfc_global         PERCPU_ARRAY     0                      bpfc_global_stats
 * bpfc_ifaddrs        HASH             ifindex                bpfc_ifaddr
 * bpfc_attach         HASH             ifindex                bpfc_attach
 * bpfc_events         RINGBUF          -                      bpfc_event records
 * bpfc_path           ARRAY            stream id              bpfc_path (TC or XDP fan-out)
 * bpfc_xdp_lists      ARRAY_OF_MAPS    bpfc_xdp_slot()        inner ARRAY of bpfc_sub
 * bpfc_xdp_ports      ARRAY_OF_MAPS    bpfc_xdp_slot()        inner DEVMAP, one entry per copy
 * bpfc_xdp_slot_gen   ARRAY            bpfc_xdp_slot()        generation the slot holds
 * bpfc_egress         HASH             egress ifindex         bpfc_egress (XDP transmit results)
 * bpfc_routes         ARRAY            subscriber id          bpfc_route (bpf_fib_lookup cache)
 */
#ifndef BPFCAST_MAPS_H
#define BPFCAST_MAPS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define BPFC_MAX_STREAMS	4096
#define BPFC_MAX_SUBS		131072	/* relay-wide; also the per-stream bound */
#define BPFC_STREAM_NAME_LEN	32
#define BPFC_MAX_CPUS		256	/* bound for summing per-CPU counters in BPF */

/* Address families as stored in maps; same values as AF_INET/AF_INET6. */
#define BPFC_AF_INET		2
#define BPFC_AF_INET6		10

enum bpfc_sub_kind {
	BPFC_SUB_DEVICE = 0,
	BPFC_SUB_PEER = 1,
};

/* An IPv4 address uses v4 (network order); the rest stays zero. */
union bpfc_addr {
	__be32 v4;
	__be32 v6[4];
};

/* Ingest match: destination address and UDP port of a stream. */
struct bpfc_stream_key {
	__u8 family;
	__u8 pad;
	__be16 port;
	union bpfc_addr addr;
};
_Static_assert(sizeof(struct bpfc_stream_key) == 20, "bpfc_stream_key ABI");

/* Stream flags. */
#define BPFC_STREAM_F_SOURCE	(1U << 0)	/* only `source` may send */
#define BPFC_STREAM_F_MCAST	(1U << 1)	/* multicast group, joined by the agent */

struct bpfc_stream {
	__u32 id;
	__u32 flags;
	__u8 source_family;
	__u8 source_plen;
	__be16 egress_port;		/* UDP source port of every copy */
	union bpfc_addr source;
	char name[BPFC_STREAM_NAME_LEN];
	__u32 max_subs;			/* quota: devices; 0 = relay's limit only */
	__u32 max_mbps;			/* quota: egress Mbps; 0 = relay's limit only */
};
_Static_assert(sizeof(struct bpfc_stream) == 68, "bpfc_stream ABI");

/*
 * One subscriber. The registry (bpfc_subs) holds it by id; a stream's fan-out
 * list holds copies in copy order. A list is written whole and swapped in
 * atomically, so an entry never changes under the fan-out loop.
 */
struct bpfc_sub {
	__u32 id;
	__u32 stream_id;
	__u8 family;
	__u8 kind;			/* enum bpfc_sub_kind */
	__be16 port;
	union bpfc_addr addr;
};
_Static_assert(sizeof(struct bpfc_sub) == 28, "bpfc_sub ABI");

/* Per-stream counters; per CPU, summed by readers. */
struct bpfc_stream_stats {
	__u64 rx_packets;
	__u64 rx_bytes;
	__u64 tx_packets;
	__u64 tx_bytes;
	__u64 tx_errors;
	__u64 drop_bad_source;
	__u64 drop_no_subscribers;
	__u64 drop_malformed;
	__u64 drop_fragment;
	__u64 drop_ttl;
	__u64 drop_unsupported;		/* GSO or over-long packets the TC path can't copy */
	__u64 drop_congested;		/* shed whole at ingest: egress was dropping copies */
};

/* The drop reasons, in struct order, as status and reports name them. */
#define BPFC_DROP_REASONS(X)			\
	X(bad_source, drop_bad_source)		\
	X(no_subscribers, drop_no_subscribers)	\
	X(malformed, drop_malformed)		\
	X(fragment, drop_fragment)		\
	X(ttl, drop_ttl)			\
	X(unsupported, drop_unsupported)	\
	X(congested, drop_congested)

struct bpfc_sub_stats {
	__u64 packets;
	__u64 bytes;
	__u64 err_no_route;
	__u64 err_no_neigh;
	__u64 err_mtu;
	__u64 err_no_ifaddr;
	__u64 err_redirect;
	__u64 no_consent;		/* copies withheld: consent pending or expired */
	__u64 err_route_changed;	/* XDP copy: route now leaves by another device */
};

/*
 * A subscriber's consent to receive (RFC 7675 in spirit). TC sends to a
 * device only while now < expires_ns (CLOCK_MONOTONIC), unless it is static.
 * The agent extends expires_ns on every authenticated keepalive.
 */
#define BPFC_CONSENT_F_STATIC	(1U << 0)	/* operator's choice: no consent needed */

struct bpfc_consent {
	__u64 expires_ns;		/* 0: never consented */
	__u32 flags;
	__u8 nonce[16];			/* the session secret keepalives must carry */
	__u32 pad;
};
_Static_assert(sizeof(struct bpfc_consent) == 32, "bpfc_consent ABI");

/* Relay-wide settings the programs read; written by the agent at start. */
struct bpfc_settings {
	__be16 join_port;		/* UDP port of JOIN/KEEPALIVE; 0: none */
	__u16 pad;
	__u32 join_rate;		/* JOIN packets per second per source address */
	__u32 shed_us;			/* after an egress drop, shed input this long; 0: never */
	__u32 route_cache_us;		/* a bpfc_routes answer lives this long; 0: no cache */
	__u32 route_gen;		/* bumped on every route, neighbour, link, address change */
	__u32 pad2;
};

/*
 * A subscriber's route as bpf_fib_lookup last answered it, and the source
 * address copies leave with, so that copies skip both lookups. Good while
 * route_gen is bpfc_settings.route_gen and for at most route_cache_us. seq
 * keeps a reader from using half an update: odd while an update is written.
 */
struct bpfc_route {
	__u64 seq;			/* 64 bits: BPF CPU v1 has no 32-bit fetch */
	__u64 filled_ns;		/* when bpf_fib_lookup gave it */
	__u32 route_gen;
	__u32 ifindex;
	union bpfc_addr addr;		/* the destination it answers for */
	union bpfc_addr saddr;		/* the egress's address of the family, for copies */
	__be16 sport;
	__be16 dport;
	__u8 family;
	__u8 dmac[6];
	__u8 smac[6];
	__u8 pad[7];
};

/* Per-source JOIN budget: a one-second window, enforced in XDP. */
struct bpfc_join_src {
	__u8 family;
	__u8 pad[3];
	union bpfc_addr addr;
};

struct bpfc_join_window {
	__u64 start_ns;
	__u32 packets;
	__u32 pad;
};

/* Written by XDP (and TC: congestion), read by the agent. */
struct bpfc_stream_state {
	__u64 last_sample_ns;
	__u8 last_src_family;
	__u8 pad[3];
	union bpfc_addr last_src;
	__u32 pad2;
	__u64 congested_until_ns;	/* TC path: a copy was refused; shed until then */
};

/* Packets that match no stream or cannot be parsed. */
struct bpfc_global_stats {
	__u64 rx_packets;		/* everything XDP saw */
	__u64 passed;			/* not a stream packet: left to the stack */
	__u64 trunc_l2;
	__u64 trunc_l3;
	__u64 bad_l3;			/* bad version, IHL or lengths */
	__u64 trunc_l4;
	__u64 bad_l4;			/* UDP length disagrees with L3 */
	__u64 frag_passed;		/* non-first fragments, passed untouched */
	__u64 ext_hdr_limit;		/* IPv6 extension chain too long: passed */
	__u64 events_lost;		/* ring buffer full */
	__u64 join_passed;		/* JOIN-port packets handed to the agent */
	__u64 join_rate_limited;	/* JOIN-port packets over a source's budget: dropped */
	__u64 xdp_no_meta;		/* XDP copy without its metadata: dropped */
	__u64 xdp_stale;		/* XDP copy of a list already replaced: dropped */
	__u64 xdp_withheld_last;	/* XDP: a packet's last copy withheld, sent to ourselves */
	__u64 xdp_burst_to_tc;		/* XDP stream packets past the poll's burst budget: TC copied them */
};

/*
 * How a stream's copies are made. TC: bpf_clone_redirect per subscriber, any
 * egress. XDP: one bpf_redirect_map(BPF_F_BROADCAST) into a DEVMAP with an
 * entry per subscriber; bpfcast_xdp_copy rewrites each copy as it is flushed.
 * The agent picks XDP only where every subscriber leaves by one device of the
 * stream's family; the lists are double-buffered by generation.
 */
enum bpfc_path_kind {
	BPFC_PATH_TC = 0,
	BPFC_PATH_XDP = 1,
};

struct bpfc_path {
	__u32 kind;			/* enum bpfc_path_kind */
	__u32 gen;			/* XDP: the slot in use is bpfc_xdp_slot(id, gen) */
	__u32 egress_ifindex;		/* XDP: the one device every copy leaves by */
	__u8 egress_mac[6];		/* XDP: its address, for withheld last copies */
	__u16 pad;
	__u32 copies;			/* XDP: entries in the slot's DEVMAP */
	__u32 burst_frames;		/* XDP: copies the egress holds between two flushes */
};

#define bpfc_xdp_slot(stream_id, gen)	((stream_id) * 2 + ((gen) & 1))

/* What ingest hands each XDP copy, in the frame's metadata. */
struct bpfc_xdp_meta {
	__u64 now_ns;			/* consent clock, read once per packet */
	__u32 seq;			/* per-CPU packet number: restarts the copy cursor */
	__u32 stream_id;
	__u32 gen;
	__u32 payload_sum;		/* unfolded checksum of the UDP payload */
	__be16 egress_port;
	__u8 egress_mac[6];
};
_Static_assert(sizeof(struct bpfc_xdp_meta) <= 32, "XDP metadata is at most 32 bytes");

/* Per CPU: which copy of which packet the devmap program is at. */
struct bpfc_xdp_cursor {
	__u32 seq;
	__u32 next;
	__u32 withheld;			/* dropped by us in the bulk being flushed */
	__u32 poll_copies;		/* XDP copies queued in this NAPI poll */
};

/* XDP transmit results per egress device, from the xdp_devmap_xmit tracepoint. */
#define BPFC_EGRESS_F_NO_XDP_TX	(1U << 0)	/* the driver refused XDP frames */

struct bpfc_egress {
	__u64 sent;
	__u64 dropped;			/* queue full: congestion */
	__u64 refused;			/* driver error: cannot transmit XDP frames */
	__u64 congested_until_ns;	/* XDP streams through here shed until then */
	__u64 congestion_episodes;
	__u32 flags;
	__s32 last_err;
};

/* Source addresses the copies leave with, per egress interface. */
struct bpfc_ifaddr {
	__be32 v4;
	__be32 v6[4];
};

/* Which hooks the agent attached, so --detach removes exactly those. */
#define BPFC_ATTACH_XDP_NATIVE	(1U << 0)
#define BPFC_ATTACH_XDP_GENERIC	(1U << 1)
#define BPFC_ATTACH_TC		(1U << 2)
#define BPFC_ATTACH_CLSACT_OURS	(1U << 3)	/* we created the clsact qdisc */

struct bpfc_attach {
	__u32 flags;
	__u32 xdp_prog_id;
	__u32 tc_prog_id;
	__u32 pad;
};

/* TC filter handle and priority the fan-out program is attached with. */
#define BPFC_TC_HANDLE		0xbfca
#define BPFC_TC_PRIORITY	0xbfca

/* Ring-buffer records. */
enum bpfc_event_type {
	BPFC_EV_SAMPLE = 1,		/* periodic per-stream counter sample */
	BPFC_EV_NEW_SOURCE = 2,		/* a stream's sender changed */
	BPFC_EV_NO_NEIGH = 3,		/* subscriber's next hop is unresolved */
	BPFC_EV_TX_ERROR = 4,		/* a copy could not be delivered */
};

struct bpfc_event {
	__u32 type;
	__u32 stream_id;
	__u64 ts_ns;
	__u32 sub_id;			/* NO_NEIGH, TX_ERROR */
	__u32 ifindex;			/* NO_NEIGH: egress; TX_ERROR: reason */
	__u8 family;			/* address below */
	__u8 pad[3];
	union bpfc_addr addr;		/* NEW_SOURCE: sender; NO_NEIGH: subscriber */
	__u32 pad2;
	struct bpfc_stream_stats stats;	/* SAMPLE: totals over all CPUs */
};

enum bpfc_tx_error {
	BPFC_TXERR_NO_ROUTE = 1,
	BPFC_TXERR_MTU = 2,
	BPFC_TXERR_NO_IFADDR = 3,
	BPFC_TXERR_REDIRECT = 4,
	BPFC_TXERR_ROUTE_CHANGED = 5,	/* XDP copy: the agent re-plans the stream */
};

/* Pinned object names under the pin directory. */
#define BPFC_PIN_XDP_PROG	"prog_xdp_ingest"
#define BPFC_PIN_TC_PROG	"prog_tc_fanout"
#define BPFC_PIN_XDP_COPY_PROG	"prog_xdp_copy"
#define BPFC_PIN_XMIT_LINK	"link_devmap_xmit"
#define BPFC_PIN_POLL_LINK	"link_napi_poll"

#endif /* BPFCAST_MAPS_H */
