// SPDX-License-Identifier: GPL-2.0
/*
 * bpfcast-manager: holds the desired state of a relay fleet, assigns
 * subscribers to relays with the offload policy (policy.h), and keeps every
 * agent's maps equal to it. Reconciliation is level-triggered: after any
 * (re)connect an agent reports what its maps hold and gets only the difference.
 */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include "addr.h"
#include "config.h"
#include "consent.h"
#include "denylist.h"
#include "fleet_json.h"
#include "http.h"
#include "log.h"
#include "msgio.h"
#include "policy.h"
#include "store.h"
#include "tls.h"
#include "tlv.h"

#define MAX_CONNS	128
#define MAX_SUBS	65536
#define MAX_STREAMS	1024
#define OP_TIMEOUT_MS	5000

struct m_relay {
	bool used;
	char id[BPFC_RELAY_ID_LEN];
	int conn;			/* index in conns, -1: not connected */
	bool synced;			/* its actual state was reconciled */
	bool has4, has6;
	union bpfc_addr a4, a6;
	__u32 max_subs, max_mbps;
	__u16 join_port;		/* where its devices JOIN; 0: it takes no JOINs */
};

struct m_stream {
	bool used;
	struct store_stream rec;
	struct pol_stream pol;
	__u32 bitrate_mbps;		/* at the origin, from its reports */
	__u64 rx_bps;			/* the same, bits/s */
	__u64 tx_bps[POL_MAX_RELAYS];	/* egress per relay, from reports */
	__u64 offloads, releases;	/* since the manager started */
};

/* Recent decisions and happenings, for status, the dashboard and metrics. */
#define MAX_EVENTS 64
struct m_event {
	__u64 time_ms;			/* Unix time */
	char stream[BPFC_STREAM_NAME_LEN];
	char text[160];
};

struct m_sub {
	bool used;
	int stream;
	struct bpfc_endpoint ep;
	int relay;
	bool is_static;
	__u64 consent_until_ms;		/* the device's consent, as its relay last said; 0: none */
	__u64 token_until_ms;		/* made by a token: dropped if never joined by then */
	__u8 nonce[BPFC_NONCE_LEN];	/* handed to the relay the device moves to */
};

struct conn {
	int fd;				/* -1: free */
	bool tls_done;			/* handshake complete (or plain TCP) */
	bool closing;			/* refused: our answer is out, input is discarded */
	char cert_role[16];		/* the certificate's OU: agent or admin */
	char cert_cn[64];		/* its CN: an agent's relay id */
	int role;			/* 0 until HELLO */
	int relay;			/* agents */
	__u64 last_rx_ms;
	/* an agent's reported state, while it is being received */
	bool in_state;
	struct bpfc_stream_spec *act_streams;
	int n_act_streams;
	struct bpfc_sub_spec *act_subs;
	int n_act_subs;
	struct msg_rx rx;
};

struct op {
	int relay;
	__u32 seq;
	bool sent;
	__u64 sent_ms;
	size_t len;
	char msg[512];
};

static struct m_relay relays[POL_MAX_RELAYS];
static struct m_stream streams[MAX_STREAMS];
static struct m_sub subs[MAX_SUBS];
static struct conn conns[MAX_CONNS];
static struct m_event events[MAX_EVENTS];
static unsigned int n_events;		/* ever recorded; the ring holds the last MAX_EVENTS */
static __u64 n_instructions;
static struct op *ops;
static size_t ops_head, ops_tail, ops_cap;
static __u32 next_seq = 1;
static const struct store_ops *sops = &store_sqlite_ops;
static struct store *store;
static struct bpfc_denylist deny;	/* destination policy */
static SSL_CTX *tls_ctx;		/* NULL: --insecure */
static struct bpfc_key join_key;	/* signs tokens; relays verify with the same key */
static bool has_join_key;
static int epfd;

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static __u64 now_s(void)
{
	return now_ms() / 1000;
}

static void event(const char *stream, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void event(const char *stream, const char *fmt, ...)
{
	struct m_event *e = &events[n_events++ % MAX_EVENTS];
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	e->time_ms = ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
	snprintf(e->stream, sizeof(e->stream), "%s", stream ? stream : "");
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	pr_info("%s%s%s\n", e->stream, *e->stream ? ": " : "", e->text);
}

/* ---- lookups ------------------------------------------------------------ */

static int relay_find(const char *id, bool create)
{
	int i, free_slot = -1;

	for (i = 0; i < POL_MAX_RELAYS; i++) {
		if (relays[i].used && !strcmp(relays[i].id, id))
			return i;
		if (!relays[i].used && free_slot < 0)
			free_slot = i;
	}
	if (!create || free_slot < 0)
		return -1;
	memset(&relays[free_slot], 0, sizeof(relays[0]));
	relays[free_slot].used = true;
	relays[free_slot].conn = -1;
	snprintf(relays[free_slot].id, sizeof(relays[0].id), "%s", id);
	return free_slot;
}

static int stream_find(const char *name)
{
	int i;

	for (i = 0; i < MAX_STREAMS; i++)
		if (streams[i].used && !strcmp(streams[i].rec.spec.name, name))
			return i;
	return -1;
}

static int sub_find(int stream, const struct bpfc_endpoint *ep)
{
	int i;

	for (i = 0; i < MAX_SUBS; i++)
		if (subs[i].used && subs[i].stream == stream && bpfc_endpoint_equal(&subs[i].ep, ep))
			return i;
	return -1;
}

static bool relay_live(int r)
{
	return r >= 0 && relays[r].used && relays[r].conn >= 0 && relays[r].synced;
}

static void fleet_build(struct pol_fleet *f)
{
	int r, i;

	memset(f, 0, sizeof(*f));
	f->n_relays = POL_MAX_RELAYS;
	for (r = 0; r < POL_MAX_RELAYS; r++) {
		f->relay[r].connected = relay_live(r);
		f->relay[r].max_subs = relays[r].max_subs;
	}
	for (i = 0; i < MAX_SUBS; i++)
		if (subs[i].used && subs[i].relay >= 0)
			f->relay[subs[i].relay].load++;
}

/* The data-plane address a peer relay receives a stream on. */
static bool relay_addr(int r, __u8 family, union bpfc_addr *a)
{
	if (family == BPFC_AF_INET && relays[r].has4) {
		*a = relays[r].a4;
		return true;
	}
	if (family == BPFC_AF_INET6 && relays[r].has6) {
		*a = relays[r].a6;
		return true;
	}
	return false;
}

/* What relay r must hold for stream s: its ingest spec. False if r cannot. */
static bool stream_spec_at(int s, int r, struct bpfc_stream_spec *out)
{
	const struct m_stream *st = &streams[s];
	int feeder = st->pol.feeder[r];

	*out = st->rec.spec;
	if (r == st->pol.origin)
		return true;
	if (feeder == POL_NONE || !relay_addr(r, st->rec.spec.ingest.family, &out->ingest.addr))
		return false;
	/* A peer takes the stream only from its feeder. */
	out->has_source = relay_addr(feeder, st->rec.spec.ingest.family, &out->source.addr);
	out->source.family = st->rec.spec.ingest.family;
	out->source.plen = out->source.family == BPFC_AF_INET ? 32 : 128;
	if (!out->egress_port)
		out->egress_port = st->rec.spec.ingest.port;
	return true;
}

static bool peer_sub_spec(int s, int peer, struct bpfc_sub_spec *out)
{
	struct bpfc_stream_spec at;

	if (!stream_spec_at(s, peer, &at))
		return false;
	memset(out, 0, sizeof(*out));
	snprintf(out->stream, sizeof(out->stream), "%s", streams[s].rec.spec.name);
	out->ep = at.ingest;
	out->kind = BPFC_SUB_PEER;
	return true;
}

/* ---- instructions to agents ----------------------------------------------- */

static void op_push(int relay, struct nlmsghdr *nlh)
{
	struct op *op;

	if (ops_tail == ops_cap) {
		size_t cap = ops_cap ? ops_cap * 2 : 256;
		struct op *grown;

		if (ops_head) {	/* compact before growing */
			memmove(ops, ops + ops_head, (ops_tail - ops_head) * sizeof(*ops));
			ops_tail -= ops_head;
			ops_head = 0;
		}
		if (ops_tail == ops_cap) {
			grown = realloc(ops, cap * sizeof(*ops));
			if (!grown) {
				pr_warn("out of memory queueing an instruction\n");
				return;
			}
			ops = grown;
			ops_cap = cap;
		}
	}
	op = &ops[ops_tail++];
	memset(op, 0, sizeof(*op));
	op->relay = relay;
	op->seq = nlh->nlmsg_seq;
	op->len = nlh->nlmsg_len;
	memcpy(op->msg, nlh, nlh->nlmsg_len);
}

static struct nlmsghdr *instr(char *buf, __u16 type)
{
	return bpfc_msg_start(buf, type, NLM_F_REQUEST | NLM_F_ACK, next_seq++);
}

static void send_stream_add(int r, const struct bpfc_stream_spec *spec)
{
	int s = stream_find(spec->name);
	char buf[512];
	struct nlmsghdr *nlh = instr(buf, BPFC_MSG_STREAM_ADD);

	bpfc_put_stream_spec(nlh, spec);
	/* So the agent reports at once when it crosses them. */
	if (s >= 0 && streams[s].pol.th.offload_above) {
		struct nlattr *nest = mnl_attr_nest_start(nlh, BPFC_A_THRESHOLDS);

		mnl_attr_put_u32(nlh, BPFC_TH_OFFLOAD_ABOVE, streams[s].pol.th.offload_above);
		mnl_attr_put_u32(nlh, BPFC_TH_OFFLOAD_ABOVE_MBPS,
				 streams[s].pol.th.offload_above_mbps);
		mnl_attr_nest_end(nlh, nest);
	}
	op_push(r, nlh);
}

static void send_stream_del(int r, const char *name)
{
	char buf[512];
	struct nlmsghdr *nlh = instr(buf, BPFC_MSG_STREAM_DEL);

	mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, name);
	op_push(r, nlh);
}

