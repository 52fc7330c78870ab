// SPDX-License-Identifier: GPL-2.0
/* The local control socket: the project's TLV protocol over a Unix stream socket. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "agent.h"
#include "log.h"
#include "msgio.h"
#include "tlv.h"

#define MAX_CLIENTS 16
#define OUT_FLUSH (192 * 1024)

struct client {
	int fd;			/* -1: free slot */
	struct msg_rx rx;
};

struct outbuf {
	int fd;
	int err;
	size_t len;
	char buf[OUT_FLUSH + BPFC_MSG_MAX];
};

static struct client clients[MAX_CLIENTS] = { [0 ... MAX_CLIENTS - 1] = { .fd = -1 } };

/* A client that stops reading for 2 s is dropped. */
static void send_all(int fd, const void *buf, size_t len, int *err)
{
	if (!*err)
		*err = msg_send(fd, buf, len, 2000);
}

static struct nlmsghdr *out_next(struct outbuf *o)
{
	if (o->len >= OUT_FLUSH) {
		send_all(o->fd, o->buf, o->len, &o->err);
		o->len = 0;
	}
	return (struct nlmsghdr *)(o->buf + o->len);
}

static void out_commit(struct outbuf *o, struct nlmsghdr *nlh)
{
	o->len += MNL_ALIGN(nlh->nlmsg_len);
}

static void out_flush(struct outbuf *o)
{
	send_all(o->fd, o->buf, o->len, &o->err);
	o->len = 0;
}

static void reply_ack(struct outbuf *o, const struct nlmsghdr *req, int error, const char *msg)
{
	out_commit(o, bpfc_put_ack(out_next(o), req, error, msg));
}

static void put_u64(struct nlmsghdr *nlh, __u16 type, __u64 v)
{
	mnl_attr_put_u64(nlh, type, v);
}

/* A_DROPS: one u64 per reason, the attribute type being its index + 1. */
static void put_drops(struct nlmsghdr *nlh, const struct bpfc_stream_stats *st)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, BPFC_A_DROPS);
	__u16 reason = 0;

#define PUT_DROP(name, field) put_u64(nlh, ++reason, st->field);
	BPFC_DROP_REASONS(PUT_DROP)
#undef PUT_DROP
	mnl_attr_nest_end(nlh, nest);
}

static void put_stream_status(struct agent *a, struct outbuf *o, __u32 seq, __u32 id)
{
	struct agent_stream *s = &a->streams[id];
	struct nlmsghdr *nlh = bpfc_msg_start(out_next(o), BPFC_MSG_STREAM, NLM_F_MULTI, seq);
	struct bpfc_stream_stats st = {};
	struct nlattr *nest;
	__u64 age_ns;

	dp_read_stream_stats(a, id, &st);
	bpfc_put_stream_spec(nlh, &s->spec);
	/* A rate from samples older than two windows is a stream that stopped. */
	age_ns = s->rate.last_sample_ns ? 0 : ~0ULL;
	if (s->rate.last_sample_ns) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		age_ns = (__u64)now.tv_sec * 1000000000ULL + now.tv_nsec - s->rate.last_sample_ns;
	}
	nest = mnl_attr_nest_start(nlh, BPFC_A_STATS);
	put_u64(nlh, BPFC_STAT_RX_PACKETS, st.rx_packets);
	put_u64(nlh, BPFC_STAT_RX_BYTES, st.rx_bytes);
	put_u64(nlh, BPFC_STAT_TX_PACKETS, st.tx_packets);
	put_u64(nlh, BPFC_STAT_TX_BYTES, st.tx_bytes);
	put_u64(nlh, BPFC_STAT_ERRORS, st.tx_errors);
	put_u64(nlh, BPFC_STAT_RX_PPS, age_ns < 2000000000ULL ? s->rate.pps : 0);
	put_u64(nlh, BPFC_STAT_RX_BPS, age_ns < 2000000000ULL ? s->rate.bps : 0);
	put_u64(nlh, BPFC_STAT_TX_BPS, age_ns < 2000000000ULL ? s->rate.tx_bps : 0);
	put_u64(nlh, BPFC_STAT_QUOTA_REFUSED, s->quota_refused);
	mnl_attr_nest_end(nlh, nest);
	put_drops(nlh, &st);
	nest = mnl_attr_nest_start(nlh, BPFC_A_CONSENT);
	put_u64(nlh, BPFC_CONSENT_JOINS, s->joins);
	put_u64(nlh, BPFC_CONSENT_CHALLENGES, s->challenges);
	put_u64(nlh, BPFC_CONSENT_REFUSED, s->join_refused);
	put_u64(nlh, BPFC_CONSENT_EXPIRIES, s->expiries);
	put_u64(nlh, BPFC_CONSENT_LEAVES, s->leaves);
	mnl_attr_nest_end(nlh, nest);
	out_commit(o, nlh);
}

