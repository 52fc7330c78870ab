/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The offload policy: pure functions from the state of one stream and the
 * fleet to the instructions that carry out a decision. No sockets, no store,
 * no clock of its own: the manager passes "now" in, so cmocka tests every rule.
 *
 * Rules (per stream):
 *  - A device goes to the first relay, in tree order (origin first, then by
 *    depth), that holds fewer than offload_above devices, is under
 *    offload_above_mbps when that is set, and is not shedding the stream
 *    (its data plane dropped whole packets for a congested egress since its
 *    last report).
 *  - When none has room, a peer is brought in: the connected relay with the
 *    most spare capacity that does not carry the stream. It is fed by the
 *    deepest relay of the tree, so trees grow A -> B -> C.
 *  - A peer with no peers of its own whose device count falls below
 *    cease_below is released: its devices move to its feeder, make-before-
 *    break, then the feeder stops relaying to it. Only when the feeder can
 *    take them all without going above offload_above, so a release never
 *    triggers an offload.
 *  - Offloads and releases of one stream are at least hold_s seconds apart.
 */
#ifndef BPFCAST_POLICY_H
#define BPFCAST_POLICY_H

#include <stdbool.h>
#include <linux/types.h>

#define POL_MAX_RELAYS	64
#define POL_NONE	(-1)

struct pol_relay {
	bool connected;
	__u32 max_subs;		/* capacity over all streams; 0: unknown, taken as 0 spare */
	__u32 load;		/* subscribers it holds over all streams */
};

struct pol_fleet {
	struct pol_relay relay[POL_MAX_RELAYS];
	int n_relays;
};

struct pol_thresholds {
	__u32 offload_above;		/* devices on one relay; 0: never offload */
	__u32 offload_above_mbps;	/* 0: no bitrate limit */
	__u32 cease_below;
	__u32 hold_s;
};

struct pol_stream {
	int origin;
	struct pol_thresholds th;
	int feeder[POL_MAX_RELAYS];	/* relay feeding this one; POL_NONE: not carrying */
	__u32 devices[POL_MAX_RELAYS];
	__u32 egress_mbps[POL_MAX_RELAYS];
	bool shedding[POL_MAX_RELAYS];	/* congested egress at its last report */
	__u64 last_decision_s;		/* 0: never */
};

enum pol_action_type {
	POL_STREAM_AT,		/* relay starts accepting the stream (its ingest) */
	POL_PEER_ADD,		/* relay adds peer as a PEER subscriber */
	POL_DEVICE_ADD,		/* relay adds device */
	POL_DEVICE_DEL,		/* relay removes device */
	POL_PEER_DEL,		/* relay stops relaying to peer */
	POL_STREAM_DROP,	/* relay drops the stream */
};

struct pol_action {
	enum pol_action_type type;
	int relay;
	int peer;		/* PEER_ADD, PEER_DEL */
	int device;		/* DEVICE_ADD, DEVICE_DEL: caller's device index */
};

#define POL_MAX_ACTIONS	(4 + 2 * 4096)

/* Initialise a stream that only its origin carries. */
void pol_stream_init(struct pol_stream *s, int origin, const struct pol_thresholds *th);

/* Tree depth of relay r in the stream, or -1 when it does not carry it. */
int pol_depth(const struct pol_stream *s, int r);

/*
 * Place new device `device`. Appends the actions (bringing a peer in first if
 * needed) and updates s. Returns the relay, or POL_NONE if no relay carries
 * the stream. *over is set when the device had to go above the threshold.
 */
int pol_place_device(const struct pol_fleet *f, struct pol_stream *s, int device, __u64 now_s,
		     struct pol_action *acts, int *n_acts, bool *over);

/*
 * One release that is due, if any: moves the devices device_relay[] says
 * the peer serves (make-before-break), then removes the peer. Updates s and
 * device_relay. Returns the released relay or POL_NONE.
 */
int pol_release(const struct pol_fleet *f, struct pol_stream *s, int *device_relay, int n_devices,
		__u64 now_s, struct pol_action *acts, int *n_acts);

/* NULL when the thresholds make sense, else why not. */
const char *pol_thresholds_invalid(const struct pol_thresholds *th);

#endif