static void send_sub(int r, const struct bpfc_sub_spec *spec, bool add)
{
	char buf[512];
	struct nlmsghdr *nlh = instr(buf, add ? BPFC_MSG_SUB_ADD : BPFC_MSG_SUB_DEL);

	bpfc_put_sub_spec(nlh, spec);
	op_push(r, nlh);
}

/* A device as its relay must hold it: with its consent, so a move keeps it receiving. */
static void device_spec(int sub, struct bpfc_sub_spec *out)
{
	const struct m_sub *m = &subs[sub];
	__u64 now = now_ms();

	memset(out, 0, sizeof(*out));
	snprintf(out->stream, sizeof(out->stream), "%s", streams[m->stream].rec.spec.name);
	out->ep = m->ep;
	out->kind = BPFC_SUB_DEVICE;
	out->is_static = m->is_static;
	if (!m->is_static && m->consent_until_ms > now) {
		out->has_consent = true;
		out->consent_ms = m->consent_until_ms - now;
		memcpy(out->nonce, m->nonce, sizeof(out->nonce));
	}
}

/* Take the later of two views of a device's consent. */
static void consent_learn(int sub, const struct bpfc_sub_spec *seen)
{
	__u64 until = now_ms() + seen->consent_ms;

	if (!seen->has_consent || !seen->consent_ms || until <= subs[sub].consent_until_ms)
		return;
	subs[sub].consent_until_ms = until;
	subs[sub].token_until_ms = 0;
	memcpy(subs[sub].nonce, seen->nonce, sizeof(subs[sub].nonce));
}


static void conn_close(int c);

/* Send the oldest instruction; the next waits for its ACK (make-before-break). */
static void ops_kick(void)
{
	while (ops_head < ops_tail) {
		struct op *op = &ops[ops_head];
		int err;

		if (!relay_live(op->relay)) {
			ops_head++;	/* reconciled when it comes back */
			continue;
		}
		if (op->sent) {
			if (now_ms() - op->sent_ms > OP_TIMEOUT_MS) {
				pr_warn("relay %s did not acknowledge in time; disconnecting it\n",
					relays[op->relay].id);
				conn_close(relays[op->relay].conn);
				continue;
			}
			return;
		}
		err = msg_send(conns[relays[op->relay].conn].fd, op->msg, op->len, 2000);
		n_instructions++;
		if (err) {
			conn_close(relays[op->relay].conn);
			continue;
		}
		op->sent = true;
		op->sent_ms = now_ms();
		return;
	}
	ops_head = ops_tail = 0;
}

static void ops_ack(int relay, const struct nlmsghdr *nlh)
{
	const char *msg;
	int err = bpfc_get_ack(nlh, &msg);

	if (ops_head >= ops_tail || ops[ops_head].relay != relay ||
	    ops[ops_head].seq != nlh->nlmsg_seq || !ops[ops_head].sent)
		return;
	if (err)
		pr_warn("relay %s refused an instruction: %s\n", relays[relay].id,
			msg ? msg : strerror(-err));
	ops_head++;
	ops_kick();
}

/* ---- policy actions -> instructions and store ----------------------------- */

static void apply_actions(int s, const struct pol_action *acts, int n, const int *dev_sub)
{
	struct bpfc_stream_spec spec;
	struct bpfc_sub_spec sub;
	struct store_peer peer;
	int i;

	for (i = 0; i < n; i++) {
		const struct pol_action *a = &acts[i];

		switch (a->type) {
		case POL_STREAM_AT:
			if (stream_spec_at(s, a->relay, &spec))
				send_stream_add(a->relay, &spec);
			if (a->relay != streams[s].pol.origin) {
				streams[s].offloads++;
				event(streams[s].rec.spec.name, "offload to relay %s (fed by %s)",
				      relays[a->relay].id,
				      relays[streams[s].pol.feeder[a->relay]].id);
			}
			break;
		case POL_PEER_ADD:
			memset(&peer, 0, sizeof(peer));
			snprintf(peer.stream, sizeof(peer.stream), "%s", streams[s].rec.spec.name);
			snprintf(peer.from, sizeof(peer.from), "%s", relays[a->relay].id);
			snprintf(peer.to, sizeof(peer.to), "%s", relays[a->peer].id);
			sops->put_peer(store, &peer);
			if (peer_sub_spec(s, a->peer, &sub))
				send_sub(a->relay, &sub, true);
			break;
		case POL_DEVICE_ADD:
			subs[dev_sub[a->device]].relay = a->relay;
			device_spec(dev_sub[a->device], &sub);
			send_sub(a->relay, &sub, true);
			break;
		case POL_DEVICE_DEL:
			device_spec(dev_sub[a->device], &sub);
			send_sub(a->relay, &sub, false);
			break;
		case POL_PEER_DEL:
			if (peer_sub_spec(s, a->peer, &sub))
				send_sub(a->relay, &sub, false);
			sops->del_peer(store, streams[s].rec.spec.name, relays[a->peer].id);
			streams[s].releases++;
			event(streams[s].rec.spec.name, "released relay %s; its devices moved to %s",
			      relays[a->peer].id, relays[a->relay].id);
			break;
		case POL_STREAM_DROP:
			send_stream_del(a->relay, streams[s].rec.spec.name);
			break;
		}
	}
}

/* Persist where every device of stream s is, as one durable step. */
static void store_stream_subs(int s)
{
	struct store_sub ss;
	int i;

	for (i = 0; i < MAX_SUBS; i++) {
		if (!subs[i].used || subs[i].stream != s)
			continue;
		memset(&ss, 0, sizeof(ss));
		snprintf(ss.stream, sizeof(ss.stream), "%s", streams[s].rec.spec.name);
		ss.ep = subs[i].ep;
		snprintf(ss.relay, sizeof(ss.relay), "%s", relays[subs[i].relay].id);
		ss.is_static = subs[i].is_static;
		sops->put_sub(store, &ss);
	}
}

static void try_release(int s)
{
	static struct pol_action acts[POL_MAX_ACTIONS];
	static int dev_sub[MAX_SUBS], dev_relay[MAX_SUBS];
	struct pol_fleet fleet;
	int n = 0, n_acts = 0, i, released;

	for (i = 0; i < MAX_SUBS; i++) {
		if (subs[i].used && subs[i].stream == s) {
			dev_sub[n] = i;
			dev_relay[n++] = subs[i].relay;
		}
	}
	fleet_build(&fleet);
	/* Only while every relay of the tree is up: a move needs both ends. */
	for (i = 0; i < POL_MAX_RELAYS; i++)
		if (streams[s].pol.feeder[i] != POL_NONE && !relay_live(i))
			return;
	released = pol_release(&fleet, &streams[s].pol, dev_relay, n, now_s(), acts, &n_acts);
	if (released == POL_NONE)
		return;
	sops->begin(store);
	apply_actions(s, acts, n_acts, dev_sub);
	store_stream_subs(s);
	sops->commit(store);
	ops_kick();
}

/* ---- devices that joined a relay themselves -------------------------------- */

static int free_sub_slot(void)
{
	int i;

	for (i = 0; i < MAX_SUBS && subs[i].used; i++)
		;
	return i == MAX_SUBS ? -1 : i;
}

/*
 * Place a new device of stream s by the policy and queue what that takes.
 * joined_at: the relay it already sits on after a JOIN, or -1. Returns 0 or -errno.
 */
static int place_device(int s, int i, int joined_at, const char **err)
{
	static struct pol_action acts[POL_MAX_ACTIONS];
	struct pol_fleet fleet;
	struct bpfc_sub_spec spec;
	struct pol_stream trial = streams[s].pol;	/* committed only if it fits */
	int relay, n_acts = 0, dev_sub[1] = { i };
	bool over;

	fleet_build(&fleet);
	relay = pol_place_device(&fleet, &trial, 0, now_s(), acts, &n_acts, &over);
	if (relay == POL_NONE) {
		*err = "no relay carries this stream";
		return -ENXIO;
	}
	if (streams[s].rec.spec.max_subs && trial.devices[relay] > streams[s].rec.spec.max_subs) {
		*err = "over quota: the stream's --max-subs devices are on its relay already";
		return -EDQUOT;
	}
	streams[s].pol = trial;
	subs[i].used = true;
	subs[i].relay = relay;
	if (over)
		pr_warn("stream %s: no relay with room and none to bring in (or within hold); "
			"the device goes above the threshold on %s\n", streams[s].rec.spec.name,
			relays[relay].id);
	sops->begin(store);
	apply_actions(s, acts, n_acts, dev_sub);
	store_stream_subs(s);
	if (sops->commit(store)) {
		*err = "cannot store the subscription";
		return -EIO;
	}
	/* Joined elsewhere: make (above) before break (here). */
	if (joined_at >= 0 && joined_at != relay) {
		device_spec(i, &spec);
		send_sub(joined_at, &spec, false);
	}
	ops_kick();
	return 0;
}