/* Where a subscriber's consent stands, and for the manager the secret to hand it over. */
static void put_sub_consent(struct agent *a, struct nlmsghdr *nlh, __u32 sub_id, bool secrets)
{
	const struct bpfc_consent *c = &a->consent[sub_id];
	struct nlattr *nest = mnl_attr_nest_start(nlh, BPFC_A_CONSENT);
	__u64 now = mono_ns();
	__u32 left = c->expires_ns > now ? (c->expires_ns - now) / 1000000 : 0;
	__u8 state;

	if (c->flags & BPFC_CONSENT_F_STATIC)
		state = BPFC_CS_STATIC;
	else if (!c->expires_ns)
		state = BPFC_CS_PENDING;
	else
		state = left ? BPFC_CS_FRESH : BPFC_CS_EXPIRED;
	mnl_attr_put_u8(nlh, BPFC_CONSENT_STATE, state);
	if (state == BPFC_CS_FRESH)
		mnl_attr_put_u32(nlh, BPFC_CONSENT_MS_LEFT, left);
	mnl_attr_nest_end(nlh, nest);
	if (state == BPFC_CS_STATIC)
		mnl_attr_put_u8(nlh, BPFC_A_STATIC, 1);
	if (secrets && state == BPFC_CS_FRESH) {
		mnl_attr_put_u32(nlh, BPFC_A_CONSENT_MS, left);
		mnl_attr_put(nlh, BPFC_A_NONCE, BPFC_NONCE_LEN, c->nonce);
	}
}

static void put_sub_status(struct agent *a, struct outbuf *o, __u32 seq, __u32 sub_id,
			   bool secrets)
{
	const struct bpfc_sub *sub = &a->subs[sub_id];
	struct nlmsghdr *nlh = bpfc_msg_start(out_next(o), BPFC_MSG_SUB, NLM_F_MULTI, seq);
	struct bpfc_sub_stats st = {};
	struct bpfc_endpoint ep;
	struct nlattr *nest;

	dp_read_sub_stats(a, sub_id, &st);
	bpfc_sub_endpoint(sub, &ep);
	mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, a->streams[sub->stream_id].spec.name);
	bpfc_put_endpoint(nlh, BPFC_A_SUB, &ep);
	mnl_attr_put_u8(nlh, BPFC_A_SUB_KIND, sub->kind);
	nest = mnl_attr_nest_start(nlh, BPFC_A_STATS);
	put_u64(nlh, BPFC_STAT_TX_PACKETS, st.packets);
	put_u64(nlh, BPFC_STAT_TX_BYTES, st.bytes);
	put_u64(nlh, BPFC_STAT_ERRORS, st.err_no_route + st.err_no_neigh + st.err_mtu +
					       st.err_no_ifaddr + st.err_redirect +
					       st.err_route_changed);
	put_u64(nlh, BPFC_STAT_NO_CONSENT, st.no_consent);
	mnl_attr_nest_end(nlh, nest);
	put_sub_consent(a, nlh, sub_id, secrets);
	out_commit(o, nlh);
}

