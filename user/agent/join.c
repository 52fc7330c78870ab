// SPDX-License-Identifier: GPL-2.0
/*
 * The device handshake on the JOIN port (docs/protocol.md, "Consent"):
 *
 *   device                         relay
 *   JOIN(stream, token)      ->
 *                            <-    CHALLENGE(nonce)      stateless: nonce = MAC(stream, addr, window)
 *   JOIN(stream, token, nonce) ->                        return routability proven: subscribe
 *                            <-    ACK
 *   KEEPALIVE(stream, nonce) ->    every 5 s             extends the deadline TC checks
 *   LEAVE(stream, nonce)     ->                          unsubscribe
 *
 * No answer is ever longer than the datagram it answers.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <openssl/crypto.h>
#include "agent.h"
#include "log.h"
#include "tlv.h"

#define NONCE_WINDOW_S	10	/* a CHALLENGE answers for 10-20 s */
#define JOIN_BATCH	64	/* datagrams per wake-up: bounded work per event */

struct peer {
	struct sockaddr_storage ss;
	socklen_t len;
	struct bpfc_endpoint ep;
};

int join_open(struct agent *a)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(a->join_port) };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(a->join_port) };
	int fd, zero = 0, err;

	a->join_fd = -1;
	if (getrandom(a->nonce_secret.bytes, sizeof(a->nonce_secret.bytes), 0) !=
	    sizeof(a->nonce_secret.bytes))
		return -EIO;
	err = settings_write(a);
	if (err || !a->join_port)
		return err;
	/* One dual-stack socket; plain IPv4 where IPv6 is disabled. */
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) ||
			bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)))) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin))) {
			err = -errno;
			pr_warn("cannot listen for JOINs on UDP port %u: %s (--join-port 0 turns "
				"device joins off)\n", a->join_port, strerror(errno));
			if (fd >= 0)
				close(fd);
			return err;
		}
	}
	a->join_fd = fd;
	pr_info("devices join on UDP port %u (%s tokens)\n", a->join_port,
		a->has_join_key ? "with" : "operator-authorised only, no");
	return 0;
}

static void peer_endpoint(struct peer *p)
{
	memset(&p->ep, 0, sizeof(p->ep));
	if (p->ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&p->ss;

		p->ep.family = BPFC_AF_INET;
		p->ep.port = ntohs(sin->sin_port);
		p->ep.addr.v4 = sin->sin_addr.s_addr;
		return;
	}
	{
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&p->ss;

		p->ep.port = ntohs(sin6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			p->ep.family = BPFC_AF_INET;
			memcpy(&p->ep.addr.v4, &sin6->sin6_addr.s6_addr[12], 4);
		} else {
			p->ep.family = BPFC_AF_INET6;
			memcpy(p->ep.addr.v6, &sin6->sin6_addr, 16);
		}
	}
}

/* Send only what is no larger than what the device sent. */
static void answer(struct agent *a, const struct peer *p, const struct nlmsghdr *nlh,
		   size_t req_len)
{
	if (nlh->nlmsg_len > req_len)
		return;
	sendto(a->join_fd, nlh, nlh->nlmsg_len, MSG_DONTWAIT, (const struct sockaddr *)&p->ss,
	       p->len);
}

static void answer_ack(struct agent *a, const struct peer *p, const struct nlmsghdr *req,
		       size_t req_len, int error, const char *why)
{
	char buf[256];
	struct nlmsghdr *nlh = bpfc_put_ack(buf, req, error, why);

	if (nlh->nlmsg_len > req_len)	/* the reason does not fit: the bare error does */
		nlh = bpfc_put_ack(buf, req, error, NULL);
	answer(a, p, nlh, req_len);
}

static __u64 nonce_window(void)
{
	return mono_ns() / (NONCE_WINDOW_S * 1000000000ULL);
}