/* A device relay r accepted after a JOIN that we did not know: it becomes ours. */
static int adopt_joined(int r, const struct bpfc_sub_spec *joined)
{
	char why[160];
	const char *err;
	int s = stream_find(joined->stream), i = free_sub_slot();

	if (s < 0 || i < 0 || bpfc_subscriber_refused(&deny, &joined->ep, why, sizeof(why)))
		return -EINVAL;
	memset(&subs[i], 0, sizeof(subs[i]));
	subs[i].stream = s;
	subs[i].ep = joined->ep;
	consent_learn(i, joined);
	if (place_device(s, i, r, &err)) {
		pr_warn("relay %s: cannot take a joined device of %s: %s\n", relays[r].id,
			joined->stream, err);
		subs[i].used = false;
		return -EINVAL;
	}
	{
		char ep[BPFC_ENDPOINT_STRLEN];

		event(joined->stream, "device %s joined at relay %s",
		      bpfc_endpoint_str(&joined->ep, ep, sizeof(ep)), relays[r].id);
	}
	return 0;
}

static void forget_device(int s, int i)
{
	sops->del_sub(store, streams[s].rec.spec.name, &subs[i].ep);
	streams[s].pol.devices[subs[i].relay]--;
	subs[i].used = false;
}

/* CONSENT from relay r: a device joined, kept alive, left or went silent there. */
static void handle_consent(int ci, const struct nlattr **tb)
{
	int r = conns[ci].relay, s, i;
	struct bpfc_sub_spec spec;
	const char *err;

	if (bpfc_get_sub_spec(tb, &spec, &err) || !spec.has_consent)
		return;
	s = stream_find(spec.stream);
	i = s < 0 ? -1 : sub_find(s, &spec.ep);
	if (spec.consent_ms == 0) {
		/* Gone at the relay serving it; elsewhere it is a stale word. */
		if (i >= 0 && subs[i].relay == r && !subs[i].is_static) {
			char ep[BPFC_ENDPOINT_STRLEN];

			event(spec.stream, "device %s left or went silent at relay %s",
			      bpfc_endpoint_str(&spec.ep, ep, sizeof(ep)), relays[r].id);
			forget_device(s, i);
			try_release(s);
		}
		return;
	}
	if (i < 0) {
		adopt_joined(r, &spec);
		return;
	}
	consent_learn(i, &spec);
	if (subs[i].relay != r) {
		/* It spoke to a relay that does not serve it: refresh the one that does. */
		device_spec(i, &spec);
		send_sub(subs[i].relay, &spec, true);
		send_sub(r, &spec, false);
		ops_kick();
	}
}

/* Placed for a token that was never used: free the place. */
static void drop_unjoined(void)
{
	struct bpfc_sub_spec spec;
	int i, s;

	for (i = 0; i < MAX_SUBS; i++) {
		if (!subs[i].used || !subs[i].token_until_ms || subs[i].token_until_ms > now_ms())
			continue;
		s = subs[i].stream;
		device_spec(i, &spec);
		send_sub(subs[i].relay, &spec, false);
		forget_device(s, i);
		event(streams[s].rec.spec.name, "a device never joined before its token expired; "
		      "dropped");
		try_release(s);
	}
}

/* ---- reconciliation --------------------------------------------------------- */

static bool actual_has_stream(const struct conn *c, const struct bpfc_stream_spec *want,
			      bool *same)
{
	int i;

	for (i = 0; i < c->n_act_streams; i++) {
		if (!strcmp(c->act_streams[i].name, want->name)) {
			*same = bpfc_stream_spec_equal(&c->act_streams[i], want);
			return true;
		}
	}
	return false;
}

/* Desired subscriber `want` of relay r: present in the agent? Marks it seen. */
static void want_sub(struct conn *c, int r, const struct bpfc_sub_spec *want, bool *seen)
{
	int i;

	for (i = 0; i < c->n_act_subs; i++) {
		if (!strcmp(c->act_subs[i].stream, want->stream) &&
		    bpfc_endpoint_equal(&c->act_subs[i].ep, &want->ep) &&
		    c->act_subs[i].kind == want->kind) {
			seen[i] = true;
			if (want->kind == BPFC_SUB_DEVICE) {
				int m = sub_find(stream_find(want->stream), &want->ep);

				if (m >= 0)
					consent_learn(m, &c->act_subs[i]);
			}
			return;
		}
	}
	send_sub(r, want, true);
}

static void reconcile(int ci)
{
	struct conn *c = &conns[ci];
	int r = c->relay, s, i, x, sent = 0;
	bool *seen = calloc(c->n_act_subs + 1, sizeof(bool));
	bool *keep = calloc(c->n_act_streams + 1, sizeof(bool));
	size_t before = ops_tail - ops_head;
	struct bpfc_stream_spec spec;
	struct bpfc_sub_spec sub;

	if (!seen || !keep)
		goto out;
	relays[r].synced = true;
	for (s = 0; s < MAX_STREAMS; s++) {
		bool same = false;

		if (!streams[s].used || !stream_spec_at(s, r, &spec))
			continue;
		if (actual_has_stream(c, &spec, &same) && !same)
			send_stream_del(r, spec.name);
		if (!same)
			send_stream_add(r, &spec);
		for (i = 0; i < c->n_act_streams; i++)
			if (!strcmp(c->act_streams[i].name, spec.name))
				keep[i] = same;
		for (i = 0; i < MAX_SUBS; i++) {
			if (subs[i].used && subs[i].stream == s && subs[i].relay == r) {
				device_spec(i, &sub);
				if (same)
					want_sub(c, r, &sub, seen);
				else
					send_sub(r, &sub, true);
			}
		}
		for (x = 0; x < POL_MAX_RELAYS; x++) {
			if (x == r || streams[s].pol.feeder[x] != r || !peer_sub_spec(s, x, &sub))
				continue;
			if (same)
				want_sub(c, r, &sub, seen);
			else
				send_sub(r, &sub, true);
		}
	}
	/* What the agent has and the fleet does not want. */
	for (i = 0; i < c->n_act_subs; i++) {
		bool stream_kept = false;
		int k;

		for (k = 0; k < c->n_act_streams; k++)
			if (keep[k] && !strcmp(c->act_streams[k].name, c->act_subs[i].stream))
				stream_kept = true;
		if (seen[i] || !stream_kept)
			continue;
		/* A device that joined while we were away: it has consent, so keep it. */
		if (c->act_subs[i].kind == BPFC_SUB_DEVICE && c->act_subs[i].has_consent &&
		    c->act_subs[i].consent_ms && !adopt_joined(r, &c->act_subs[i]))
			continue;
		send_sub(r, &c->act_subs[i], false);
	}
	for (i = 0; i < c->n_act_streams; i++) {
		s = stream_find(c->act_streams[i].name);
		if (s < 0 || !stream_spec_at(s, r, &spec))
			send_stream_del(r, c->act_streams[i].name);
	}
	sent = ops_tail - ops_head - before;
	pr_info("relay %s synced: %d instructions to reach the desired state\n", relays[r].id,
		sent);
out:
	free(seen);
	free(keep);
	free(c->act_streams);
	free(c->act_subs);
	c->act_streams = NULL;
	c->act_subs = NULL;
	c->n_act_streams = c->n_act_subs = 0;
	ops_kick();
}

/* ---- connections ---------------------------------------------------------- */

static void reply(int ci, const struct nlmsghdr *req, int err, const char *msg)
{
	char buf[1024];
	struct nlmsghdr *nlh = bpfc_put_ack(buf, req, err, msg);

	if (msg_send(conns[ci].fd, nlh, nlh->nlmsg_len, 2000))
		conn_close(ci);
}

static void conn_close(int ci)
{
	struct conn *c = &conns[ci];

	if (ci < 0 || c->fd < 0)
		return;
	if (c->role == BPFC_ROLE_AGENT && c->relay >= 0) {
		event(NULL, "relay %s disconnected; it keeps forwarding on its last state",
		      relays[c->relay].id);
		relays[c->relay].conn = -1;
		relays[c->relay].synced = false;
	}
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	msg_close(c->fd);
	free(c->act_streams);
	free(c->act_subs);
	memset(c, 0, offsetof(struct conn, rx));
	c->fd = -1;
	c->relay = -1;
	c->rx.len = c->rx.off = 0;
}

static int handle_hello(int ci, const struct nlmsghdr *nlh, const struct nlattr **tb)
{
	struct conn *c = &conns[ci];
	const char *id;
	int r;

	if (!tb[BPFC_A_VERSION] || mnl_attr_get_u32(tb[BPFC_A_VERSION]) != BPFC_PROTO_VERSION) {
		reply(ci, nlh, -EPROTONOSUPPORT, "protocol version not supported (want 1)");
		return -1;
	}
	if (!tb[BPFC_A_ROLE]) {
		reply(ci, nlh, -EINVAL, "role missing");
		return -1;
	}
	c->role = mnl_attr_get_u8(tb[BPFC_A_ROLE]);
	/* With TLS the certificate, not the message, says who the peer is. */
	if (tls_ctx && strcmp(c->cert_role, c->role == BPFC_ROLE_ADMIN ? "admin" : "agent")) {
		pr_warn("refusing a %s HELLO from a certificate for role '%s' (CN %s)\n",
			c->role == BPFC_ROLE_ADMIN ? "admin" : "agent", c->cert_role, c->cert_cn);
		c->role = 0;
		reply(ci, nlh, -EACCES, "your certificate does not allow this role");
		return -1;
	}
	if (c->role == BPFC_ROLE_ADMIN) {
		reply(ci, nlh, 0, NULL);
		return 0;
	}
	if (c->role != BPFC_ROLE_AGENT || !tb[BPFC_A_RELAY_ID] ||
	    !*(id = mnl_attr_get_str(tb[BPFC_A_RELAY_ID]))) {
		reply(ci, nlh, -EINVAL, "unknown role or relay id missing");
		return -1;
	}
	if (!tb[BPFC_A_CAPS] ||
	    (mnl_attr_get_u32(tb[BPFC_A_CAPS]) & BPFC_CAPS_NEEDED) != BPFC_CAPS_NEEDED) {
		reply(ci, nlh, -EOPNOTSUPP, "agent lacks a needed capability (fan-out, peers)");
		return -1;
	}
	if (tls_ctx && strcmp(id, c->cert_cn)) {
		pr_warn("refusing relay id %s from a certificate for relay %s\n", id, c->cert_cn);
		reply(ci, nlh, -EACCES, "the relay id differs from your certificate's CN");
		return -1;
	}
	r = relay_find(id, true);
	if (r < 0) {
		reply(ci, nlh, -ENOSPC, "too many relays");
		return -1;
	}
	if (relays[r].conn >= 0) {
		pr_warn("refusing a second agent for relay %s\n", id);
		reply(ci, nlh, -EEXIST, "a relay with this id is already connected");
		return -1;
	}
	relays[r].conn = ci;
	relays[r].synced = false;
	c->relay = r;
	event(NULL, "relay %s connected", id);
	reply(ci, nlh, 0, NULL);
	return 0;
}