static void put_relay_status(struct agent *a, struct outbuf *o, __u32 seq)
{
	struct nlmsghdr *nlh = bpfc_msg_start(out_next(o), BPFC_MSG_RELAY, NLM_F_MULTI, seq);
	struct bpfc_global_stats g = {};
	struct nlattr *nest;

	dp_read_global(a, &g);
	mnl_attr_put_u32(nlh, BPFC_A_VERSION, BPFC_PROTO_VERSION);
	nest = mnl_attr_nest_start(nlh, BPFC_A_STATS);
	put_u64(nlh, BPFC_STAT_RX_PACKETS, g.rx_packets);
	put_u64(nlh, BPFC_STAT_EVENTS_LOST, g.events_lost);
	put_u64(nlh, BPFC_STAT_MALFORMED, g.trunc_l2 + g.trunc_l3 + g.bad_l3 + g.trunc_l4 + g.bad_l4);
	put_u64(nlh, BPFC_STAT_JOIN_RATE_LIMITED, g.join_rate_limited);
	mnl_attr_nest_end(nlh, nest);
	out_commit(o, nlh);
}

static void dump_status(struct agent *a, struct outbuf *o, const struct nlmsghdr *req,
			bool secrets)
{
	__u32 id;
	int i;

	put_relay_status(a, o, req->nlmsg_seq);
	for (id = 0; id < BPFC_MAX_STREAMS; id++) {
		struct agent_stream *s = &a->streams[id];

		if (!s->used)
			continue;
		put_stream_status(a, o, req->nlmsg_seq, id);
		for (i = 0; i < s->n_subs && !o->err; i++)
			put_sub_status(a, o, req->nlmsg_seq, s->subs[i], secrets);
	}
	out_commit(o, bpfc_put_done(out_next(o), req->nlmsg_seq));
}

/* The manager's thresholds for a stream, so a crossing is reported at once. */
static int set_thresholds(struct agent *a, const char *name, const struct nlattr *nest,
			  const char **err)
{
	const struct nlattr *th[BPFC_TH_MAX + 1];
	struct agent_stream *s = state_stream_by_name(a, name, NULL);

	if (!s || bpfc_nest_parse(nest, bpfc_th_policy, BPFC_TH_MAX, th, err))
		return -EINVAL;
	s->th_devices = th[BPFC_TH_OFFLOAD_ABOVE] ? mnl_attr_get_u32(th[BPFC_TH_OFFLOAD_ABOVE]) : 0;
	s->th_mbps = th[BPFC_TH_OFFLOAD_ABOVE_MBPS] ?
			     mnl_attr_get_u32(th[BPFC_TH_OFFLOAD_ABOVE_MBPS]) : 0;
	return 0;
}

/* A standalone relay's token, signed with its --join-key. */
static int issue_token(struct agent *a, struct outbuf *o, const struct nlmsghdr *req,
		       const struct bpfc_sub_spec *sub, const struct nlattr *ttl_attr,
		       const char **err)
{
	static char why[160];
	__u32 ttl = ttl_attr ? mnl_attr_get_u32(ttl_attr) : BPFC_TOKEN_TTL_S;
	__u8 token[BPFC_TOKEN_LEN];
	char text[BPFC_TOKEN_STRLEN];
	struct nlmsghdr *nlh;
	struct timespec now;

	if (!a->has_join_key) {
		*err = "this relay has no token key: start it with --join-key FILE";
		return -ENOKEY;
	}
	if (!state_stream_by_name(a, sub->stream, NULL)) {
		*err = "no such stream";
		return -ENOENT;
	}
	if (ttl == 0 || ttl > 366 * 86400) {
		*err = "token lifetime must be 1 s to 366 days";
		return -EINVAL;
	}
	*err = bpfc_subscriber_refused(&a->deny, &sub->ep, why, sizeof(why));
	if (*err)
		return -EINVAL;
	clock_gettime(CLOCK_REALTIME, &now);
	bpfc_token_sign(&a->join_key, sub->stream, &sub->ep, now.tv_sec + ttl, token);
	bpfc_token_format(sub->stream, token, text);
	nlh = bpfc_msg_start(out_next(o), BPFC_MSG_TOKEN, 0, req->nlmsg_seq);
	mnl_attr_put_strz(nlh, BPFC_A_TOKEN_TEXT, text);
	mnl_attr_put_u64(nlh, BPFC_A_EXPIRES, now.tv_sec + ttl);
	out_commit(o, nlh);
	return 0;
}