static bool nonce_valid(struct agent *a, const char *stream, const struct bpfc_endpoint *ep,
			const __u8 nonce[BPFC_NONCE_LEN])
{
	__u64 w = nonce_window();
	__u8 want[BPFC_NONCE_LEN];
	int back;

	for (back = 0; back < 2 && back <= (int)w; back++) {
		bpfc_nonce_make(&a->nonce_secret, stream, ep, w - back, want);
		if (!CRYPTO_memcmp(want, nonce, sizeof(want)))
			return true;
	}
	return false;
}

/*
 * May this device subscribe? Yes with a valid token, or when an operator has
 * already authorised it (a pending subscriber), or when it is subscribed now.
 */
static const char *join_refusal(struct agent *a, const struct bpfc_device_msg *m,
				const struct bpfc_endpoint *ep, int sub_id)
{
	struct timespec now;

	if (sub_id >= 0)
		return a->subs[sub_id].kind == BPFC_SUB_DEVICE ? NULL :
			"that address is a relay peer, not a device";
	if (!m->has_token)
		return "not authorised: JOIN with a token";
	if (!a->has_join_key)
		return "this relay accepts no tokens (started without --join-key)";
	clock_gettime(CLOCK_REALTIME, &now);
	return bpfc_token_check(&a->join_key, m->stream, ep, m->token, now.tv_sec);
}

static void handle_join(struct agent *a, struct agent_stream *s, const struct peer *p,
			const struct nlmsghdr *req, size_t len, const struct bpfc_device_msg *m)
{
	int sub_id = state_sub_find(a, m->stream, &p->ep);
	struct bpfc_sub_spec spec = {};
	struct bpfc_device_msg ch = {};
	const char *why;
	char buf[128];
	int ret;

	why = join_refusal(a, m, &p->ep, sub_id);
	if (why) {
		s->join_refused++;
		answer_ack(a, p, req, len, -EACCES, why);
		return;
	}
	if (!m->has_nonce) {
		ch.type = BPFC_MSG_CHALLENGE;
		ch.seq = m->seq;
		ch.has_nonce = true;
		bpfc_nonce_make(&a->nonce_secret, m->stream, &p->ep, nonce_window(), ch.nonce);
		bpfc_device_msg_build(buf, &ch);
		s->challenges++;
		answer(a, p, (struct nlmsghdr *)buf, len);
		return;
	}
	if (!nonce_valid(a, m->stream, &p->ep, m->nonce)) {
		s->join_refused++;
		answer_ack(a, p, req, len, -EACCES, "wrong or stale nonce: JOIN again");
		return;
	}
	if (sub_id >= 0 && (a->consent[sub_id].flags & BPFC_CONSENT_F_STATIC)) {
		answer_ack(a, p, req, len, 0, NULL);	/* static: consent not needed */
		return;
	}
	memcpy(spec.stream, m->stream, sizeof(spec.stream));
	spec.ep = p->ep;
	spec.kind = BPFC_SUB_DEVICE;
	spec.has_consent = true;
	spec.consent_ms = a->consent_ttl_ms;
	memcpy(spec.nonce, m->nonce, sizeof(spec.nonce));
	ret = state_sub_add(a, &spec, &why);
	if (ret) {
		s->join_refused++;
		answer_ack(a, p, req, len, ret, why);
		return;
	}
	s->joins++;
	sub_id = state_sub_find(a, m->stream, &p->ep);
	if (sub_id >= 0)
		mgr_consent(a, sub_id, a->consent_ttl_ms);
	answer_ack(a, p, req, len, 0, NULL);
}