static int handle_register(int ci, const struct nlmsghdr *nlh, const struct nlattr **tb)
{
	struct m_relay *rel = &relays[conns[ci].relay];

	if (tb[BPFC_A_DATA_ADDR4] && mnl_attr_get_payload_len(tb[BPFC_A_DATA_ADDR4]) == 4) {
		memcpy(&rel->a4.v4, mnl_attr_get_payload(tb[BPFC_A_DATA_ADDR4]), 4);
		rel->has4 = true;
	}
	if (tb[BPFC_A_DATA_ADDR6] && mnl_attr_get_payload_len(tb[BPFC_A_DATA_ADDR6]) == 16) {
		memcpy(rel->a6.v6, mnl_attr_get_payload(tb[BPFC_A_DATA_ADDR6]), 16);
		rel->has6 = true;
	}
	rel->max_subs = tb[BPFC_A_MAX_SUBS] ? mnl_attr_get_u32(tb[BPFC_A_MAX_SUBS]) : 0;
	rel->max_mbps = tb[BPFC_A_MAX_MBPS] ? mnl_attr_get_u32(tb[BPFC_A_MAX_MBPS]) : 0;
	rel->join_port = 0;
	if (tb[BPFC_A_JOIN]) {
		struct bpfc_endpoint jp;
		const char *err;

		if (!bpfc_get_endpoint(tb[BPFC_A_JOIN], &jp, &err))
			rel->join_port = jp.port;
	}
	{
		struct store_relay sr = { .has4 = rel->has4, .has6 = rel->has6, .a4 = rel->a4,
					  .a6 = rel->a6, .max_subs = rel->max_subs,
					  .max_mbps = rel->max_mbps };

		snprintf(sr.id, sizeof(sr.id), "%s", rel->id);
		if (sops->put_relay(store, &sr))
			pr_warn("cannot store relay %s\n", rel->id);
	}
	reply(ci, nlh, 0, NULL);
	return 0;
}

static void handle_report(int ci, const struct nlattr **tb)
{
	int s = tb[BPFC_A_STREAM_NAME] ? stream_find(mnl_attr_get_str(tb[BPFC_A_STREAM_NAME])) : -1;
	const struct nlattr *a;

	if (s < 0 || !tb[BPFC_A_STATS])
		return;
	mnl_attr_for_each_nested(a, tb[BPFC_A_STATS]) {
		if (mnl_attr_get_payload_len(a) != 8)
			continue;
		if (mnl_attr_get_type(a) == BPFC_STAT_SHED)
			streams[s].pol.shedding[conns[ci].relay] = mnl_attr_get_u64(a) > 0;
		if (mnl_attr_get_type(a) == BPFC_STAT_TX_BPS) {
			streams[s].tx_bps[conns[ci].relay] = mnl_attr_get_u64(a);
			streams[s].pol.egress_mbps[conns[ci].relay] = mnl_attr_get_u64(a) / 1000000;
		}
		if (mnl_attr_get_type(a) == BPFC_STAT_RX_BPS &&
		    conns[ci].relay == streams[s].pol.origin) {
			streams[s].rx_bps = mnl_attr_get_u64(a);
			streams[s].bitrate_mbps = (mnl_attr_get_u64(a) + 500000) / 1000000;
		}
	}
}

/* The agent's maps, message by message, until DONE. */
static void collect_state(struct conn *c, const struct nlmsghdr *nlh, const struct nlattr **tb)
{
	const char *err;

	if (nlh->nlmsg_type == BPFC_MSG_STREAM) {
		void *g = realloc(c->act_streams, (c->n_act_streams + 1) * sizeof(*c->act_streams));

		if (g && !bpfc_get_stream_spec(tb, &((struct bpfc_stream_spec *)g)[c->n_act_streams],
					       &err))
			c->n_act_streams++;
		if (g)
			c->act_streams = g;
	} else if (nlh->nlmsg_type == BPFC_MSG_SUB) {
		void *g = realloc(c->act_subs, (c->n_act_subs + 1) * sizeof(*c->act_subs));

		if (g && !bpfc_get_sub_spec(tb, &((struct bpfc_sub_spec *)g)[c->n_act_subs], &err))
			c->n_act_subs++;
		if (g)
			c->act_subs = g;
	}
}

static void handle_agent(int ci, const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[BPFC_A_MAX + 1];
	struct conn *c = &conns[ci];
	const char *err;

	if (nlh->nlmsg_type == NLMSG_ERROR) {
		ops_ack(c->relay, nlh);
		return;
	}
	if (nlh->nlmsg_type == NLMSG_DONE) {
		if (c->in_state) {
			c->in_state = false;
			reconcile(ci);
		}
		return;
	}
	if (bpfc_msg_parse(nlh, bpfc_msg_policy, BPFC_A_MAX, tb, &err)) {
		pr_warn("relay %s sent a malformed message (%s); closing it\n",
			relays[c->relay].id, err);
		reply(ci, nlh, -EBADMSG, err);
		conn_close(ci);
		return;
	}
	switch (nlh->nlmsg_type) {
	case BPFC_MSG_REGISTER:
		handle_register(ci, nlh, tb);
		break;
	case BPFC_MSG_STATE:
		c->in_state = true;
		c->n_act_streams = c->n_act_subs = 0;
		break;
	case BPFC_MSG_STREAM:
	case BPFC_MSG_SUB:
		if (c->in_state)
			collect_state(c, nlh, tb);
		break;
	case BPFC_MSG_RELAY:
		break;
	case BPFC_MSG_REPORT:
		handle_report(ci, tb);
		break;
	case BPFC_MSG_HEARTBEAT:
		reply(ci, nlh, 0, NULL);
		break;
	case BPFC_MSG_CONSENT:
		handle_consent(ci, tb);
		break;
	default:
		reply(ci, nlh, -EOPNOTSUPP, "unknown message type");
		break;
	}
}

/* ---- administration ------------------------------------------------------- */

static int admin_stream_add(const struct nlattr **tb, const char **err)
{
	struct store_stream rec = {};
	struct pol_thresholds none = {};
	int s, origin;

	if (bpfc_get_stream_spec(tb, &rec.spec, err))
		return -EINVAL;
	if (!tb[BPFC_A_ORIGIN]) {
		*err = "origin relay missing (--origin RELAY_ID)";
		return -EINVAL;
	}
	/* Ingest pinning by default: only the declared sender feeds the fleet. */
	if (!rec.spec.has_source && !(tb[BPFC_A_ANY_SOURCE] &&
				      mnl_attr_get_u8(tb[BPFC_A_ANY_SOURCE]))) {
		*err = "give the stream's sender with --source ADDR[/PLEN], or --any-source";
		return -EINVAL;
	}
	origin = relay_find(mnl_attr_get_str(tb[BPFC_A_ORIGIN]), false);
	if (origin < 0) {
		*err = "unknown relay: no agent has registered with this id";
		return -ENOENT;
	}
	s = stream_find(rec.spec.name);
	if (s >= 0) {
		if (bpfc_stream_spec_equal(&streams[s].rec.spec, &rec.spec) &&
		    streams[s].pol.origin == origin)
			return 0;
		*err = "a stream with this name exists with other settings; delete it first";
		return -EEXIST;
	}
	for (s = 0; s < MAX_STREAMS && streams[s].used; s++)
		;
	if (s == MAX_STREAMS) {
		*err = "stream table full";
		return -ENOSPC;
	}
	snprintf(rec.origin, sizeof(rec.origin), "%s", relays[origin].id);
	if (sops->put_stream(store, &rec)) {
		*err = "cannot store the stream";
		return -EIO;
	}
	streams[s].used = true;
	streams[s].rec = rec;
	pol_stream_init(&streams[s].pol, origin, &none);
	send_stream_add(origin, &rec.spec);
	ops_kick();
	return 0;
}

static int admin_stream_del(const struct nlattr **tb, const char **err)
{
	char name[BPFC_STREAM_NAME_LEN];
	int s, r, i;

	if (bpfc_get_stream_name(tb, name, err))
		return -EINVAL;
	s = stream_find(name);
	if (s < 0) {
		*err = "unknown stream";
		return -ENOENT;
	}
	if (sops->del_stream(store, name)) {
		*err = "cannot update the store";
		return -EIO;
	}
	for (r = 0; r < POL_MAX_RELAYS; r++)
		if (streams[s].pol.feeder[r] != POL_NONE)
			send_stream_del(r, name);
	for (i = 0; i < MAX_SUBS; i++)
		if (subs[i].used && subs[i].stream == s)
			subs[i].used = false;
	streams[s].used = false;
	ops_kick();
	return 0;
}

