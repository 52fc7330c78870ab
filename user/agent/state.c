// SPDX-License-Identifier: GPL-2.0
/*
 * Streams and subscribers: the agent's mirror of the maps, and every change
 * to them. Order of writes keeps the data plane consistent at every step and
 * lets a restarted agent repair what a crash interrupted:
 *   add subscriber:  registry entry, then the stream's new fan-out list;
 *   del subscriber:  new fan-out list, then the registry entry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "agent.h"
#include "log.h"

struct agent_stream *state_stream_by_name(struct agent *a, const char *name, __u32 *id)
{
	__u32 i;

	for (i = 0; i < BPFC_MAX_STREAMS; i++) {
		if (a->streams[i].used && !strcmp(a->streams[i].spec.name, name)) {
			if (id)
				*id = i;
			return &a->streams[i];
		}
	}
	return NULL;
}

static struct agent_stream *stream_by_ingest(struct agent *a, const struct bpfc_endpoint *ep)
{
	int i;

	for (i = 0; i < BPFC_MAX_STREAMS; i++)
		if (a->streams[i].used && bpfc_endpoint_equal(&a->streams[i].spec.ingest, ep))
			return &a->streams[i];
	return NULL;
}

/* Ids are handed out round-robin, so a freed id is reused as late as possible. */
static int alloc_id(__u32 *cursor, __u32 max, bool (*used)(struct agent *, __u32),
		    struct agent *a, __u32 *id)
{
	__u32 i;

	for (i = 0; i < max; i++) {
		__u32 cand = (*cursor + i) % max;

		if (!used(a, cand)) {
			*id = cand;
			*cursor = (cand + 1) % max;
			return 0;
		}
	}
	return -ENOSPC;
}

static bool stream_used(struct agent *a, __u32 id)
{
	return a->streams[id].used;
}

static bool sub_used(struct agent *a, __u32 id)
{
	return a->sub_used[id];
}

static int stream_push_sub(struct agent_stream *s, __u32 sub_id)
{
	if (s->n_subs == s->cap_subs) {
		int cap = s->cap_subs ? s->cap_subs * 2 : 16;
		__u32 *grown = realloc(s->subs, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		s->subs = grown;
		s->cap_subs = cap;
	}
	s->subs[s->n_subs++] = sub_id;
	return 0;
}

/*
 * The stream's subscribers in copy order: those of the ingest family first,
 * so the TC loop switches IPv4 <-> IPv6 at most once per packet.
 */
static int fanout_entries(struct agent *a, const struct agent_stream *s, __u32 skip,
			  struct bpfc_sub **out)
{
	struct bpfc_sub *ents = calloc(s->n_subs ? s->n_subs : 1, sizeof(*ents));
	int pass, i, n = 0;

	if (!ents)
		return -ENOMEM;
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < s->n_subs; i++) {
			const struct bpfc_sub *sub = &a->subs[s->subs[i]];
			bool same = sub->family == s->spec.ingest.family;

			if (s->subs[i] == skip || same != (pass == 0))
				continue;
			ents[n++] = *sub;
		}
	}
	*out = ents;
	return n;
}