/* KEEPALIVE and LEAVE: only from the subscriber itself, proven by the session's nonce. */
static void handle_session(struct agent *a, struct agent_stream *s, const struct peer *p,
			   const struct nlmsghdr *req, size_t len, const struct bpfc_device_msg *m)
{
	int sub_id = state_sub_find(a, m->stream, &p->ep);
	struct bpfc_consent c;
	struct bpfc_sub_spec spec = {};
	const char *why;

	if (sub_id < 0 || (a->consent[sub_id].flags & BPFC_CONSENT_F_STATIC) ||
	    !a->consent[sub_id].expires_ns ||
	    CRYPTO_memcmp(a->consent[sub_id].nonce, m->nonce, BPFC_NONCE_LEN)) {
		answer_ack(a, p, req, len, -ENOENT, "no such session: JOIN again");
		return;
	}
	if (m->type == BPFC_MSG_LEAVE) {
		memcpy(spec.stream, m->stream, sizeof(spec.stream));
		spec.ep = p->ep;
		mgr_consent(a, sub_id, 0);
		if (state_sub_del(a, &spec, &why)) {
			answer_ack(a, p, req, len, -EIO, why);
			return;
		}
		s->leaves++;
		answer_ack(a, p, req, len, 0, NULL);
		return;
	}
	c = a->consent[sub_id];
	c.expires_ns = mono_ns() + (__u64)a->consent_ttl_ms * 1000000;
	if (state_consent_write(a, sub_id, &c)) {
		answer_ack(a, p, req, len, -EIO, "cannot refresh consent");
		return;
	}
	a->consent_dirty[sub_id] = true;
	answer_ack(a, p, req, len, 0, NULL);
}

static void join_one(struct agent *a, const char *buf, size_t len, struct peer *p)
{
	const struct nlmsghdr *req = (const void *)buf;
	struct bpfc_device_msg m;
	struct agent_stream *s;
	const char *err;

	if (bpfc_device_msg_parse(buf, len, &m, &err) || m.type == BPFC_MSG_CHALLENGE ||
	    m.type == NLMSG_ERROR) {
		pr_debug("ignoring a bad datagram on the JOIN port: %s\n", err);
		return;		/* nothing to answer: it may not even be ours */
	}
	peer_endpoint(p);
	s = state_stream_by_name(a, m.stream, NULL);
	if (!s) {
		answer_ack(a, p, req, len, -ENOENT, "no such stream");
		return;
	}
	if (m.type == BPFC_MSG_JOIN)
		handle_join(a, s, p, req, len, &m);
	else
		handle_session(a, s, p, req, len, &m);
}

void join_input(struct agent *a)
{
	char buf[1024] __attribute__((aligned(4)));
	struct peer p;
	int i;

	for (i = 0; i < JOIN_BATCH; i++) {
		ssize_t n;

		p.len = sizeof(p.ss);
		n = recvfrom(a->join_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC,
			     (struct sockaddr *)&p.ss, &p.len);
		if (n < 0)
			return;
		if ((size_t)n > sizeof(buf))
			continue;	/* no device message is this long */
		join_one(a, buf, n, &p);
	}
}

/* TC already stopped sending to them; take them out of the lists and report. */
void join_sweep(struct agent *a)
{
	__u64 now = mono_ns();
	__u32 id;

	for (id = 0; id < BPFC_MAX_SUBS; id++) {
		const struct bpfc_consent *c = &a->consent[id];
		struct bpfc_sub_spec spec = {};
		char ep[BPFC_ENDPOINT_STRLEN];
		struct agent_stream *s;
		const char *why;

		if (!a->sub_used[id] || (c->flags & BPFC_CONSENT_F_STATIC) || !c->expires_ns ||
		    c->expires_ns > now)
			continue;
		s = &a->streams[a->subs[id].stream_id];
		memcpy(spec.stream, s->spec.name, sizeof(spec.stream));
		bpfc_sub_endpoint(&a->subs[id], &spec.ep);
		mgr_consent(a, id, 0);
		if (state_sub_del(a, &spec, &why)) {
			pr_warn("cannot remove expired subscriber of %s: %s\n", s->spec.name, why);
			continue;
		}
		s->expiries++;
		pr_info("consent of %s on %s expired; removed\n",
			bpfc_endpoint_str(&spec.ep, ep, sizeof(ep)), s->spec.name);
	}
}