static int admin_sub_add(const struct nlattr **tb, const char **err)
{
	static char why[160];
	struct bpfc_sub_spec spec;
	int s, i, ret;

	if (bpfc_get_sub_spec(tb, &spec, err))
		return -EINVAL;
	s = stream_find(spec.stream);
	if (s < 0) {
		*err = "unknown stream";
		return -ENOENT;
	}
	*err = bpfc_subscriber_refused(&deny, &spec.ep, why, sizeof(why));
	if (*err)
		return -EINVAL;
	i = sub_find(s, &spec.ep);
	if (i >= 0) {
		if (!spec.is_static || subs[i].is_static)
			return 0;	/* idempotent */
		subs[i].is_static = true;	/* the operator vouches for it now */
		store_stream_subs(s);
		device_spec(i, &spec);
		send_sub(subs[i].relay, &spec, true);
		ops_kick();
		return 0;
	}
	i = free_sub_slot();
	if (i < 0) {
		*err = "subscription table full";
		return -ENOSPC;
	}
	memset(&subs[i], 0, sizeof(subs[i]));
	subs[i].stream = s;
	subs[i].ep = spec.ep;
	subs[i].is_static = spec.is_static;
	ret = place_device(s, i, -1, err);
	if (ret)
		subs[i].used = false;
	return ret;
}

/*
 * The token for a device, and the relay it should JOIN. The device is placed
 * by the policy now, as pending: it receives nothing until it joins there.
 */
static int admin_token(int ci, const struct nlmsghdr *req, const struct nlattr **tb,
		       const char **err)
{
	static char why[160];
	__u32 ttl = tb[BPFC_A_TTL] ? mnl_attr_get_u32(tb[BPFC_A_TTL]) : BPFC_TOKEN_TTL_S;
	char buf[512], text[BPFC_TOKEN_STRLEN];
	__u8 token[BPFC_TOKEN_LEN];
	struct bpfc_sub_spec spec;
	struct nlmsghdr *nlh;
	struct timespec now;
	int s, relay, i;

	if (!has_join_key) {
		*err = "the manager has no token key: start it with --join-key FILE";
		return -ENOKEY;
	}
	if (bpfc_get_sub_spec(tb, &spec, err))
		return -EINVAL;
	s = stream_find(spec.stream);
	if (s < 0) {
		*err = "unknown stream";
		return -ENOENT;
	}
	if (ttl == 0 || ttl > 366 * 86400) {
		*err = "token lifetime must be 1 s to 366 days";
		return -EINVAL;
	}
	*err = bpfc_subscriber_refused(&deny, &spec.ep, why, sizeof(why));
	if (*err)
		return -EINVAL;
	/* The device is authorised and placed now (pending), so its relay carries the stream. */
	i = sub_find(s, &spec.ep);
	if (i < 0) {
		i = free_sub_slot();
		if (i < 0) {
			*err = "subscription table full";
			return -ENOSPC;
		}
		memset(&subs[i], 0, sizeof(subs[i]));
		subs[i].stream = s;
		subs[i].ep = spec.ep;
		subs[i].token_until_ms = now_ms() + (__u64)ttl * 1000;
		if (place_device(s, i, -1, err)) {
			subs[i].used = false;
			return -ENOSPC;
		}
	}
	relay = subs[i].relay;
	clock_gettime(CLOCK_REALTIME, &now);
	bpfc_token_sign(&join_key, spec.stream, &spec.ep, now.tv_sec + ttl, token);
	bpfc_token_format(spec.stream, token, text);
	nlh = bpfc_msg_start(buf, BPFC_MSG_TOKEN, 0, req->nlmsg_seq);
	mnl_attr_put_strz(nlh, BPFC_A_TOKEN_TEXT, text);
	mnl_attr_put_u64(nlh, BPFC_A_EXPIRES, now.tv_sec + ttl);
	mnl_attr_put_strz(nlh, BPFC_A_RELAY, relays[relay].id);
	if (relays[relay].join_port) {
		struct bpfc_endpoint join = { .family = spec.ep.family,
					      .port = relays[relay].join_port };

		if (relay_addr(relay, spec.ep.family, &join.addr))
			bpfc_put_endpoint(nlh, BPFC_A_JOIN, &join);
	}
	if (msg_send(conns[ci].fd, nlh, nlh->nlmsg_len, 2000)) {
		*err = "cannot send";
		return -EIO;
	}
	return 0;
}

static int admin_sub_del(const struct nlattr **tb, const char **err)
{
	struct bpfc_sub_spec spec;
	int s, i;

	if (bpfc_get_sub_spec(tb, &spec, err))
		return -EINVAL;
	s = stream_find(spec.stream);
	if (s < 0) {
		*err = "unknown stream";
		return -ENOENT;
	}
	i = sub_find(s, &spec.ep);
	if (i < 0) {
		*err = "no such subscriber on this stream";
		return -ENOENT;
	}
	device_spec(i, &spec);
	send_sub(subs[i].relay, &spec, false);
	forget_device(s, i);
	ops_kick();
	try_release(s);
	return 0;
}

static int admin_thresholds(const struct nlattr **tb, const char **err)
{
	const struct nlattr *th[BPFC_TH_MAX + 1];
	char name[BPFC_STREAM_NAME_LEN];
	struct pol_thresholds t = {};
	int s, r;

	if (bpfc_get_stream_name(tb, name, err))
		return -EINVAL;
	s = stream_find(name);
	if (s < 0) {
		*err = "unknown stream";
		return -ENOENT;
	}
	if (!tb[BPFC_A_THRESHOLDS] ||
	    bpfc_nest_parse(tb[BPFC_A_THRESHOLDS], bpfc_th_policy, BPFC_TH_MAX, th, err)) {
		*err = *err ? *err : "thresholds missing";
		return -EINVAL;
	}
	t.offload_above = th[BPFC_TH_OFFLOAD_ABOVE] ? mnl_attr_get_u32(th[BPFC_TH_OFFLOAD_ABOVE]) : 0;
	t.offload_above_mbps = th[BPFC_TH_OFFLOAD_ABOVE_MBPS] ?
				       mnl_attr_get_u32(th[BPFC_TH_OFFLOAD_ABOVE_MBPS]) : 0;
	t.cease_below = th[BPFC_TH_CEASE_BELOW] ? mnl_attr_get_u32(th[BPFC_TH_CEASE_BELOW]) : 0;
	t.hold_s = th[BPFC_TH_HOLD] ? mnl_attr_get_u32(th[BPFC_TH_HOLD]) : 0;
	*err = pol_thresholds_invalid(&t);
	if (*err)
		return -EINVAL;
	streams[s].rec.th = t;
	if (sops->put_stream(store, &streams[s].rec)) {
		*err = "cannot store the thresholds";
		return -EIO;
	}
	streams[s].pol.th = t;
	/* Tell the relays carrying it; STREAM_ADD of the same stream only updates them. */
	for (r = 0; r < POL_MAX_RELAYS; r++) {
		struct bpfc_stream_spec spec;

		if (streams[s].pol.feeder[r] != POL_NONE && stream_spec_at(s, r, &spec))
			send_stream_add(r, &spec);
	}
	ops_kick();
	return 0;
}

/* Where a status dump goes: a connection, or the HTTP API's JSON builder. */
typedef int (*dump_sink)(void *ctx, const struct nlmsghdr *nlh);

static __u32 relay_egress_mbps(int r)
{
	__u32 sum = 0;
	int s;

	for (s = 0; s < MAX_STREAMS; s++)
		if (streams[s].used && streams[s].pol.feeder[r] != POL_NONE)
			sum += streams[s].pol.egress_mbps[r];
	return sum;
}

static int dump_relays(dump_sink sink, void *ctx, __u32 seq)
{
	static char buf[BPFC_MSG_MAX];
	struct nlmsghdr *nlh;
	int r, s, i, ret = 0;

	for (r = 0; r < POL_MAX_RELAYS && !ret; r++) {
		__u32 n_streams = 0, n_subs = 0;

		if (!relays[r].used)
			continue;
		for (s = 0; s < MAX_STREAMS; s++)
			n_streams += streams[s].used && streams[s].pol.feeder[r] != POL_NONE;
		for (i = 0; i < MAX_SUBS; i++)
			n_subs += subs[i].used && subs[i].relay == r;
		nlh = bpfc_msg_start(buf, BPFC_MSG_RELAY_INFO, NLM_F_MULTI, seq);
		mnl_attr_put_strz(nlh, BPFC_A_RELAY_ID, relays[r].id);
		mnl_attr_put_u8(nlh, BPFC_A_CONNECTED, relay_live(r));
		mnl_attr_put_u32(nlh, BPFC_A_COUNT_STREAMS, n_streams);
		mnl_attr_put_u32(nlh, BPFC_A_COUNT_SUBS, n_subs);
		mnl_attr_put_u32(nlh, BPFC_A_MAX_SUBS, relays[r].max_subs);
		mnl_attr_put_u32(nlh, BPFC_A_RATE_MBPS, relay_egress_mbps(r));
		ret = sink(ctx, nlh);
	}
	return ret;
}

static int dump_sub(dump_sink sink, void *ctx, __u32 seq, int i)
{
	static char buf[BPFC_MSG_MAX];
	struct bpfc_sub_spec spec;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	bool fresh;

	device_spec(i, &spec);
	fresh = spec.has_consent;
	spec.has_consent = false;	/* the nonce stays between manager and relays */
	nlh = bpfc_msg_start(buf, BPFC_MSG_SUB, NLM_F_MULTI, seq);
	bpfc_put_sub_spec(nlh, &spec);
	mnl_attr_put_strz(nlh, BPFC_A_RELAY, relays[subs[i].relay].id);
	nest = mnl_attr_nest_start(nlh, BPFC_A_CONSENT);
	mnl_attr_put_u8(nlh, BPFC_CONSENT_STATE, spec.is_static ? BPFC_CS_STATIC :
		       fresh ? BPFC_CS_FRESH : BPFC_CS_PENDING);
	if (fresh)
		mnl_attr_put_u32(nlh, BPFC_CONSENT_MS_LEFT, spec.consent_ms);
	mnl_attr_nest_end(nlh, nest);
	return sink(ctx, nlh);
}