static void handle_request(struct agent *a, struct outbuf *o, const struct nlmsghdr *req)
{
	const struct nlattr *tb[BPFC_A_MAX + 1];
	struct bpfc_stream_spec stream;
	struct bpfc_sub_spec sub;
	char name[BPFC_STREAM_NAME_LEN];
	const char *err = NULL;
	int ret;

	if (!(req->nlmsg_flags & NLM_F_REQUEST)) {
		reply_ack(o, req, -EINVAL, "not a request (NLM_F_REQUEST unset)");
		return;
	}
	ret = bpfc_msg_parse(req, bpfc_msg_policy, BPFC_A_MAX, tb, &err);
	if (ret) {
		reply_ack(o, req, ret, err);
		return;
	}
	switch (req->nlmsg_type) {
	case BPFC_MSG_STREAM_ADD:
		ret = bpfc_get_stream_spec(tb, &stream, &err);
		if (!ret)
			ret = state_stream_add(a, &stream, &err);
		if (!ret && tb[BPFC_A_THRESHOLDS])
			ret = set_thresholds(a, stream.name, tb[BPFC_A_THRESHOLDS], &err);
		break;
	case BPFC_MSG_STREAM_DEL:
		ret = bpfc_get_stream_name(tb, name, &err);
		if (!ret)
			ret = state_stream_del(a, name, &err);
		break;
	case BPFC_MSG_SUB_ADD:
		ret = bpfc_get_sub_spec(tb, &sub, &err);
		if (!ret)
			ret = state_sub_add(a, &sub, &err);
		break;
	case BPFC_MSG_SUB_DEL:
		ret = bpfc_get_sub_spec(tb, &sub, &err);
		if (!ret)
			ret = state_sub_del(a, &sub, &err);
		break;
	case BPFC_MSG_STATUS_GET:
		dump_status(a, o, req, false);
		return;
	case BPFC_MSG_TOKEN_GET:
		ret = bpfc_get_sub_spec(tb, &sub, &err);
		if (!ret)
			ret = issue_token(a, o, req, &sub, tb[BPFC_A_TTL], &err);
		break;
	default:
		ret = -EOPNOTSUPP;
		err = "unknown message type";
		break;
	}
	reply_ack(o, req, ret, ret ? err : NULL);
}

/* Answer one request arriving on fd (a control client or the manager). */
void ctl_serve(struct agent *a, int fd, const struct nlmsghdr *nlh)
{
	static struct outbuf out;

	out.fd = fd;
	out.err = 0;
	out.len = 0;
	handle_request(a, &out, nlh);
	out_flush(&out);
}

/* Tell the manager what the maps hold: STATE, then the status dump, then DONE. */
int ctl_send_state(struct agent *a, int fd)
{
	static struct outbuf out;
	struct nlmsghdr req = { .nlmsg_len = sizeof(req), .nlmsg_type = BPFC_MSG_STATUS_GET };

	out.fd = fd;
	out.err = 0;
	out.len = 0;
	out_commit(&out, bpfc_msg_start(out_next(&out), BPFC_MSG_STATE, 0, 0));
	dump_status(a, &out, &req, true);
	out_flush(&out);
	return out.err;
}

