// SPDX-License-Identifier: GPL-2.0
/*
 * The agent's side of the manager protocol: connect, HELLO, REGISTER, report
 * the maps' state, then apply instructions and report traffic conditions.
 * While the manager is away the data plane forwards on its last state and the
 * agent reconnects with jittered exponential backoff.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "agent.h"
#include "log.h"
#include "msgio.h"
#include "tls.h"
#include "tlv.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 10000

struct mgr_conn {
	int epfd;
	int fd;			/* -1: not connected */
	bool connecting;	/* non-blocking connect under way */
	__u64 next_try_ms;
	__u32 backoff_ms;
	__u64 last_rx_ms;
	__u64 last_report_ms;
	__u32 seq;
	struct msg_rx rx;
};

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

bool mgr_is_fd(struct agent *a, int fd)
{
	return a->mgr && a->mgr->fd >= 0 && a->mgr->fd == fd;
}

static void mgr_drop(struct agent *a, const char *why)
{
	struct mgr_conn *m = a->mgr;
	__u32 jitter;

	if (m->fd >= 0) {
		if (why)
			pr_warn("manager %s: %s; forwarding goes on, reconnecting\n", a->manager, why);
		epoll_ctl(m->epfd, EPOLL_CTL_DEL, m->fd, NULL);
		msg_close(m->fd);
	}
	m->fd = -1;
	m->connecting = false;
	m->rx.len = m->rx.off = 0;
	/* Jittered exponential backoff: a fleet must not reconnect in lockstep. */
	jitter = m->backoff_ms / 2 + (__u32)(random() % (m->backoff_ms + 1));
	m->next_try_ms = now_ms() + jitter;
	m->backoff_ms = m->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : m->backoff_ms * 2;
}

static int send_msg(struct agent *a, struct nlmsghdr *nlh)
{
	return msg_send(a->mgr->fd, nlh, nlh->nlmsg_len, 2000);
}

/* HELLO, REGISTER and our state, back to back: answers are checked as they come. */
static int mgr_greet(struct agent *a)
{
	struct mgr_conn *m = a->mgr;
	char buf[512];
	struct nlmsghdr *nlh;
	int err;

	nlh = bpfc_msg_start(buf, BPFC_MSG_HELLO, NLM_F_REQUEST | NLM_F_ACK, ++m->seq);
	mnl_attr_put_u32(nlh, BPFC_A_VERSION, BPFC_PROTO_VERSION);
	mnl_attr_put_u8(nlh, BPFC_A_ROLE, BPFC_ROLE_AGENT);
	mnl_attr_put_strz(nlh, BPFC_A_RELAY_ID, a->relay_id);
	mnl_attr_put_u32(nlh, BPFC_A_CAPS, BPFC_CAPS_AGENT);
	err = send_msg(a, nlh);
	if (err)
		return err;
	nlh = bpfc_msg_start(buf, BPFC_MSG_REGISTER, NLM_F_REQUEST | NLM_F_ACK, ++m->seq);
	mnl_attr_put_strz(nlh, BPFC_A_RELAY_ID, a->relay_id);
	if (a->has_data4)
		mnl_attr_put(nlh, BPFC_A_DATA_ADDR4, 4, &a->data4.v4);
	if (a->has_data6)
		mnl_attr_put(nlh, BPFC_A_DATA_ADDR6, 16, a->data6.v6);
	mnl_attr_put_u32(nlh, BPFC_A_MAX_SUBS, a->max_subs);
	mnl_attr_put_u32(nlh, BPFC_A_MAX_MBPS, a->max_mbps);
	if (a->join_fd >= 0 && (a->has_data4 || a->has_data6)) {
		struct bpfc_endpoint join = {
			.family = a->has_data4 ? BPFC_AF_INET : BPFC_AF_INET6,
			.addr = a->has_data4 ? a->data4 : a->data6,
			.port = a->join_port,
		};

		bpfc_put_endpoint(nlh, BPFC_A_JOIN, &join);
	}
	err = send_msg(a, nlh);
	if (err)
		return err;
	return ctl_send_state(a, m->fd);
}