static int dump_stream(dump_sink sink, void *ctx, __u32 seq, int s)
{
	static char buf[BPFC_MSG_MAX];
	const struct m_stream *st = &streams[s];
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	int x, i, ret;

	nlh = bpfc_msg_start(buf, BPFC_MSG_STREAM, NLM_F_MULTI, seq);
	bpfc_put_stream_spec(nlh, &st->rec.spec);
	mnl_attr_put_strz(nlh, BPFC_A_ORIGIN, relays[st->pol.origin].id);
	mnl_attr_put_u32(nlh, BPFC_A_RATE_MBPS, st->bitrate_mbps);
	nest = mnl_attr_nest_start(nlh, BPFC_A_THRESHOLDS);
	mnl_attr_put_u32(nlh, BPFC_TH_OFFLOAD_ABOVE, st->pol.th.offload_above);
	mnl_attr_put_u32(nlh, BPFC_TH_OFFLOAD_ABOVE_MBPS, st->pol.th.offload_above_mbps);
	mnl_attr_put_u32(nlh, BPFC_TH_CEASE_BELOW, st->pol.th.cease_below);
	mnl_attr_put_u32(nlh, BPFC_TH_HOLD, st->pol.th.hold_s);
	mnl_attr_nest_end(nlh, nest);
	ret = sink(ctx, nlh);
	for (x = 0; x < POL_MAX_RELAYS && !ret; x++) {
		if (x == st->pol.origin || st->pol.feeder[x] == POL_NONE)
			continue;
		nlh = bpfc_msg_start(buf, BPFC_MSG_PEER, NLM_F_MULTI, seq);
		mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, st->rec.spec.name);
		mnl_attr_put_strz(nlh, BPFC_A_FROM, relays[st->pol.feeder[x]].id);
		mnl_attr_put_strz(nlh, BPFC_A_TO, relays[x].id);
		ret = sink(ctx, nlh);
	}
	for (i = 0; i < MAX_SUBS && !ret; i++)
		if (subs[i].used && subs[i].stream == s)
			ret = dump_sub(sink, ctx, seq, i);
	return ret;
}

static int dump_events(dump_sink sink, void *ctx, __u32 seq)
{
	static char buf[1024];
	unsigned int i = n_events > MAX_EVENTS ? n_events - MAX_EVENTS : 0;
	int ret = 0;

	for (; i < n_events && !ret; i++) {
		const struct m_event *e = &events[i % MAX_EVENTS];
		struct nlmsghdr *nlh = bpfc_msg_start(buf, BPFC_MSG_EVENT, NLM_F_MULTI, seq);

		mnl_attr_put_u64(nlh, BPFC_A_TIME_MS, e->time_ms);
		if (*e->stream)
			mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, e->stream);
		mnl_attr_put_strz(nlh, BPFC_A_TEXT, e->text);
		ret = sink(ctx, nlh);
	}
	return ret;
}

/* The status dump: relays, then each stream with its peers and devices, then events. */
static int dump_to(dump_sink sink, void *ctx, __u32 seq, bool relays_only)
{
	int s, ret = dump_relays(sink, ctx, seq);

	for (s = 0; !relays_only && s < MAX_STREAMS && !ret; s++)
		if (streams[s].used)
			ret = dump_stream(sink, ctx, seq, s);
	return ret || relays_only ? ret : dump_events(sink, ctx, seq);
}

static int conn_sink(void *ctx, const struct nlmsghdr *nlh)
{
	return msg_send(conns[*(int *)ctx].fd, nlh, nlh->nlmsg_len, 2000);
}

static void dump(int ci, const struct nlmsghdr *req, bool relays_only)
{
	char buf[64];
	int ret = dump_to(conn_sink, &ci, req->nlmsg_seq, relays_only);

	if (!ret)
		ret = conn_sink(&ci, bpfc_put_done(buf, req->nlmsg_seq));
	if (ret)
		conn_close(ci);
}

static void handle_admin(int ci, const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[BPFC_A_MAX + 1];
	const char *err = NULL;
	int ret;

	ret = bpfc_msg_parse(nlh, bpfc_msg_policy, BPFC_A_MAX, tb, &err);
	if (ret) {
		reply(ci, nlh, ret, err);
		return;
	}
	switch (nlh->nlmsg_type) {
	case BPFC_MSG_STREAM_ADD:
		ret = admin_stream_add(tb, &err);
		break;
	case BPFC_MSG_STREAM_DEL:
		ret = admin_stream_del(tb, &err);
		break;
	case BPFC_MSG_SUB_ADD:
		ret = admin_sub_add(tb, &err);
		break;
	case BPFC_MSG_SUB_DEL:
		ret = admin_sub_del(tb, &err);
		break;
	case BPFC_MSG_THRESHOLDS_SET:
		ret = admin_thresholds(tb, &err);
		break;
	case BPFC_MSG_TOKEN_GET:
		ret = admin_token(ci, nlh, tb, &err);
		break;
	case BPFC_MSG_STATUS_GET:
	case BPFC_MSG_RELAYS_GET:
		dump(ci, nlh, nlh->nlmsg_type == BPFC_MSG_RELAYS_GET);
		return;
	case BPFC_MSG_HEARTBEAT:
		ret = 0;
		break;
	default:
		ret = -EOPNOTSUPP;
		err = "unknown message type";
		break;
	}
	reply(ci, nlh, ret, ret ? err : NULL);
}

static void conn_read(int ci);
static void conn_refuse(int ci);

/* TLS first: nothing the peer sends is parsed before its certificate checks out. */
static bool conn_handshake(int ci)
{
	struct conn *c = &conns[ci];
	char err[256];
	int rc = bpfc_tls_accept_step(tls_ctx, c->fd, err, sizeof(err));

	if (rc == 0)
		return false;
	if (rc < 0 || !bpfc_tls_peer(c->fd, c->cert_role, sizeof(c->cert_role), c->cert_cn,
				     sizeof(c->cert_cn))) {
		pr_warn("refused a connection: %s\n", rc < 0 ? err : "no valid certificate");
		conn_close(ci);
		return false;
	}
	if (strcmp(c->cert_role, "agent") && strcmp(c->cert_role, "admin")) {
		pr_warn("refused a certificate with role (OU) '%s' (CN %s): want agent or admin\n",
			c->cert_role, c->cert_cn);
		conn_close(ci);
		return false;
	}
	c->tls_done = true;
	return true;
}

static void conn_input(int ci)
{
	struct conn *c = &conns[ci];

	if (!c->tls_done && !conn_handshake(ci))
		return;
	do
		conn_read(ci);
	while (c->fd >= 0 && msg_pending(c->fd));
}

/*
 * After a refusal: our answer is sent; stop sending and discard input until
 * the peer closes (or tick gives up). Closing with unread input would reset
 * the connection and could destroy the answer before the peer reads it.
 */
static void conn_refuse(int ci)
{
	struct conn *c = &conns[ci];
	SSL *ssl = msg_tls_of(c->fd);

	if (c->fd < 0)
		return;
	if (ssl)
		SSL_shutdown(ssl);
	shutdown(c->fd, SHUT_WR);
	c->closing = true;
	c->last_rx_ms = now_ms();
}

static void conn_discard(int ci)
{
	struct conn *c = &conns[ci];
	int n;

	c->rx.len = c->rx.off = 0;
	n = msg_rx_fill(&c->rx, c->fd);
	c->rx.len = 0;
	if (n == 0 || (n < 0 && n != -EAGAIN))
		conn_close(ci);
}

static void conn_read(int ci)
{
	struct conn *c = &conns[ci];
	const struct nlmsghdr *nlh;
	int n, err;

	if (c->closing) {
		conn_discard(ci);
		return;
	}
	n = msg_rx_fill(&c->rx, c->fd);
	if (n == 0 || (n < 0 && n != -EAGAIN)) {
		conn_close(ci);
		return;
	}
	c->last_rx_ms = now_ms();
	while (c->fd >= 0 && (nlh = msg_rx_next(&c->rx, &err))) {
		if (!c->role) {
			const struct nlattr *tb[BPFC_A_MAX + 1];
			const char *perr;

			if (nlh->nlmsg_type != BPFC_MSG_HELLO ||
			    bpfc_msg_parse(nlh, bpfc_msg_policy, BPFC_A_MAX, tb, &perr)) {
				reply(ci, nlh, -EPROTO, "HELLO must come first");
				conn_refuse(ci);
				return;
			}
			if (handle_hello(ci, nlh, tb)) {
				conn_refuse(ci);
				return;
			}
			continue;
		}
		if (c->role == BPFC_ROLE_AGENT)
			handle_agent(ci, nlh);
		else
			handle_admin(ci, nlh);
	}
	if (c->fd >= 0 && err) {
		pr_warn("a peer sent a %s message; closing its connection\n",
			err == -EMSGSIZE ? "too large" : "malformed");
		conn_close(ci);
	}
}

/* ---- state from the store ------------------------------------------------- */

static int load_stream(void *ctx, const struct store_stream *rec)
{
	int s, origin = relay_find(rec->origin, true);

	for (s = 0; s < MAX_STREAMS && streams[s].used; s++)
		;
	if (s == MAX_STREAMS || origin < 0)
		return -ENOSPC;
	streams[s].used = true;
	streams[s].rec = *rec;
	pol_stream_init(&streams[s].pol, origin, &rec->th);
	return 0;
}