/* One REPORT per stream: its traffic condition. */
int ctl_send_reports(struct agent *a, int fd)
{
	static struct outbuf out;
	__u32 id;

	out.fd = fd;
	out.err = 0;
	out.len = 0;
	for (id = 0; id < BPFC_MAX_STREAMS; id++) {
		struct agent_stream *s = &a->streams[id];
		struct nlmsghdr *nlh;
		struct bpfc_stream_stats st = {};
		struct nlattr *nest;
		__u64 devices = 0, peers = 0;
		int i;

		if (!s->used)
			continue;
		for (i = 0; i < s->n_subs; i++) {
			if (a->subs[s->subs[i]].kind == BPFC_SUB_PEER)
				peers++;
			else
				devices++;
		}
		dp_read_stream_stats(a, id, &st);
		nlh = bpfc_msg_start(out_next(&out), BPFC_MSG_REPORT, NLM_F_REQUEST, 0);
		mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, s->spec.name);
		nest = mnl_attr_nest_start(nlh, BPFC_A_STATS);
		put_u64(nlh, BPFC_STAT_RX_PPS, s->rate.pps);
		put_u64(nlh, BPFC_STAT_RX_BPS, s->rate.bps);
		put_u64(nlh, BPFC_STAT_TX_BPS, s->rate.tx_bps);
		put_u64(nlh, BPFC_STAT_ERRORS, st.tx_errors);
		put_u64(nlh, BPFC_STAT_DEVICES, devices);
		put_u64(nlh, BPFC_STAT_PEERS, peers);
		put_u64(nlh, BPFC_STAT_SHED, st.drop_congested - s->shed_reported);
		s->shed_reported = st.drop_congested;
		mnl_attr_nest_end(nlh, nest);
		put_drops(nlh, &st);
		out_commit(&out, nlh);
	}
	out_flush(&out);
	return out.err;
}

static void client_close(struct client *c)
{
	close(c->fd);
	c->fd = -1;
	c->rx.len = c->rx.off = 0;
}

bool ctl_is_client(int fd)
{
	int i;

	for (i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd == fd)
			return true;
	return false;
}

void ctl_client_io(struct agent *a, int fd)
{
	static struct outbuf out;
	const struct nlmsghdr *nlh;
	struct client *c = NULL;
	int i, n, err = 0;

	for (i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd == fd)
			c = &clients[i];
	if (!c)
		return;
	n = msg_rx_fill(&c->rx, fd);
	if (n == -EAGAIN || n == -EINTR)
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	out.fd = fd;
	out.err = 0;
	out.len = 0;
	while ((nlh = msg_rx_next(&c->rx, &err)))
		handle_request(a, &out, nlh);
	out_flush(&out);
	if (err) {
		pr_warn("control client sent a %s message; closing it\n",
			err == -EMSGSIZE ? "too large" : "malformed");
		client_close(c);
		return;
	}
	if (out.err)
		client_close(c);
}

void ctl_accept(struct agent *a)
{
	int fd = accept4(a->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int i;

	if (fd < 0)
		return;
	for (i = 0; i < MAX_CLIENTS; i++) {
		if (clients[i].fd < 0) {
			clients[i].fd = fd;
			clients[i].rx.len = clients[i].rx.off = 0;
			return;
		}
	}
	pr_warn("too many control clients; refusing one\n");
	close(fd);
}

int ctl_listen(struct agent *a)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[sizeof(sun.sun_path)];
	char *slash;
	int fd;

	if (strlen(a->sock_path) >= sizeof(sun.sun_path)) {
		pr_warn("socket path %s is too long\n", a->sock_path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, a->sock_path);
	strcpy(dir, a->sock_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(a->sock_path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || chmod(a->sock_path, 0660) ||
	    listen(fd, 16)) {
		int err = -errno;

		pr_warn("cannot listen on %s: %s\n", a->sock_path, strerror(errno));
		close(fd);
		return err;
	}
	a->ctl_fd = fd;
	return 0;
}
