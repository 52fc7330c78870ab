// SPDX-License-Identifier: GPL-2.0
/* The offload policy; the rules are in policy.h. */
#include <stddef.h>
#include "policy.h"

void pol_stream_init(struct pol_stream *s, int origin, const struct pol_thresholds *th)
{
	int r;

	for (r = 0; r < POL_MAX_RELAYS; r++) {
		s->feeder[r] = POL_NONE;
		s->devices[r] = 0;
		s->egress_mbps[r] = 0;
		s->shedding[r] = false;
	}
	s->origin = origin;
	s->feeder[origin] = origin;
	s->th = *th;
	s->last_decision_s = 0;
}

int pol_depth(const struct pol_stream *s, int r)
{
	int d = 0;

	if (r < 0 || r >= POL_MAX_RELAYS || s->feeder[r] == POL_NONE)
		return -1;
	while (r != s->origin && d < POL_MAX_RELAYS) {
		r = s->feeder[r];
		d++;
	}
	return r == s->origin ? d : -1;
}

static bool has_room(const struct pol_stream *s, int r)
{
	if (s->th.offload_above && s->devices[r] >= s->th.offload_above)
		return false;
	if (s->th.offload_above_mbps && s->egress_mbps[r] >= s->th.offload_above_mbps)
		return false;
	return !s->shedding[r];
}

static bool hold_over(const struct pol_stream *s, __u64 now_s)
{
	return !s->last_decision_s || now_s >= s->last_decision_s + s->th.hold_s;
}

/* Carrying relays in tree order: by depth, then index. Returns how many. */
static int tree_order(const struct pol_stream *s, int *order)
{
	int n = 0, d, r;

	for (d = 0; d < POL_MAX_RELAYS; d++) {
		int found = 0;

		for (r = 0; r < POL_MAX_RELAYS; r++) {
			if (pol_depth(s, r) == d) {
				order[n++] = r;
				found = 1;
			}
		}
		if (!found)
			break;
	}
	return n;
}

static int pick_peer(const struct pol_fleet *f, const struct pol_stream *s)
{
	__u32 best_spare = 0;
	int r, best = POL_NONE;

	for (r = 0; r < f->n_relays && r < POL_MAX_RELAYS; r++) {
		const struct pol_relay *rel = &f->relay[r];
		__u32 spare = rel->max_subs > rel->load ? rel->max_subs - rel->load : 0;

		if (!rel->connected || s->feeder[r] != POL_NONE || spare <= best_spare)
			continue;
		best = r;
		best_spare = spare;
	}
	return best;
}

static void push(struct pol_action *acts, int *n, enum pol_action_type t, int relay, int peer,
		 int device)
{
	if (*n >= POL_MAX_ACTIONS)
		return;
	acts[*n].type = t;
	acts[*n].relay = relay;
	acts[*n].peer = peer;
	acts[*n].device = device;
	(*n)++;
}

int pol_place_device(const struct pol_fleet *f, struct pol_stream *s, int device, __u64 now_s,
		     struct pol_action *acts, int *n_acts, bool *over)
{
	int order[POL_MAX_RELAYS], n, i, peer, feeder, fewest = POL_NONE;

	*over = false;
	n = tree_order(s, order);
	if (!n)
		return POL_NONE;
	for (i = 0; i < n; i++) {
		if (has_room(s, order[i]))
			goto place;
		if (fewest == POL_NONE || s->devices[order[i]] < s->devices[fewest])
			fewest = order[i];
	}
	/* Everyone is full: bring a peer in, fed by the deepest relay. */
	peer = s->th.offload_above && hold_over(s, now_s) ? pick_peer(f, s) : POL_NONE;
	if (peer == POL_NONE) {
		*over = true;
		i = 0;
		order[0] = fewest;
		goto place;
	}
	feeder = order[n - 1];
	push(acts, n_acts, POL_STREAM_AT, peer, POL_NONE, POL_NONE);
	push(acts, n_acts, POL_PEER_ADD, feeder, peer, POL_NONE);
	s->feeder[peer] = feeder;
	s->last_decision_s = now_s;
	order[0] = peer;
	i = 0;
place:
	push(acts, n_acts, POL_DEVICE_ADD, order[i], POL_NONE, device);
	s->devices[order[i]]++;
	return order[i];
}

static bool feeds_others(const struct pol_stream *s, int r)
{
	int x;

	for (x = 0; x < POL_MAX_RELAYS; x++)
		if (x != r && s->feeder[x] == r)
			return true;
	return false;
}

int pol_release(const struct pol_fleet *f, struct pol_stream *s, int *device_relay, int n_devices,
		__u64 now_s, struct pol_action *acts, int *n_acts)
{
	int order[POL_MAX_RELAYS], n, i, d;

	(void)f;
	if (!s->th.offload_above || !hold_over(s, now_s))
		return POL_NONE;
	n = tree_order(s, order);
	/* Deepest first: a tree shrinks from its leaves. */
	for (i = n - 1; i > 0; i--) {
		int peer = order[i], feeder = s->feeder[peer];

		if (feeds_others(s, peer) || s->devices[peer] >= s->th.cease_below)
			continue;
		if (s->devices[feeder] + s->devices[peer] > s->th.offload_above)
			continue;	/* no room: the peer stays, so no flapping */
		for (d = 0; d < n_devices; d++) {
			if (device_relay[d] != peer)
				continue;
			push(acts, n_acts, POL_DEVICE_ADD, feeder, POL_NONE, d);
			push(acts, n_acts, POL_DEVICE_DEL, peer, POL_NONE, d);
			device_relay[d] = feeder;
		}
		push(acts, n_acts, POL_PEER_DEL, feeder, peer, POL_NONE);
		push(acts, n_acts, POL_STREAM_DROP, peer, POL_NONE, POL_NONE);
		s->devices[feeder] += s->devices[peer];
		s->devices[peer] = 0;
		s->feeder[peer] = POL_NONE;
		s->last_decision_s = now_s;
		return peer;
	}
	return POL_NONE;
}

const char *pol_thresholds_invalid(const struct pol_thresholds *th)
{
	if (!th->offload_above)
		return "offload-above must be at least 1";
	if (th->cease_below >= th->offload_above)
		return "cease-below must be lower than offload-above";
	if (th->hold_s > 86400)
		return "hold must be at most 86400 seconds";
	return NULL;
}