static int load_peer(void *ctx, const struct store_peer *p)
{
	int s = stream_find(p->stream), from = relay_find(p->from, true), to = relay_find(p->to, true);

	if (s >= 0 && from >= 0 && to >= 0)
		streams[s].pol.feeder[to] = from;
	return 0;
}

static int load_sub(void *ctx, const struct store_sub *rec)
{
	int s = stream_find(rec->stream), r = relay_find(rec->relay, true), i;

	for (i = 0; i < MAX_SUBS && subs[i].used; i++)
		;
	if (s < 0 || r < 0 || i == MAX_SUBS)
		return 0;
	memset(&subs[i], 0, sizeof(subs[i]));
	subs[i].used = true;
	subs[i].stream = s;
	subs[i].ep = rec->ep;
	subs[i].relay = r;
	subs[i].is_static = rec->is_static;
	streams[s].pol.devices[r]++;
	return 0;
}

static int load_relay(void *ctx, const struct store_relay *sr)
{
	int r = relay_find(sr->id, true);

	if (r < 0)
		return -ENOSPC;
	relays[r].has4 = sr->has4;
	relays[r].has6 = sr->has6;
	relays[r].a4 = sr->a4;
	relays[r].a6 = sr->a6;
	relays[r].max_subs = sr->max_subs;
	relays[r].max_mbps = sr->max_mbps;
	return 0;
}

/* ---- HTTP: metrics, API, dashboard ------------------------------------------ */

/* The dashboard page, built in (user/manager/dashboard.c). */
extern const char bpfc_dashboard_html[];
extern const unsigned int bpfc_dashboard_html_len;

static int json_sink(void *ctx, const struct nlmsghdr *nlh)
{
	const char *err;

	return bpfc_fleet_json_add(ctx, nlh, &err) ? -EBADMSG : 0;
}

#define METRIC(b, name, type, help) \
	bpfc_buf_printf(b, "# HELP " name " " help "\n# TYPE " name " " type "\n")

static void metrics_relays(struct bpfc_buf *b)
{
	int r, i, up = 0, down = 0;
	__u32 devices[POL_MAX_RELAYS] = {};

	for (i = 0; i < MAX_SUBS; i++)
		if (subs[i].used)
			devices[subs[i].relay]++;
	for (r = 0; r < POL_MAX_RELAYS; r++)
		if (relays[r].used)
			relay_live(r) ? up++ : down++;
	METRIC(b, "bpfcast_manager_relays", "gauge", "Relays known to the manager, by state.");
	bpfc_buf_printf(b, "bpfcast_manager_relays{state=\"connected\"} %d\n", up);
	bpfc_buf_printf(b, "bpfcast_manager_relays{state=\"disconnected\"} %d\n", down);
	METRIC(b, "bpfcast_relay_up", "gauge", "1 while a relay is connected and reconciled.");
	for (r = 0; r < POL_MAX_RELAYS; r++)
		if (relays[r].used)
			bpfc_buf_printf(b, "bpfcast_relay_up{relay=\"%s\"} %d\n", relays[r].id,
					relay_live(r));
	METRIC(b, "bpfcast_relay_devices", "gauge", "Devices the manager has placed on a relay.");
	for (r = 0; r < POL_MAX_RELAYS; r++)
		if (relays[r].used)
			bpfc_buf_printf(b, "bpfcast_relay_devices{relay=\"%s\"} %u\n", relays[r].id,
					devices[r]);
	METRIC(b, "bpfcast_relay_capacity_devices", "gauge", "A relay's registered capacity.");
	for (r = 0; r < POL_MAX_RELAYS; r++)
		if (relays[r].used)
			bpfc_buf_printf(b, "bpfcast_relay_capacity_devices{relay=\"%s\"} %u\n",
					relays[r].id, relays[r].max_subs);
}

static void metrics_streams(struct bpfc_buf *b)
{
	int s, r, i;

	METRIC(b, "bpfcast_stream_ingest_bytes_per_second", "gauge",
	       "A stream's rate at its origin relay.");
	for (s = 0; s < MAX_STREAMS; s++)
		if (streams[s].used)
			bpfc_buf_printf(b, "bpfcast_stream_ingest_bytes_per_second{stream=\"%s\"} %llu\n",
					streams[s].rec.spec.name,
					(unsigned long long)streams[s].rx_bps / 8);
	METRIC(b, "bpfcast_stream_egress_bytes_per_second", "gauge",
	       "What a relay sends of a stream, devices and peers together.");
	for (s = 0; s < MAX_STREAMS; s++)
		for (r = 0; streams[s].used && r < POL_MAX_RELAYS; r++)
			if (streams[s].pol.feeder[r] != POL_NONE)
				bpfc_buf_printf(b, "bpfcast_stream_egress_bytes_per_second{stream=\"%s\","
						"relay=\"%s\"} %llu\n", streams[s].rec.spec.name,
						relays[r].id,
						(unsigned long long)streams[s].tx_bps[r] / 8);
	METRIC(b, "bpfcast_stream_devices", "gauge", "Devices of a stream on each relay of its tree.");
	for (s = 0; s < MAX_STREAMS; s++)
		for (r = 0; streams[s].used && r < POL_MAX_RELAYS; r++)
			if (streams[s].pol.feeder[r] != POL_NONE)
				bpfc_buf_printf(b, "bpfcast_stream_devices{stream=\"%s\",relay=\"%s\"} "
						"%u\n", streams[s].rec.spec.name, relays[r].id,
						streams[s].pol.devices[r]);
	METRIC(b, "bpfcast_stream_consent_devices", "gauge",
	       "Devices of a stream by consent: static, pending (not joined) or fresh.");
	for (s = 0; s < MAX_STREAMS; s++) {
		__u32 st = 0, pending = 0, fresh = 0;

		if (!streams[s].used)
			continue;
		for (i = 0; i < MAX_SUBS; i++) {
			if (!subs[i].used || subs[i].stream != s)
				continue;
			if (subs[i].is_static)
				st++;
			else if (subs[i].consent_until_ms > now_ms())
				fresh++;
			else
				pending++;
		}
		bpfc_buf_printf(b, "bpfcast_stream_consent_devices{stream=\"%s\",consent=\"static\"} %u\n"
				"bpfcast_stream_consent_devices{stream=\"%s\",consent=\"pending\"} %u\n"
				"bpfcast_stream_consent_devices{stream=\"%s\",consent=\"fresh\"} %u\n",
				streams[s].rec.spec.name, st, streams[s].rec.spec.name, pending,
				streams[s].rec.spec.name, fresh);
	}
	METRIC(b, "bpfcast_stream_offloads_total", "counter",
	       "Relays brought into a stream's tree since the manager started.");
	for (s = 0; s < MAX_STREAMS; s++)
		if (streams[s].used)
			bpfc_buf_printf(b, "bpfcast_stream_offloads_total{stream=\"%s\"} %llu\n",
					streams[s].rec.spec.name,
					(unsigned long long)streams[s].offloads);
	METRIC(b, "bpfcast_stream_releases_total", "counter",
	       "Peer relays released from a stream's tree since the manager started.");
	for (s = 0; s < MAX_STREAMS; s++)
		if (streams[s].used)
			bpfc_buf_printf(b, "bpfcast_stream_releases_total{stream=\"%s\"} %llu\n",
					streams[s].rec.spec.name,
					(unsigned long long)streams[s].releases);
}

static void metrics(struct bpfc_buf *b)
{
	metrics_relays(b);
	metrics_streams(b);
	METRIC(b, "bpfcast_manager_instructions_total", "counter",
	       "Instructions sent to agents since the manager started.");
	bpfc_buf_printf(b, "bpfcast_manager_instructions_total %llu\n",
			(unsigned long long)n_instructions);
	METRIC(b, "bpfcast_manager_instructions_pending", "gauge",
	       "Instructions queued, waiting for an agent's acknowledgement.");
	bpfc_buf_printf(b, "bpfcast_manager_instructions_pending %zu\n", ops_tail - ops_head);
	METRIC(b, "bpfcast_manager_events_total", "counter",
	       "Offloads, releases, joins, departures and relay connections recorded.");
	bpfc_buf_printf(b, "bpfcast_manager_events_total %u\n", n_events);
}