static void mgr_connect(struct agent *a)
{
	struct mgr_conn *m = a->mgr;
	struct epoll_event ev = { .events = EPOLLOUT, .data.fd = -1 };
	int fd = msg_connect_tcp(a->manager, 1);

	if (fd < 0) {
		mgr_drop(a, NULL);
		return;
	}
	m->fd = fd;
	m->connecting = true;
	ev.data.fd = fd;
	epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int mgr_init(struct agent *a, int epfd)
{
	struct mgr_conn *m;

	if (!a->manager)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->epfd = epfd;
	m->fd = -1;
	m->backoff_ms = BACKOFF_MIN_MS;
	srandom(getpid() ^ now_ms());
	a->mgr = m;
	mgr_connect(a);
	return 0;
}

static void handle_answer(struct agent *a, const struct nlmsghdr *nlh)
{
	const char *msg;
	int err = bpfc_get_ack(nlh, &msg);

	if (!err)
		return;
	if (nlh->nlmsg_seq <= 2) {	/* HELLO or REGISTER refused */
		pr_warn("manager %s refused relay %s: %s\n", a->manager, a->relay_id,
			msg ? msg : strerror(-err));
		mgr_drop(a, NULL);
	}
}

static void mgr_handle(struct agent *a);

void mgr_io(struct agent *a, __u32 events)
{
	struct mgr_conn *m = a->mgr;
	int n, err = 0;

	if (m->connecting) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = m->fd };
		socklen_t len = sizeof(err);

		if (getsockopt(m->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
			mgr_drop(a, NULL);
			return;
		}
		m->connecting = false;
		m->seq = 0;
		m->last_rx_ms = now_ms();
		epoll_ctl(m->epfd, EPOLL_CTL_MOD, m->fd, &ev);
		if (a->tls_ctx) {
			char why[300];

			if (bpfc_tls_connect(a->tls_ctx, m->fd, a->manager, 3000, why, sizeof(why))) {
				mgr_drop(a, why);
				return;
			}
		}
		if (mgr_greet(a)) {
			mgr_drop(a, "cannot send");
			return;
		}
		m->backoff_ms = BACKOFF_MIN_MS;
		pr_info("connected to manager %s as relay %s\n", a->manager, a->relay_id);
		return;
	}
	do {
		n = msg_rx_fill(&m->rx, m->fd);
		if (n == 0 || (n < 0 && n != -EAGAIN)) {
			mgr_drop(a, "connection closed");
			return;
		}
		mgr_handle(a);
	} while (m->fd >= 0 && msg_pending(m->fd));
}

static void mgr_handle(struct agent *a)
{
	struct mgr_conn *m = a->mgr;
	const struct nlmsghdr *nlh;
	int err = 0;

	m->last_rx_ms = now_ms();
	while (m->fd >= 0 && (nlh = msg_rx_next(&m->rx, &err))) {
		if (nlh->nlmsg_type == NLMSG_ERROR)
			handle_answer(a, nlh);
		else
			ctl_serve(a, m->fd, nlh);	/* instructions: the control-socket verbs */
	}
	if (m->fd >= 0 && err)
		mgr_drop(a, "it sent a malformed message");
}

static bool stream_shedding(struct agent *a, __u32 id)
{
	struct bpfc_stream_stats st;

	return !dp_read_stream_stats(a, id, &st) && st.drop_congested > a->streams[id].shed_reported;
}