/* A new inner list holding ents in order, for bpfc_fanout or bpfc_xdp_lists; an fd or -errno. */
int state_list_create(struct agent *a, const char *name, const struct bpfc_sub *ents, int n)
{
	LIBBPF_OPTS(bpf_map_create_opts, mopts, .map_flags = BPF_F_INNER_MAP);
	__u32 *keys, count, i;
	int fd, err;

	if (a->btf_fd >= 0 && a->btf_sub_id && a->btf_u32_id) {
		mopts.btf_fd = a->btf_fd;
		mopts.btf_key_type_id = a->btf_u32_id;
		mopts.btf_value_type_id = a->btf_sub_id;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, sizeof(__u32), sizeof(struct bpfc_sub), n,
			    &mopts);
	if (fd < 0)
		return -errno;
	keys = malloc(n * sizeof(*keys));
	if (!keys) {
		close(fd);
		return -ENOMEM;
	}
	for (i = 0; i < (__u32)n; i++)
		keys[i] = i;
	count = n;
	err = bpf_map_update_batch(fd, keys, ents, &count, NULL);
	if (err) {
		/* Older kernels: one element at a time. */
		for (i = 0, err = 0; i < (__u32)n && !err; i++)
			err = bpf_map_update_elem(fd, &keys[i], &ents[i], BPF_ANY);
	}
	free(keys);
	if (err) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Build a new list without `skip` (or with everything) and swap it in. */
static int fanout_publish_once(struct agent *a, __u32 stream_id, __u32 skip)
{
	struct agent_stream *s = &a->streams[stream_id];
	struct bpfc_sub *ents;
	char name[16];
	int n, fd, err;

	n = fanout_entries(a, s, skip, &ents);
	if (n < 0)
		return n;
	if (n == 0) {
		xdpfan_publish(a, stream_id, ents, 0);
		err = bpf_map_delete_elem(a->fd_fanout, &stream_id);
		free(ents);
		return err && errno != ENOENT ? -errno : 0;
	}
	snprintf(name, sizeof(name), "bpfc_fo_%u", stream_id);
	fd = state_list_create(a, name, ents, n);
	if (fd < 0) {
		free(ents);
		return fd;
	}
	/* The swap is atomic: a packet sees the old list or the new one. */
	err = bpf_map_update_elem(a->fd_fanout, &stream_id, &fd, BPF_ANY) ? -errno : 0;
	close(fd);
	/* TC's list is whole first: a stream leaving XDP finds it ready. */
	if (!err)
		xdpfan_publish(a, stream_id, ents, n);
	free(ents);
	return err;
}

static int fanout_publish(struct agent *a, __u32 stream_id, __u32 skip)
{
	int err = fanout_publish_once(a, stream_id, skip);

	if (err == -EINVAL && a->btf_sub_id) {
		/*
		 * Before 6.2 or so a list with BTF does not match the map-in-map's
		 * template. Lists then go without BTF: bpftool shows raw bytes.
		 */
		pr_debug("fan-out lists go without BTF on this kernel\n");
		a->btf_sub_id = 0;
		err = fanout_publish_once(a, stream_id, skip);
	}
	if (err)
		pr_warn("cannot publish the fan-out list of stream %u: %s\n", stream_id,
			strerror(-err));
	return err;
}

int state_republish(struct agent *a, __u32 stream_id)
{
	return fanout_publish(a, stream_id, UINT32_MAX);
}

/* Copies to ourselves would loop back into the relay. */
static const char *own_address(struct agent *a, const struct bpfc_endpoint *ep)
{
	struct bpfc_ifaddr ifa;
	__u32 key, next;
	int err;

	for (err = bpf_map_get_next_key(a->fd_ifaddrs, NULL, &key); !err;
	     err = bpf_map_get_next_key(a->fd_ifaddrs, &key, &next), key = next) {
		if (bpf_map_lookup_elem(a->fd_ifaddrs, &key, &ifa))
			continue;
		if ((ep->family == BPFC_AF_INET && ifa.v4 == ep->addr.v4) ||
		    (ep->family == BPFC_AF_INET6 && !memcmp(ifa.v6, ep->addr.v6, 16)))
			return "refused: that is this relay's own address";
	}
	return NULL;
}

static const char *ingest_conflict(struct agent *a, const struct bpfc_endpoint *ep)
{
	struct agent_stream *s = stream_by_ingest(a, ep);

	return s ? "that address and port is this relay's ingest of a stream" : NULL;
}

int state_stream_add(struct agent *a, const struct bpfc_stream_spec *spec, const char **err)
{
	struct bpfc_stream_key key;
	struct bpfc_stream val;
	struct agent_stream *s;
	__u32 id;
	int ret, i;

	*err = bpfc_stream_spec_invalid(spec);
	if (*err)
		return -EINVAL;
	s = state_stream_by_name(a, spec->name, &id);
	if (s) {
		if (bpfc_stream_spec_equal(&s->spec, spec))
			return 0;	/* idempotent */
		*err = "a stream with this name exists with other settings; delete it first";
		return -EEXIST;
	}
	if (stream_by_ingest(a, &spec->ingest)) {
		*err = "another stream already uses this ingest address and port";
		return -EEXIST;
	}
	for (i = 0; i < BPFC_MAX_SUBS; i++) {
		struct bpfc_endpoint ep;

		if (!a->sub_used[i])
			continue;
		bpfc_sub_endpoint(&a->subs[i], &ep);
		if (bpfc_endpoint_equal(&ep, &spec->ingest)) {
			*err = "this ingest address and port is a subscriber of another stream";
			return -EINVAL;
		}
	}
	if (alloc_id(&a->next_stream_id, BPFC_MAX_STREAMS, stream_used, a, &id)) {
		*err = "stream table full";
		return -ENOSPC;
	}

	/* No list left by a crash mid-delete; fresh counters and clocks. */
	if (bpf_map_delete_elem(a->fd_fanout, &id) && errno != ENOENT) {
		*err = "cannot reset the stream's fan-out slot";
		return -errno;
	}
	xdpfan_publish(a, id, NULL, 0);
	ret = dp_percpu_zero(a, a->fd_strm_stats, id, sizeof(struct bpfc_stream_stats));
	if (!ret) {
		struct bpfc_stream_state zero = {};

		ret = bpf_map_update_elem(a->fd_strm_state, &id, &zero, BPF_ANY);
	}
	bpfc_stream_key_build(&spec->ingest, &key);
	bpfc_stream_build(spec, id, &val);
	if (!ret)
		ret = bpf_map_update_elem(a->fd_streams, &key, &val, BPF_NOEXIST);
	if (ret) {
		*err = "cannot write the stream into the data plane";
		return -errno;
	}
	s = &a->streams[id];
	memset(s, 0, sizeof(*s));
	s->used = true;
	s->spec = *spec;

	if (val.flags & BPFC_STREAM_F_MCAST) {
		for (i = 0; i < a->n_ifaces; i++) {
			ret = rtnl_mcast_join(a->ifaces[i].ifindex, spec->ingest.family,
					      &spec->ingest.addr, true);
			if (ret && ret != -EEXIST)
				pr_warn("%s: cannot join the group of stream %s: %s\n",
					a->ifaces[i].name, spec->name, strerror(-ret));
		}
	}
	pr_info("stream %s added (id %u)\n", spec->name, id);
	return 0;
}

static void sub_forget(struct agent *a, struct agent_stream *s, int idx)
{
	__u32 sub_id = s->subs[idx];

	memmove(&s->subs[idx], &s->subs[idx + 1], (s->n_subs - idx - 1) * sizeof(s->subs[0]));
	s->n_subs--;
	a->sub_used[sub_id] = false;
	a->sub_oif[sub_id] = 0;
	a->n_subs_total--;
}

int state_stream_del(struct agent *a, const char *name, const char **err)
{
	struct bpfc_stream_key key;
	struct agent_stream *s;
	__u32 id;
	int i;

	s = state_stream_by_name(a, name, &id);
	if (!s) {
		*err = "no such stream";
		return -ENOENT;
	}
	/* Stop matching first, then take the list and the registry entries away. */
	bpfc_stream_key_build(&s->spec.ingest, &key);
	if (bpf_map_delete_elem(a->fd_streams, &key) && errno != ENOENT) {
		*err = "cannot remove the stream from the data plane";
		return -errno;
	}
	bpf_map_delete_elem(a->fd_fanout, &id);
	xdpfan_publish(a, id, NULL, 0);
	while (s->n_subs) {
		__u32 sub_id = s->subs[s->n_subs - 1];

		bpf_map_delete_elem(a->fd_subs, &sub_id);
		sub_forget(a, s, s->n_subs - 1);
	}
	if (bpfc_addr_is_multicast(s->spec.ingest.family, &s->spec.ingest.addr))
		for (i = 0; i < a->n_ifaces; i++)
			rtnl_mcast_join(a->ifaces[i].ifindex, s->spec.ingest.family,
					&s->spec.ingest.addr, false);
	pr_info("stream %s deleted\n", name);
	free(s->subs);
	memset(s, 0, sizeof(*s));
	return 0;
}

static int find_sub(struct agent *a, struct agent_stream *s, const struct bpfc_endpoint *ep)
{
	int i;

	for (i = 0; i < s->n_subs; i++) {
		struct bpfc_endpoint cur;

		bpfc_sub_endpoint(&a->subs[s->subs[i]], &cur);
		if (bpfc_endpoint_equal(&cur, ep))
			return i;
	}
	return -1;
}

__u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int state_consent_write(struct agent *a, __u32 sub_id, const struct bpfc_consent *c)
{
	if (bpf_map_update_elem(a->fd_consent, &sub_id, c, BPF_ANY))
		return -errno;
	a->consent[sub_id] = *c;
	return 0;
}

/* What a subscriber's consent entry becomes from an add. */
static void consent_from_spec(const struct bpfc_sub_spec *spec, struct bpfc_consent *c)
{
	memset(c, 0, sizeof(*c));
	if (spec->is_static || spec->kind == BPFC_SUB_PEER) {
		c->flags = BPFC_CONSENT_F_STATIC;
	} else if (spec->has_consent) {
		c->expires_ns = mono_ns() + (__u64)spec->consent_ms * 1000000;
		memcpy(c->nonce, spec->nonce, sizeof(c->nonce));
	}
}

/* Adding a known subscriber again may make it static or refresh its consent; never weaker. */
static int sub_update_consent(struct agent *a, __u32 id, const struct bpfc_sub_spec *spec)
{
	struct bpfc_consent c;
	int ret;

	if (!spec->is_static && !spec->has_consent)
		return 0;
	consent_from_spec(spec, &c);
	ret = state_consent_write(a, id, &c);
	if (!ret && spec->has_consent)
		a->consent_dirty[id] = true;
	return ret;
}

static __u32 stream_devices(struct agent *a, const struct agent_stream *s)
{
	__u32 n = 0;
	int i;

	for (i = 0; i < s->n_subs; i++)
		n += a->subs[s->subs[i]].kind == BPFC_SUB_DEVICE;
	return n;
}

static __u64 relay_devices_and_bps(struct agent *a, __u64 *tx_bps)
{
	__u64 n = 0;
	int id;

	*tx_bps = 0;
	for (id = 0; id < BPFC_MAX_STREAMS; id++) {
		if (!a->streams[id].used)
			continue;
		n += stream_devices(a, &a->streams[id]);
		*tx_bps += a->streams[id].rate.tx_bps;
	}
	return n;
}

/* Would one more device on s break a stream or relay quota? NULL if not. */
static const char *quota_refusal(struct agent *a, struct agent_stream *s, char *why, size_t len)
{
	__u64 relay_bps, relay_devs = relay_devices_and_bps(a, &relay_bps);
	__u64 more_bps = s->rate.bps;	/* one more copy of the stream */

	if (s->spec.max_subs && stream_devices(a, s) >= s->spec.max_subs)
		snprintf(why, len, "over quota: stream %s allows %u devices on this relay",
			 s->spec.name, s->spec.max_subs);
	else if (s->spec.max_mbps && s->rate.tx_bps + more_bps > (__u64)s->spec.max_mbps * 1000000)
		snprintf(why, len, "over quota: stream %s allows %u Mbps out of this relay",
			 s->spec.name, s->spec.max_mbps);
	else if (a->max_subs && relay_devs >= a->max_subs)
		snprintf(why, len, "over quota: this relay allows %u devices", a->max_subs);
	else if (a->max_mbps && relay_bps + more_bps > (__u64)a->max_mbps * 1000000)
		snprintf(why, len, "over quota: this relay allows %u Mbps out", a->max_mbps);
	else
		return NULL;
	s->quota_refused++;
	return why;
}

/*
 * Add to the registry and, with `publish`, swap in the stream's new list. Each
 * swap waits for an RCU grace period in the kernel, so bulk adds publish once
 * per stream instead.
 */
static int sub_add(struct agent *a, const struct bpfc_sub_spec *spec, bool publish,
		   const char **err)
{
	static char why[160];	/* outlives the call: the caller reports it */
	struct bpfc_consent consent;
	struct agent_stream *s;
	struct bpfc_sub sub;
	__u32 stream_id, id;
	int idx, ret;

	s = state_stream_by_name(a, spec->stream, &stream_id);
	if (!s) {
		*err = "no such stream";
		return -ENOENT;
	}
	*err = bpfc_subscriber_refused(&a->deny, &spec->ep, why, sizeof(why));
	if (!*err)
		*err = own_address(a, &spec->ep);
	if (!*err)
		*err = ingest_conflict(a, &spec->ep);
	if (*err)
		return -EINVAL;
	idx = find_sub(a, s, &spec->ep);
	if (idx >= 0) {
		if (a->subs[s->subs[idx]].kind != spec->kind) {
			*err = "subscriber exists with the other kind; delete it first";
			return -EEXIST;
		}
		ret = sub_update_consent(a, s->subs[idx], spec);	/* else idempotent */
		*err = ret ? "cannot write the subscriber's consent" : NULL;
		return ret;
	}
	if (spec->kind == BPFC_SUB_DEVICE && quota_refusal(a, s, why, sizeof(why))) {
		*err = why;
		return -EDQUOT;
	}
	if (alloc_id(&a->next_sub_id, BPFC_MAX_SUBS, sub_used, a, &id)) {
		*err = "subscriber table full";
		return -ENOSPC;
	}
	bpfc_sub_build(&spec->ep, spec->kind, id, stream_id, &sub);
	consent_from_spec(spec, &consent);
	/* Consent before the list: an id used before must not inherit its old deadline. */
	ret = dp_percpu_zero(a, a->fd_sub_stats, id, sizeof(struct bpfc_sub_stats));
	if (!ret)
		ret = state_consent_write(a, id, &consent);
	if (!ret)
		ret = bpf_map_update_elem(a->fd_subs, &id, &sub, BPF_ANY);
	if (ret) {
		*err = "cannot write the subscriber into the data plane";
		return -errno;
	}
	ret = stream_push_sub(s, id);
	if (ret) {
		bpf_map_delete_elem(a->fd_subs, &id);
		*err = "out of memory";
		return ret;
	}
	a->subs[id] = sub;
	a->sub_used[id] = true;
	a->consent_dirty[id] = spec->has_consent;
	a->n_subs_total++;
	s->dirty = !publish;
	ret = publish ? fanout_publish(a, stream_id, UINT32_MAX) : 0;
	if (ret) {
		/* Roll back: the data plane still has the old list. */
		sub_forget(a, s, s->n_subs - 1);
		bpf_map_delete_elem(a->fd_subs, &id);
		*err = "cannot publish the new fan-out list";
		return ret;
	}
	/* Resolve the next hop now rather than on the first packet, which would be lost. */
	rtnl_resolve_neigh(spec->ep.family, &spec->ep.addr);
	return 0;
}

int state_sub_find(struct agent *a, const char *stream, const struct bpfc_endpoint *ep)
{
	struct agent_stream *s = state_stream_by_name(a, stream, NULL);
	int idx = s ? find_sub(a, s, ep) : -1;

	return idx < 0 ? -1 : (int)s->subs[idx];
}

int state_sub_add(struct agent *a, const struct bpfc_sub_spec *spec, const char **err)
{
	return sub_add(a, spec, true, err);
}

int state_sub_del(struct agent *a, const struct bpfc_sub_spec *spec, const char **err)
{
	struct agent_stream *s;
	__u32 stream_id, id;
	int idx, ret;

	s = state_stream_by_name(a, spec->stream, &stream_id);
	if (!s) {
		*err = "no such stream";
		return -ENOENT;
	}
	idx = find_sub(a, s, &spec->ep);
	if (idx < 0) {
		*err = "no such subscriber on this stream";
		return -ENOENT;
	}
	id = s->subs[idx];
	ret = fanout_publish(a, stream_id, id);
	if (ret) {
		*err = "cannot publish the new fan-out list";
		return ret;
	}
	bpf_map_delete_elem(a->fd_subs, &id);
	sub_forget(a, s, idx);
	return 0;
}

/* Does the published list hold exactly what the registry says, in copy order? */
static bool fanout_matches(struct agent *a, __u32 stream_id)
{
	struct bpfc_sub *want, got;
	__u32 inner_id, i;
	int n, fd;
	bool same;

	n = fanout_entries(a, &a->streams[stream_id], UINT32_MAX, &want);
	if (n < 0)
		return false;
	if (bpf_map_lookup_elem(a->fd_fanout, &stream_id, &inner_id)) {
		free(want);
		return n == 0;
	}
	fd = bpf_map_get_fd_by_id(inner_id);
	same = fd >= 0;
	for (i = 0; same && i < (__u32)n; i++)
		same = !bpf_map_lookup_elem(fd, &i, &got) && !memcmp(&got, &want[i], sizeof(got));
	if (same)	/* and nothing after */
		same = bpf_map_lookup_elem(fd, &i, &got) != 0;
	if (fd >= 0)
		close(fd);
	free(want);
	return same;
}

static int cmp_u32(const void *x, const void *y)
{
	__u32 a = *(const __u32 *)x, b = *(const __u32 *)y;

	return a < b ? -1 : a > b;
}

/* Take over what a previous agent left pinned, repairing a half-done change. */
int state_adopt(struct agent *a)
{
	struct bpfc_stream_key skey, snext;
	struct bpfc_stream st;
	__u32 key, next, id;
	int err, n_streams = 0;

	for (err = bpf_map_get_next_key(a->fd_streams, NULL, &skey); !err;
	     err = bpf_map_get_next_key(a->fd_streams, &skey, &snext), skey = snext) {
		if (bpf_map_lookup_elem(a->fd_streams, &skey, &st) || st.id >= BPFC_MAX_STREAMS)
			continue;
		a->streams[st.id].used = true;
		bpfc_stream_spec_from(&skey, &st, &a->streams[st.id].spec);
		a->next_stream_id = (st.id + 1) % BPFC_MAX_STREAMS;
		n_streams++;
	}
	/* Registry entries; orphans of a stream deleted mid-way go. */
	for (err = bpf_map_get_next_key(a->fd_subs, NULL, &key); !err; key = next) {
		struct bpfc_sub sub;

		err = bpf_map_get_next_key(a->fd_subs, &key, &next);
		if (bpf_map_lookup_elem(a->fd_subs, &key, &sub))
			continue;
		if (key >= BPFC_MAX_SUBS || sub.stream_id >= BPFC_MAX_STREAMS ||
		    !a->streams[sub.stream_id].used || sub.id != key) {
			bpf_map_delete_elem(a->fd_subs, &key);
			continue;
		}
		a->subs[key] = sub;
		a->sub_used[key] = true;
		bpf_map_lookup_elem(a->fd_consent, &key, &a->consent[key]);
		a->n_subs_total++;
		if (key >= a->next_sub_id)
			a->next_sub_id = (key + 1) % BPFC_MAX_SUBS;
	}
	for (key = 0; key < BPFC_MAX_SUBS; key++)
		if (a->sub_used[key] && stream_push_sub(&a->streams[a->subs[key].stream_id], key))
			return -ENOMEM;
	/*
	 * Lists of unused ids are cleared when an id is handed out again, not here:
	 * on kernels before 6.8 every look-up in a map-in-map waits for an RCU
	 * grace period, and 4,096 of them would stall the start.
	 */
	for (id = 0; id < BPFC_MAX_STREAMS; id++) {
		struct agent_stream *s = &a->streams[id];

		if (!s->used)
			continue;
		qsort(s->subs, s->n_subs, sizeof(*s->subs), cmp_u32);
		if (fanout_matches(a, id))
			continue;
		pr_info("repairing the fan-out list of stream %s\n", s->spec.name);
		err = fanout_publish(a, id, UINT32_MAX);
		if (err)
			return err;
	}
	if (n_streams)
		pr_info("adopted %d streams and %d subscribers from %s\n", n_streams,
			a->n_subs_total, a->pin_dir);
	return 0;
}

/* Streams and subscribers from the config file: added if missing, never removed. */
int state_apply_config(struct agent *a, const struct bpfc_config *cfg)
{
	const char *err;
	int i, ret;

	/* Refuse conflicts before changing anything. */
	for (i = 0; i < cfg->n_streams; i++) {
		struct agent_stream *s = state_stream_by_name(a, cfg->streams[i].name, NULL);

		if (s && !bpfc_stream_spec_equal(&s->spec, &cfg->streams[i])) {
			pr_warn("config: stream %s differs from the running one; delete it with "
				"'bpfcastctl stream del %s' or change the config\n",
				cfg->streams[i].name, cfg->streams[i].name);
			return -EEXIST;
		}
	}
	for (i = 0; i < cfg->n_streams; i++) {
		ret = state_stream_add(a, &cfg->streams[i], &err);
		if (ret) {
			pr_warn("config: stream %s: %s\n", cfg->streams[i].name, err);
			return ret;
		}
	}
	for (i = 0; i < cfg->n_subs; i++) {
		char ep[BPFC_ENDPOINT_STRLEN];

		ret = sub_add(a, &cfg->subs[i], false, &err);
		if (ret) {
			pr_warn("config: subscriber %s of %s: %s\n",
				bpfc_endpoint_str(&cfg->subs[i].ep, ep, sizeof(ep)),
				cfg->subs[i].stream, err);
			break;
		}
	}
	/* One list swap per stream; also publishes what was added before an error. */
	for (i = 0; i < BPFC_MAX_STREAMS; i++) {
		int pub;

		if (!a->streams[i].used || !a->streams[i].dirty)
			continue;
		pub = fanout_publish(a, i, UINT32_MAX);
		a->streams[i].dirty = false;
		if (pub && !ret)
			ret = pub;
	}
	return ret;
}

void state_free(struct agent *a)
{
	int i;

	for (i = 0; i < BPFC_MAX_STREAMS; i++)
		free(a->streams[i].subs);
	free(a->subs);
	free(a->sub_used);
	free(a->consent);
	free(a->consent_dirty);
	free(a->sub_oif);
}