static unsigned int http_handler(void *ctx, const char *url, struct bpfc_buf *body,
				 const char **type)
{
	if (!strcmp(url, "/metrics")) {
		metrics(body);
		*type = "text/plain; version=0.0.4; charset=utf-8";
		return 200;
	}
	if (!strcmp(url, "/api/status")) {
		json_object *root = bpfc_fleet_json_new();

		dump_to(json_sink, root, 0, false);
		bpfc_buf_printf(body, "%s\n", json_object_to_json_string_ext(root,
				JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(root);
		*type = "application/json";
		return 200;
	}
	if (!strcmp(url, "/") || !strcmp(url, "/index.html")) {
		bpfc_buf_printf(body, "%.*s", (int)bpfc_dashboard_html_len, bpfc_dashboard_html);
		*type = "text/html; charset=utf-8";
		return 200;
	}
	bpfc_buf_printf(body, "not found: try /, /api/status or /metrics\n");
	return 404;
}

/* ---- main ------------------------------------------------------------------ */

static void accept_conn(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), i;
	struct epoll_event ev = { .events = EPOLLIN };

	if (fd < 0)
		return;
	for (i = 0; i < MAX_CONNS && conns[i].fd >= 0; i++)
		;
	if (i == MAX_CONNS) {
		close(fd);
		return;
	}
	memset(&conns[i], 0, offsetof(struct conn, rx));
	conns[i].fd = fd;
	conns[i].tls_done = !tls_ctx;
	conns[i].relay = -1;
	conns[i].last_rx_ms = now_ms();
	conns[i].rx.len = conns[i].rx.off = 0;
	ev.data.u32 = i;
	epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* Half-open connections, instruction timeouts, and releases whose hold ran out. */
static void tick(void)
{
	int i;

	for (i = 0; i < MAX_CONNS; i++) {
		if (conns[i].fd >= 0 && (!conns[i].role || conns[i].closing) &&
		    now_ms() - conns[i].last_rx_ms > BPFC_DEAD_MS) {
			conn_close(i);	/* no handshake or HELLO in time, or a refused peer lingers */
			continue;
		}
		if (conns[i].fd >= 0 && conns[i].role == BPFC_ROLE_AGENT &&
		    now_ms() - conns[i].last_rx_ms > BPFC_DEAD_MS) {
			pr_warn("relay %s silent for %d ms; closing\n", relays[conns[i].relay].id,
				BPFC_DEAD_MS);
			conn_close(i);
		}
	}
	drop_unjoined();
	ops_kick();
	for (i = 0; i < MAX_STREAMS; i++)
		if (streams[i].used && ops_head == ops_tail)
			try_release(i);
}

static const char usage[] =
	"Usage: bpfcast-manager --listen ADDR:PORT --db PATH [options]\n"
	"       bpfcast-manager -c FILE [options]\n"
	"Keeps the fleet's streams, subscriptions and thresholds in the SQLite file\n"
	"at PATH and steers the agents that connect to ADDR:PORT.\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE   settings file: any long option below as NAME VALUE\n"
	"                      (dist/manager.conf.example); the command line wins\n"
	"  --listen ADDR:PORT  where agents and bpfcastctl connect\n"
	"  --db PATH           the SQLite state file\n"
	"  --deny PREFIX       refuse subscribers in PREFIX, on top of the defaults\n"
	"                      (repeatable)\n"
	"  --join-key FILE     token key (mode 0600) for 'bpfcastctl token'; relays\n"
	"                      verify tokens with the same key\n"
	"  --ca FILE           the fleet's CA: agents and administrators must present\n"
	"                      certificates it issued (TLS 1.3; see tools/certs)\n"
	"  --cert FILE         the manager's certificate\n"
	"  --key FILE          its key (mode 0600)\n"
	"  --insecure          plain TCP instead of TLS: anyone who reaches ADDR:PORT\n"
	"                      steers the fleet\n"
	"  --http ADDR:PORT    serve the dashboard (/), /api/status (JSON, the schema of\n"
	"                      'bpfcastctl status --json') and /metrics (Prometheus)\n"
	"  --check             check the options and the config file, then exit\n"
	"  -v, --verbose       more messages\n"
	"  -h, --help          this text\n";

static const struct option options[] = {
	{ "config", required_argument, NULL, 'c' }, { "listen", required_argument, NULL, 'l' },
	{ "db", required_argument, NULL, 'd' }, { "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' }, { "deny", required_argument, NULL, 'D' },
	{ "join-key", required_argument, NULL, 'K' }, { "ca", required_argument, NULL, 'A' },
	{ "cert", required_argument, NULL, 'C' }, { "key", required_argument, NULL, 'k' },
	{ "insecure", no_argument, NULL, 'I' }, { "http", required_argument, NULL, 'H' },
	{ "check", no_argument, NULL, 'T' }, {}
};

struct opts {
	const char *config, *listen, *db, *http;
	struct bpfc_tls_files tls;
	int verbose;
	bool check;
	bool given[128];		/* by option letter: the command line said it */
};

static int apply_option(struct opts *o, int opt, const char *arg)
{
	struct bpfc_endpoint ep;
	char err[256];

	if ((opt == 'l' || opt == 'H') && bpfc_parse_endpoint(arg, &ep)) {
		pr_warn("--%s '%s': want ADDR:PORT or [IPV6]:PORT\n", opt == 'l' ? "listen" : "http",
			arg);
		return 1;
	}
	switch (opt) {
	case 'c': o->config = arg; return 0;
	case 'l': o->listen = arg; return 0;
	case 'd': o->db = arg; return 0;
	case 'v': o->verbose++; return 0;
	case 'A': o->tls.ca = arg; return 0;
	case 'C': o->tls.cert = arg; return 0;
	case 'k': o->tls.key = arg; return 0;
	case 'I': o->tls.insecure = true; return 0;
	case 'H': o->http = arg; return 0;
	case 'T': o->check = true; return 0;
	case 'D':
		if (bpfc_denylist_add(&deny, arg, "--deny")) {
			pr_warn("--deny '%s': want ADDR or ADDR/PLEN\n", arg);
			return 1;
		}
		return 0;
	case 'K':
		if (bpfc_key_load(arg, &join_key, err, sizeof(err))) {
			pr_warn("--join-key: %s\n", err);
			return 1;
		}
		has_join_key = true;
		return 0;
	default:
		fputs(usage, stderr);
		return 1;
	}
}

/* Settings from -c FILE, where the command line did not say otherwise. */
static int apply_config(struct opts *o)
{
	static struct bpfc_config cfg;	/* settings' values outlive this call */
	char err[256];
	int i;

	if (bpfc_config_load_ex(o->config, options, false, &cfg, err, sizeof(err))) {
		pr_warn("%s: %s\n", o->config, err);
		return 1;
	}
	for (i = 0; i < cfg.n_settings; i++) {
		const struct bpfc_setting *st = &cfg.settings[i];

		if (st->opt == 'c' || st->opt == 'h' || st->opt == 'T') {
			pr_warn("%s: line %d: '%s' belongs on the command line\n", o->config,
				st->line, st->name);
			return 1;
		}
		if (o->given[st->opt & 127] && st->opt != 'D')
			continue;
		if (apply_option(o, st->opt, st->value)) {
			pr_warn("%s: line %d: the '%s' setting is not valid (see above)\n", o->config,
				st->line, st->name);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct store_visitor loader = { load_stream, load_sub, load_peer, load_relay };
	struct epoll_event ev = { .events = EPOLLIN }, evs[32];
	struct bpfc_http *http = NULL;
	static struct opts o;
	int opt, lfd, sfd, i;
	__u64 last_tick = 0;
	char err[256];
	sigset_t set;

	bpfc_log_init("bpfcast-manager", LOG_LVL_INFO);
	/* OpenSSL writes with write(): a peer gone mid-write must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	bpfc_denylist_defaults(&deny);
	while ((opt = getopt_long(argc, argv, "c:vh", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		if (apply_option(&o, opt, optarg))
			return 1;
		o.given[opt & 127] = true;
	}
	if (optind < argc) {
		pr_warn("unexpected argument '%s'; see --help\n", argv[optind]);
		return 1;
	}
	if (o.config && apply_config(&o))
		return 1;
	bpfc_log_init("bpfcast-manager", LOG_LVL_INFO + o.verbose);
	if (!o.listen || !o.db) {
		pr_warn("need --listen ADDR:PORT and --db PATH (or 'listen' and 'db' in -c FILE); "
			"see --help\n");
		return 1;
	}
	if (bpfc_tls_files_invalid(&o.tls)) {
		pr_warn("%s\n", bpfc_tls_files_invalid(&o.tls));
		return 1;
	}
	if (o.tls.insecure) {
		pr_warn("--insecure: plain TCP; anyone who reaches %s can steer the fleet\n",
			o.listen);
	} else {
		tls_ctx = bpfc_tls_ctx(&o.tls, true, err, sizeof(err));
		if (!tls_ctx) {
			pr_warn("TLS: %s\n", err);
			return 1;
		}
	}
	if (o.check) {
		printf("%s: ok\n", o.config ? o.config : "options");
		return 0;
	}
	for (i = 0; i < MAX_CONNS; i++)
		conns[i].fd = -1;
	store = sops->open(o.db, err, sizeof(err));
	if (!store) {
		pr_warn("cannot open the store: %s\n", err);
		return 1;
	}
	if (sops->load(store, &loader, NULL)) {
		pr_warn("cannot read the store %s\n", o.db);
		return 1;
	}
	lfd = msg_listen_tcp(o.listen);
	if (lfd < 0) {
		pr_warn("cannot listen on %s: %s\n", o.listen, strerror(-lfd));
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	ev.data.u32 = MAX_CONNS;
	epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
	ev.data.u32 = MAX_CONNS + 1;
	epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
	if (o.http) {
		http = bpfc_http_start(o.http, http_handler, NULL, err, sizeof(err));
		if (!http) {
			pr_warn("--http: %s\n", err);
			return 1;
		}
		ev.data.u32 = MAX_CONNS + 2;
		epoll_ctl(epfd, EPOLL_CTL_ADD, bpfc_http_fd(http), &ev);
		pr_info("dashboard at http://%s/, metrics at /metrics\n", o.http);
	}
	pr_info("listening on %s, state in %s\n", o.listen, o.db);
	sd_notify(0, "READY=1");

	for (;;) {
		int n = epoll_wait(epfd, evs, 32, 250);

		for (i = 0; i < n; i++) {
			__u32 id = evs[i].data.u32;

			if (id == MAX_CONNS)
				accept_conn(lfd);
			else if (id == MAX_CONNS + 1)
				goto out;
			else if (id == MAX_CONNS + 2)
				bpfc_http_run(http);
			else if (conns[id].fd >= 0)
				conn_input(id);
		}
		if (now_ms() - last_tick >= 500) {
			last_tick = now_ms();
			tick();
			bpfc_http_run(http);	/* its timeouts */
		}
	}
out:
	sd_notify(0, "STOPPING=1");
	pr_info("stopping; agents keep forwarding on their last state\n");
	bpfc_http_stop(http);
	sops->close(store);
	return 0;
}