/* Did any stream cross its thresholds, or start shedding, since the last report? */
static bool threshold_crossed(struct agent *a, bool check_shedding)
{
	bool crossed = false;
	int id, i;

	for (id = 0; id < BPFC_MAX_STREAMS; id++) {
		struct agent_stream *s = &a->streams[id];
		__u32 devices = 0;
		bool over;

		if (!s->used)
			continue;
		if (check_shedding && stream_shedding(a, id))
			crossed = true;	/* a congested egress: the manager places elsewhere */
		if (!s->th_devices && !s->th_mbps)
			continue;
		for (i = 0; i < s->n_subs; i++)
			devices += a->subs[s->subs[i]].kind == BPFC_SUB_DEVICE;
		over = (s->th_devices && devices > s->th_devices) ||
		       (s->th_mbps && s->rate.tx_bps / 1000000 > s->th_mbps);
		if (over != s->over) {
			s->over = over;
			crossed = true;
		}
	}
	return crossed;
}

static bool mgr_ready(struct agent *a)
{
	return a->mgr && a->mgr->fd >= 0 && !a->mgr->connecting;
}

static void put_consent(struct agent *a, struct nlmsghdr *nlh, __u32 sub_id, __u32 ms_left)
{
	struct bpfc_endpoint ep;

	bpfc_sub_endpoint(&a->subs[sub_id], &ep);
	mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, a->streams[a->subs[sub_id].stream_id].spec.name);
	bpfc_put_endpoint(nlh, BPFC_A_SUB, &ep);
	mnl_attr_put_u32(nlh, BPFC_A_CONSENT_MS, ms_left);
	mnl_attr_put(nlh, BPFC_A_NONCE, BPFC_NONCE_LEN, a->consent[sub_id].nonce);
}

/*
 * A device's consent, so the manager can hand it to the relay the device moves
 * to. While the manager is away, the STATE sent on reconnect carries it.
 */
void mgr_consent(struct agent *a, __u32 sub_id, __u32 ms_left)
{
	char buf[256];
	struct nlmsghdr *nlh;

	a->consent_dirty[sub_id] = false;
	if (!mgr_ready(a))
		return;
	nlh = bpfc_msg_start(buf, BPFC_MSG_CONSENT, NLM_F_REQUEST, ++a->mgr->seq);
	put_consent(a, nlh, sub_id, ms_left);
	if (send_msg(a, nlh))
		mgr_drop(a, "cannot send");
}

/* Keepalives since the last tick, batched: one CONSENT per refreshed device. */
static void send_consent_refreshes(struct agent *a)
{
	__u64 now = mono_ns();
	__u32 id;

	for (id = 0; id < BPFC_MAX_SUBS && mgr_ready(a); id++) {
		const struct bpfc_consent *c = &a->consent[id];

		if (!a->sub_used[id] || !a->consent_dirty[id])
			continue;
		if (c->expires_ns > now)
			mgr_consent(a, id, (c->expires_ns - now) / 1000000);
		a->consent_dirty[id] = false;
	}
}

void mgr_tick(struct agent *a)
{
	struct mgr_conn *m = a->mgr;
	char buf[64];
	__u64 now = now_ms();

	if (!m)
		return;
	if (m->fd < 0) {
		if (now >= m->next_try_ms)
			mgr_connect(a);
		return;
	}
	if (m->connecting)
		return;
	if (now - m->last_rx_ms > BPFC_DEAD_MS) {
		mgr_drop(a, "silent (half-open connection)");
		return;
	}
	/* Shedding is news at most once a second; thresholds at once. */
	if (now - m->last_report_ms >= BPFC_HEARTBEAT_MS ||
	    threshold_crossed(a, now - m->last_report_ms >= 1000)) {
		struct nlmsghdr *nlh = bpfc_msg_start(buf, BPFC_MSG_HEARTBEAT,
						      NLM_F_REQUEST | NLM_F_ACK, ++m->seq);

		m->last_report_ms = now;
		if (send_msg(a, nlh) || ctl_send_reports(a, m->fd))
			mgr_drop(a, "cannot send");
		else
			send_consent_refreshes(a);
	}
}
