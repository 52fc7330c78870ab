// SPDX-License-Identifier: GPL-2.0
/* bpfcastctl: manage streams and subscribers of a bpfcast relay. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <json-c/json.h>
#include "addr.h"
#include "consent.h"
#include "denylist.h"
#include "fleet_json.h"
#include "log.h"
#include "msgio.h"
#include "policy.h"
#include "tls.h"
#include "tlv.h"

#define DEFAULT_AGENT "/run/bpfcast/agent.sock"

static const char usage[] =
	"Usage: bpfcastctl [--agent PATH | --manager ADDR:PORT] COMMAND ...\n"
	"\n"
	"Commands:\n"
	"  stream add NAME --ingest ADDR:PORT [--source ADDR[/PLEN]] [--egress-port PORT]\n"
	"             [--max-subs N] [--max-mbps N]\n"
	"  stream del NAME\n"
	"  sub add NAME ADDR:PORT [--static | --peer]\n"
	"  sub del NAME ADDR:PORT\n"
	"  token NAME ADDR:PORT [--ttl SECONDS]\n"
	"  key create FILE\n"
	"  status [--json | --watch]\n"
	"A subscriber receives only after its device JOINs (bpfcast-join) and while it\n"
	"keeps its consent alive; --static skips that, on the operator's word.\n"
	"With --manager, also:\n"
	"  stream add NAME --origin RELAY_ID --ingest ADDR:PORT --source ADDR[/PLEN]|--any-source\n"
	"  thresholds STREAM --offload-above N [--offload-above-mbps X] --cease-below M\n"
	"             [--hold SECONDS]\n"
	"  relays\n"
	"\n"
	"IPv6 endpoints are written [2001:2::5]:6000.\n"
	"Options:\n"
	"  --agent PATH   the agent's control socket (default " DEFAULT_AGENT ")\n"
	"  --manager ADDR:PORT  the fleet's bpfcast-manager; the manager picks relays\n"
	"  --ca FILE      with --manager: the fleet's CA (TLS 1.3; see tools/certs)\n"
	"  --cert FILE    with --manager: an administrator's certificate (OU=admin)\n"
	"  --key FILE     with --manager: its key (mode 0600)\n"
	"  --insecure     with --manager: plain TCP instead of TLS\n"
	"  -h, --help     this text\n";

static const char *agent_path = DEFAULT_AGENT;
static const char *manager_addr;
static struct bpfc_tls_files tls_files;
static int sock = -1;
static __u32 seq;

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("bpfcastctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int recv_msg(struct nlmsghdr **out);
static int send_msg(struct nlmsghdr *nlh);

/* TCP to the manager, then HELLO as an administrator. */
static int connect_manager(void)
{
	struct nlmsghdr *nlh, *ans;
	char req[128];
	const char *msg;
	int err;

	if (bpfc_tls_files_invalid(&tls_files))
		return fail("--manager: %s", bpfc_tls_files_invalid(&tls_files));
	sock = msg_connect_tcp(manager_addr, 0);
	if (sock < 0)
		return fail("cannot reach the manager at %s: %s", manager_addr, strerror(-sock));
	if (!tls_files.insecure) {
		char why[300];
		SSL_CTX *ctx = bpfc_tls_ctx(&tls_files, false, why, sizeof(why));

		if (!ctx || bpfc_tls_connect(ctx, sock, manager_addr, 10000, why, sizeof(why)))
			return fail("TLS to the manager at %s: %s", manager_addr, why);
	}
	nlh = bpfc_msg_start(req, BPFC_MSG_HELLO, NLM_F_REQUEST | NLM_F_ACK, 0);
	mnl_attr_put_u32(nlh, BPFC_A_VERSION, BPFC_PROTO_VERSION);
	mnl_attr_put_u8(nlh, BPFC_A_ROLE, BPFC_ROLE_ADMIN);
	if (send_msg(nlh) || recv_msg(&ans))
		return 1;
	err = bpfc_get_ack(ans, &msg);
	if (err)
		return fail("the manager refused us: %s", msg ? msg : strerror(-err));
	return 0;
}

static int connect_agent(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (manager_addr)
		return connect_manager();
	if (strlen(agent_path) >= sizeof(sun.sun_path))
		return fail("agent socket path is too long");
	strcpy(sun.sun_path, agent_path);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&sun, sizeof(sun)))
		return fail("cannot reach the agent at %s: %s (is bpfcast-agent running? "
			    "use --agent PATH or --manager ADDR:PORT)", agent_path, strerror(errno));
	return 0;
}

/* TLS 1.3 clients learn that their certificate was refused only at the next read or write. */
static const char *tls_hint(void)
{
	return msg_tls_of(sock) ? " (does it accept our certificate?)" : "";
}

static int send_msg(struct nlmsghdr *nlh)
{
	int err = msg_send(sock, nlh, nlh->nlmsg_len, 10000);

	return err ? fail("cannot send to the %s: %s%s", manager_addr ? "manager" : "agent",
			  strerror(-err), tls_hint()) : 0;
}

/* The next whole message from the agent or manager. */
static int recv_msg(struct nlmsghdr **out)
{
	static struct msg_rx rx;
	const struct nlmsghdr *nlh;
	int err, n;

	for (;;) {
		nlh = msg_rx_next(&rx, &err);
		if (nlh) {
			*out = (struct nlmsghdr *)nlh;
			return 0;
		}
		if (err)
			return fail("malformed answer from %s", manager_addr ? "the manager" :
									  "the agent");
		n = msg_rx_fill(&rx, sock);
		if (n == -EAGAIN) {
			struct pollfd pfd = { .fd = sock, .events = POLLIN };

			if (poll(&pfd, 1, 10000) <= 0)
				return fail("no answer within 10 s");
			continue;
		}
		if (n <= 0)
			return fail("the %s closed the connection%s", manager_addr ? "manager" : "agent",
				    tls_hint());
	}
}

/* Send a request and wait for its ACK; print the agent's reason on error. */
static int transact(struct nlmsghdr *nlh, const char *what)
{
	struct nlmsghdr *ans;
	const char *msg;
	int err;

	if (connect_agent() || send_msg(nlh) || recv_msg(&ans))
		return 1;
	err = bpfc_get_ack(ans, &msg);
	if (err)
		return fail("%s: %s", what, msg ? msg : strerror(-err));
	return 0;
}

static struct nlmsghdr *request(void *buf, __u16 type, __u16 flags)
{
	return bpfc_msg_start(buf, type, NLM_F_REQUEST | flags, ++seq);
}

static int parse_sub_args(int argc, char **argv, struct bpfc_sub_spec *s, bool is_add)
{
	static const struct option opts[] = {
		{ "peer", no_argument, NULL, 'p' },
		{ "static", no_argument, NULL, 's' },
		{}
	};
	const char *use = is_add ? "usage: sub add NAME ADDR:PORT [--static | --peer]" :
				   "usage: sub del NAME ADDR:PORT";
	char whybuf[160];
	const char *why;
	int opt;

	memset(s, 0, sizeof(*s));
	optind = 0;	/* 0: GNU getopt starts afresh, permuting options after operands */
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (!is_add || opt == '?')
			return fail("%s", use);
		if (opt == 'p')
			s->kind = BPFC_SUB_PEER;
		else
			s->is_static = true;
	}
	if (s->is_static && s->kind == BPFC_SUB_PEER)
		return fail("--static and --peer: a peer is always static");
	if (argc - optind != 2)
		return fail("%s", use);
	why = bpfc_stream_name_invalid(argv[optind]);
	if (why)
		return fail("'%s': %s", argv[optind], why);
	strcpy(s->stream, argv[optind]);
	if (bpfc_parse_endpoint(argv[optind + 1], &s->ep))
		return fail("'%s' is not ADDR:PORT (IPv6: [ADDR]:PORT, port 1-65535)",
			    argv[optind + 1]);
	why = bpfc_subscriber_refused(NULL, &s->ep, whybuf, sizeof(whybuf));
	if (why && is_add)
		return fail("'%s': %s", argv[optind + 1], why);
	return 0;
}

/* token NAME ADDR:PORT [--ttl S]: the agent (or manager) signs it with its key. */
static int cmd_token(int argc, char **argv)
{
	static const struct option opts[] = { { "ttl", required_argument, NULL, 't' }, {} };
	static const char use[] = "usage: token NAME ADDR:PORT [--ttl SECONDS]";
	const struct nlattr *tb[BPFC_A_MAX + 1];
	struct bpfc_sub_spec s = {};
	char buf[512], whybuf[160], ep[BPFC_ENDPOINT_STRLEN];
	__u32 ttl = BPFC_TOKEN_TTL_S;
	struct nlmsghdr *nlh, *ans;
	const char *why;
	int opt, err;

	optind = 0;	/* 0: GNU getopt starts afresh, permuting options after operands */
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt != 't' || bpfc_parse_u32(optarg, 1, 366 * 86400, &ttl))
			return fail("%s (--ttl: 1 s to 366 days)", use);
	}
	if (argc - optind != 2)
		return fail("%s", use);
	why = bpfc_stream_name_invalid(argv[optind]);
	if (why)
		return fail("'%s': %s", argv[optind], why);
	strcpy(s.stream, argv[optind]);
	if (bpfc_parse_endpoint(argv[optind + 1], &s.ep))
		return fail("'%s' is not ADDR:PORT (IPv6: [ADDR]:PORT)", argv[optind + 1]);
	why = bpfc_subscriber_refused(NULL, &s.ep, whybuf, sizeof(whybuf));
	if (why)
		return fail("'%s': %s", argv[optind + 1], why);
	nlh = request(buf, BPFC_MSG_TOKEN_GET, NLM_F_ACK);
	bpfc_put_sub_spec(nlh, &s);
	mnl_attr_put_u32(nlh, BPFC_A_TTL, ttl);
	if (connect_agent() || send_msg(nlh))
		return 1;
	for (;;) {
		const char *msg;

		if (recv_msg(&ans))
			return 1;
		if (ans->nlmsg_type == NLMSG_ERROR) {
			err = bpfc_get_ack(ans, &msg);
			return err ? fail("cannot issue a token: %s", msg ? msg : strerror(-err)) : 0;
		}
		if (ans->nlmsg_type != BPFC_MSG_TOKEN ||
		    bpfc_msg_parse(ans, bpfc_msg_policy, BPFC_A_MAX, tb, &msg) ||
		    !tb[BPFC_A_TOKEN_TEXT])
			return fail("malformed answer to the token request");
		printf("token   %s\n", mnl_attr_get_str(tb[BPFC_A_TOKEN_TEXT]));
		if (tb[BPFC_A_EXPIRES])
			printf("expires %" PRIu64 "\n", (uint64_t)mnl_attr_get_u64(tb[BPFC_A_EXPIRES]));
		if (tb[BPFC_A_RELAY])
			printf("relay   %s\n", mnl_attr_get_str(tb[BPFC_A_RELAY]));
		if (tb[BPFC_A_JOIN]) {
			struct bpfc_endpoint join;

			if (!bpfc_get_endpoint(tb[BPFC_A_JOIN], &join, &msg))
				printf("join    %s\n", bpfc_endpoint_str(&join, ep, sizeof(ep)));
		}
	}
}

/* key create FILE: a token key, mode 0600, for --join-key. */
static int cmd_key(int argc, char **argv)
{
	char err[256];

	if (argc != 3 || strcmp(argv[1], "create"))
		return fail("usage: key create FILE");
	if (bpfc_key_create(argv[2], err, sizeof(err)))
		return fail("%s", err);
	return 0;
}

static int cmd_sub(int argc, char **argv)
{
	char buf[BPFC_MSG_MAX];
	struct bpfc_sub_spec s;
	struct nlmsghdr *nlh;
	bool add;

	if (argc < 2 || (strcmp(argv[1], "add") && strcmp(argv[1], "del")))
		return fail("usage: sub add|del NAME ADDR:PORT");
	add = !strcmp(argv[1], "add");
	if (parse_sub_args(argc - 1, argv + 1, &s, add))
		return 1;
	nlh = request(buf, add ? BPFC_MSG_SUB_ADD : BPFC_MSG_SUB_DEL, 0);
	bpfc_put_sub_spec(nlh, &s);
	return transact(nlh, add ? "cannot add the subscriber" : "cannot delete the subscriber");
}

static int cmd_stream(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ingest", required_argument, NULL, 'i' },
		{ "source", required_argument, NULL, 's' },
		{ "egress-port", required_argument, NULL, 'e' },
		{ "origin", required_argument, NULL, 'o' },
		{ "any-source", no_argument, NULL, 'A' },
		{ "max-subs", required_argument, NULL, 'S' },
		{ "max-mbps", required_argument, NULL, 'M' },
		{}
	};
	struct bpfc_stream_spec s = {};
	const char *origin = NULL;
	bool any_source = false;
	char buf[BPFC_MSG_MAX];
	struct nlmsghdr *nlh;
	const char *why;
	int opt;

	if (argc < 3 || (strcmp(argv[1], "add") && strcmp(argv[1], "del")))
		return fail("usage: stream add NAME --ingest ADDR:PORT [--source ADDR[/PLEN]] "
			    "[--egress-port PORT] | stream del NAME");
	why = bpfc_stream_name_invalid(argv[2]);
	if (why)
		return fail("'%s': %s", argv[2], why);
	strcpy(s.name, argv[2]);
	if (!strcmp(argv[1], "del")) {
		if (argc != 3)
			return fail("usage: stream del NAME");
		nlh = request(buf, BPFC_MSG_STREAM_DEL, 0);
		mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, s.name);
		return transact(nlh, "cannot delete the stream");
	}
	optind = 0;	/* 0: GNU getopt starts afresh, permuting options after operands */
	while ((opt = getopt_long(argc - 2, argv + 2, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			if (bpfc_parse_endpoint(optarg, &s.ingest))
				return fail("--ingest '%s' is not ADDR:PORT (IPv6: [ADDR]:PORT)",
					    optarg);
			break;
		case 's':
			if (bpfc_parse_prefix(optarg, &s.source))
				return fail("--source '%s' is not ADDR or ADDR/PLEN", optarg);
			s.has_source = true;
			break;
		case 'e':
			if (bpfc_parse_port(optarg, &s.egress_port))
				return fail("--egress-port '%s' is not a port (1-65535)", optarg);
			break;
		case 'o':
			origin = optarg;
			break;
		case 'A':
			any_source = true;
			break;
		case 'S':
		case 'M':
			if (bpfc_parse_u32(optarg, 1, opt == 'S' ? BPFC_MAX_SUBS : 10000000,
					   opt == 'S' ? &s.max_subs : &s.max_mbps))
				return fail("--max-%s '%s' is not a positive number",
					    opt == 'S' ? "subs" : "mbps", optarg);
			break;
		default:
			return fail("usage: stream add NAME --ingest ADDR:PORT [--source ADDR[/PLEN]] "
				    "[--egress-port PORT]");
		}
	}
	if (optind != argc - 2)
		return fail("unexpected argument '%s'", argv[optind + 2]);
	if (!s.ingest.family)
		return fail("stream add needs --ingest ADDR:PORT");
	why = bpfc_stream_spec_invalid(&s);
	if (why)
		return fail("%s", why);
	if (!!origin != !!manager_addr)
		return fail(origin ? "--origin is for --manager" :
				     "with --manager, stream add needs --origin RELAY_ID");
	nlh = request(buf, BPFC_MSG_STREAM_ADD, 0);
	bpfc_put_stream_spec(nlh, &s);
	if (origin)
		mnl_attr_put_strz(nlh, BPFC_A_ORIGIN, origin);
	if (any_source)
		mnl_attr_put_u8(nlh, BPFC_A_ANY_SOURCE, 1);
	return transact(nlh, "cannot add the stream");
}

/* ---- status ------------------------------------------------------------- */

static const char *drop_names[] = {
#define DROP_NAME(name, field) #name,
	BPFC_DROP_REASONS(DROP_NAME)
#undef DROP_NAME
};
#define N_DROPS (sizeof(drop_names) / sizeof(drop_names[0]))

static __u64 stat_of(const struct nlattr *nest, __u16 type)
{
	const struct nlattr *a;

	if (!nest)
		return 0;
	mnl_attr_for_each_nested(a, nest)
		if (mnl_attr_get_type(a) == type && mnl_attr_get_payload_len(a) == 8)
			return mnl_attr_get_u64(a);
	return 0;
}

static json_object *consent_counters_json(const struct nlattr *nest)
{
	json_object *o = json_object_new_object();

#define CNT(key, type) json_object_object_add(o, key, json_object_new_uint64(stat_of(nest, type)))
	CNT("joins", BPFC_CONSENT_JOINS);
	CNT("challenges", BPFC_CONSENT_CHALLENGES);
	CNT("refused", BPFC_CONSENT_REFUSED);
	CNT("expiries", BPFC_CONSENT_EXPIRIES);
	CNT("leaves", BPFC_CONSENT_LEAVES);
#undef CNT
	return o;
}

static const char *consent_state_str(__u8 st)
{
	switch (st) {
	case BPFC_CS_STATIC: return "static";
	case BPFC_CS_PENDING: return "pending";
	case BPFC_CS_FRESH: return "fresh";
	case BPFC_CS_EXPIRED: return "expired";
	default: return "unknown";
	}
}

/* A subscriber's consent: "static", "pending", "fresh" (with ms left) or "expired". */
static void sub_consent_json(json_object *o, const struct nlattr *nest)
{
	const struct nlattr *tb[BPFC_CONSENT_MAX + 1];
	const char *err;
	__u8 st = 0;
	__u32 left = 0;

	if (nest && !bpfc_nest_parse(nest, bpfc_consent_policy, BPFC_CONSENT_MAX, tb, &err)) {
		st = tb[BPFC_CONSENT_STATE] ? mnl_attr_get_u8(tb[BPFC_CONSENT_STATE]) : 0;
		left = tb[BPFC_CONSENT_MS_LEFT] ? mnl_attr_get_u32(tb[BPFC_CONSENT_MS_LEFT]) : 0;
	}
	json_object_object_add(o, "consent", json_object_new_string(consent_state_str(st)));
	json_object_object_add(o, "consent_ms_left", json_object_new_int64(left));
}

static json_object *stream_json(const struct nlattr **tb, const char **err)
{
	struct bpfc_stream_spec s;
	char ep[BPFC_ENDPOINT_STRLEN];
	json_object *o, *drops;
	unsigned int i;

	if (bpfc_get_stream_spec(tb, &s, err))
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(s.name));
	json_object_object_add(o, "ingest",
			       json_object_new_string(bpfc_endpoint_str(&s.ingest, ep, sizeof(ep))));
	if (s.has_source)
		json_object_object_add(o, "source", json_object_new_string(
			bpfc_prefix_str(&s.source, ep, sizeof(ep))));
	json_object_object_add(o, "egress_port", json_object_new_int(s.egress_port));
#define STAT(key, type) json_object_object_add(o, key, \
		json_object_new_uint64(stat_of(tb[BPFC_A_STATS], type)))
	STAT("rx_packets", BPFC_STAT_RX_PACKETS);
	STAT("rx_bytes", BPFC_STAT_RX_BYTES);
	STAT("tx_packets", BPFC_STAT_TX_PACKETS);
	STAT("tx_bytes", BPFC_STAT_TX_BYTES);
	STAT("tx_errors", BPFC_STAT_ERRORS);
	STAT("rx_pps", BPFC_STAT_RX_PPS);
	STAT("rx_bps", BPFC_STAT_RX_BPS);
	STAT("tx_bps", BPFC_STAT_TX_BPS);
	STAT("quota_refused", BPFC_STAT_QUOTA_REFUSED);
#undef STAT
	json_object_object_add(o, "max_subs", json_object_new_int64(s.max_subs));
	json_object_object_add(o, "max_mbps", json_object_new_int64(s.max_mbps));
	json_object_object_add(o, "consent", consent_counters_json(tb[BPFC_A_CONSENT]));
	drops = json_object_new_object();
	for (i = 0; i < N_DROPS; i++)
		json_object_object_add(drops, drop_names[i],
				       json_object_new_uint64(stat_of(tb[BPFC_A_DROPS], i + 1)));
	json_object_object_add(o, "drops", drops);
	json_object_object_add(o, "subscribers", json_object_new_array());
	return o;
}

static json_object *sub_json(const struct nlattr **tb, const char **err)
{
	struct bpfc_sub_spec s;
	char ep[BPFC_ENDPOINT_STRLEN];
	json_object *o;

	if (bpfc_get_sub_spec(tb, &s, err))
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "addr",
			       json_object_new_string(bpfc_endpoint_str(&s.ep, ep, sizeof(ep))));
	json_object_object_add(o, "kind", json_object_new_string(bpfc_sub_kind_str(s.kind)));
	json_object_object_add(o, "tx_packets",
			       json_object_new_uint64(stat_of(tb[BPFC_A_STATS], BPFC_STAT_TX_PACKETS)));
	json_object_object_add(o, "tx_bytes",
			       json_object_new_uint64(stat_of(tb[BPFC_A_STATS], BPFC_STAT_TX_BYTES)));
	json_object_object_add(o, "errors",
			       json_object_new_uint64(stat_of(tb[BPFC_A_STATS], BPFC_STAT_ERRORS)));
	json_object_object_add(o, "no_consent", json_object_new_uint64(
		stat_of(tb[BPFC_A_STATS], BPFC_STAT_NO_CONSENT)));
	sub_consent_json(o, tb[BPFC_A_CONSENT]);
	return o;
}

static json_object *find_stream(json_object *streams, const char *name)
{
	size_t i;

	for (i = 0; i < json_object_array_length(streams); i++) {
		json_object *s = json_object_array_get_idx(streams, i), *n;

		if (json_object_object_get_ex(s, "name", &n) &&
		    !strcmp(json_object_get_string(n), name))
			return s;
	}
	return NULL;
}

/*
 * The next message of a dump, parsed into tb: 1, or 0 at its end, or -1 after
 * saying what went wrong.
 */
static int dump_next(struct nlmsghdr **ans, const struct nlattr **tb)
{
	const char *err = NULL;

	if (recv_msg(ans))
		return -1;
	if ((*ans)->nlmsg_type == NLMSG_DONE)
		return 0;
	if ((*ans)->nlmsg_type == NLMSG_ERROR) {
		int e = bpfc_get_ack(*ans, &err);

		fail("status: %s", err ? err : strerror(-e));
		return -1;
	}
	if (bpfc_msg_parse(*ans, bpfc_msg_policy, BPFC_A_MAX, tb, &err)) {
		fail("malformed status from the %s: %s", manager_addr ? "manager" : "agent", err);
		return -1;
	}
	return 1;
}

/* Collect the status dump into the JSON document both outputs are made from. */
static int fetch_status(json_object **out)
{
	json_object *root = json_object_new_object(), *streams = json_object_new_array();
	json_object *relay = json_object_new_object();
	struct nlmsghdr *req, *ans;
	char rbuf[256];

	json_object_object_add(root, "relay", relay);
	json_object_object_add(root, "streams", streams);
	req = request(rbuf, BPFC_MSG_STATUS_GET, NLM_F_DUMP);
	if (connect_agent() || send_msg(req))
		goto err;
	for (;;) {
		const struct nlattr *tb[BPFC_A_MAX + 1];
		const char *err = NULL;
		json_object *o, *parent, *subs;
		int rc;

		rc = dump_next(&ans, tb);
		if (rc < 0)
			goto err;
		if (rc == 0)
			break;
		switch (ans->nlmsg_type) {
		case BPFC_MSG_RELAY:
			json_object_object_add(relay, "rx_packets", json_object_new_uint64(
				stat_of(tb[BPFC_A_STATS], BPFC_STAT_RX_PACKETS)));
			json_object_object_add(relay, "malformed", json_object_new_uint64(
				stat_of(tb[BPFC_A_STATS], BPFC_STAT_MALFORMED)));
			json_object_object_add(relay, "events_lost", json_object_new_uint64(
				stat_of(tb[BPFC_A_STATS], BPFC_STAT_EVENTS_LOST)));
			json_object_object_add(relay, "join_rate_limited", json_object_new_uint64(
				stat_of(tb[BPFC_A_STATS], BPFC_STAT_JOIN_RATE_LIMITED)));
			break;
		case BPFC_MSG_STREAM:
			o = stream_json(tb, &err);
			if (!o) {
				fail("malformed stream in status: %s", err);
				goto err;
			}
			json_object_array_add(streams, o);
			break;
		case BPFC_MSG_SUB:
			o = sub_json(tb, &err);
			if (!o) {
				fail("malformed subscriber in status: %s", err);
				goto err;
			}
			parent = find_stream(streams, mnl_attr_get_str(tb[BPFC_A_STREAM_NAME]));
			if (!parent || !json_object_object_get_ex(parent, "subscribers", &subs)) {
				json_object_put(o);
				break;
			}
			json_object_array_add(subs, o);
			break;
		default:
			break;	/* newer agent: skip what we don't know */
		}
	}
	*out = root;
	return 0;
err:
	json_object_put(root);
	return 1;
}

static uint64_t jget(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_uint64(v) : 0;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static void print_table(json_object *root)
{
	json_object *streams, *relay;
	size_t i, j;

	json_object_object_get_ex(root, "relay", &relay);
	json_object_object_get_ex(root, "streams", &streams);
	printf("relay: %" PRIu64 " packets seen, %" PRIu64 " malformed, %" PRIu64
	       " events lost, %" PRIu64 " JOINs over the rate limit\n\n",
	       jget(relay, "rx_packets"), jget(relay, "malformed"), jget(relay, "events_lost"),
	       jget(relay, "join_rate_limited"));
	printf("%-16s %-28s %12s %12s %10s %12s %10s %8s\n", "STREAM", "INGEST", "RX_PKTS",
	       "TX_PKTS", "RX_PPS", "RX_MBPS", "DROPS", "ERRORS");
	for (i = 0; i < json_object_array_length(streams); i++) {
		json_object *s = json_object_array_get_idx(streams, i), *drops, *subs;
		uint64_t dropped = 0;

		json_object_object_get_ex(s, "drops", &drops);
		json_object_object_foreach(drops, k, v) {
			(void)k;
			dropped += json_object_get_uint64(v);
		}
		printf("%-16s %-28s %12" PRIu64 " %12" PRIu64 " %10" PRIu64 " %12.3f %10" PRIu64
		       " %8" PRIu64 "\n", jstr(s, "name"), jstr(s, "ingest"), jget(s, "rx_packets"),
		       jget(s, "tx_packets"), jget(s, "rx_pps"), jget(s, "rx_bps") / 1e6, dropped,
		       jget(s, "tx_errors"));
		json_object_object_get_ex(s, "consent", &drops);
		printf("  consent: %" PRIu64 " joins, %" PRIu64 " challenges, %" PRIu64
		       " refused, %" PRIu64 " expired, %" PRIu64 " left; %" PRIu64
		       " over quota\n", jget(drops, "joins"), jget(drops, "challenges"),
		       jget(drops, "refused"), jget(drops, "expiries"), jget(drops, "leaves"),
		       jget(s, "quota_refused"));
		json_object_object_get_ex(s, "subscribers", &subs);
		for (j = 0; j < json_object_array_length(subs); j++) {
			json_object *u = json_object_array_get_idx(subs, j);
			char consent[32];

			snprintf(consent, sizeof(consent), "%s", jstr(u, "consent"));
			if (!strcmp(consent, "fresh"))
				snprintf(consent, sizeof(consent), "fresh %" PRIu64 "s",
					 jget(u, "consent_ms_left") / 1000);
			printf("  %-6s %-36s %-10s %12" PRIu64 " packets %14" PRIu64 " bytes %8"
			       PRIu64 " errors\n", jstr(u, "kind"), jstr(u, "addr"), consent,
			       jget(u, "tx_packets"), jget(u, "tx_bytes"), jget(u, "errors"));
		}
	}
}

static int fetch_fleet(json_object **out, bool relays_only);
static void print_fleet(json_object *root, bool relays_only);

static volatile sig_atomic_t watch_stop;

static void on_watch_signal(int sig)
{
	watch_stop = 1;
}

static int show_status(bool json)
{
	json_object *root;

	if (manager_addr ? fetch_fleet(&root, false) : fetch_status(&root))
		return 1;
	if (json)
		printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	else if (manager_addr)
		print_fleet(root, false);
	else
		print_table(root);
	json_object_put(root);
	return 0;
}

/* Redraw every second until interrupted; a lost connection is retried, and said. */
static int watch_status(void)
{
	signal(SIGINT, on_watch_signal);
	signal(SIGTERM, on_watch_signal);
	while (!watch_stop) {
		time_t now = time(NULL);
		char when[32];

		if (sock >= 0)
			msg_close(sock);
		sock = -1;
		strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
		printf("\033[H\033[2J%s  %s  (Ctrl-C to stop)\n\n", manager_addr ? manager_addr :
		       agent_path, when);
		show_status(false);
		fflush(stdout);
		sleep(1);
	}
	return 0;
}

static int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "watch", no_argument, NULL, 'w' },
		{}
	};
	bool json = false, watch = false;
	int opt;

	optind = 0;	/* 0: GNU getopt starts afresh, permuting options after operands */
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == '?')
			return fail("usage: status [--json | --watch]");
		*(opt == 'j' ? &json : &watch) = true;
	}
	if (optind != argc || (json && watch))
		return fail("usage: status [--json | --watch]");
	return watch ? watch_status() : show_status(json);
}

static int cmd_thresholds(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "offload-above", required_argument, NULL, 'o' },
		{ "offload-above-mbps", required_argument, NULL, 'm' },
		{ "cease-below", required_argument, NULL, 'c' },
		{ "hold", required_argument, NULL, 'h' },
		{}
	};
	static const char use[] = "usage: thresholds STREAM --offload-above N "
				  "[--offload-above-mbps X] --cease-below M [--hold SECONDS]";
	struct pol_thresholds th = {};
	bool have_above = false, have_cease = false;
	char buf[512], name[BPFC_STREAM_NAME_LEN];
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	const char *why;
	__u32 v;
	int opt;

	if (!manager_addr)
		return fail("thresholds are kept by the manager: use --manager ADDR:PORT");
	if (argc < 2 || argv[1][0] == '-')
		return fail("%s", use);
	why = bpfc_stream_name_invalid(argv[1]);
	if (why)
		return fail("'%s': %s", argv[1], why);
	snprintf(name, sizeof(name), "%s", argv[1]);
	optind = 0;	/* 0: GNU getopt starts afresh, permuting options after operands */
	while ((opt = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		if (opt == '?')
			return fail("%s", use);
		if (bpfc_parse_u32(optarg, 0, 1000000, &v))
			return fail("'%s' is not a number from 0 to 1000000", optarg);
		switch (opt) {
		case 'o': th.offload_above = v; have_above = true; break;
		case 'm': th.offload_above_mbps = v; break;
		case 'c': th.cease_below = v; have_cease = true; break;
		case 'h': th.hold_s = v; break;
		}
	}
	if (optind != argc - 1 || !have_above || !have_cease)
		return fail("%s", use);
	why = pol_thresholds_invalid(&th);
	if (why)
		return fail("%s", why);
	nlh = request(buf, BPFC_MSG_THRESHOLDS_SET, 0);
	mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, name);
	nest = mnl_attr_nest_start(nlh, BPFC_A_THRESHOLDS);
	mnl_attr_put_u32(nlh, BPFC_TH_OFFLOAD_ABOVE, th.offload_above);
	mnl_attr_put_u32(nlh, BPFC_TH_OFFLOAD_ABOVE_MBPS, th.offload_above_mbps);
	mnl_attr_put_u32(nlh, BPFC_TH_CEASE_BELOW, th.cease_below);
	mnl_attr_put_u32(nlh, BPFC_TH_HOLD, th.hold_s);
	mnl_attr_nest_end(nlh, nest);
	return transact(nlh, "cannot set the thresholds");
}

/* The manager's status dump as the documented JSON (user/lib/fleet_json.c). */
static int fetch_fleet(json_object **out, bool relays_only)
{
	json_object *root = bpfc_fleet_json_new();
	struct nlmsghdr *req, *ans;
	char rbuf[128];

	req = request(rbuf, relays_only ? BPFC_MSG_RELAYS_GET : BPFC_MSG_STATUS_GET, NLM_F_DUMP);
	if (connect_agent() || send_msg(req))
		goto err;
	for (;;) {
		const char *err = NULL;

		if (recv_msg(&ans))
			goto err;
		if (ans->nlmsg_type == NLMSG_DONE)
			break;
		if (ans->nlmsg_type == NLMSG_ERROR) {
			int e = bpfc_get_ack(ans, &err);

			fail("status: %s", err ? err : strerror(-e));
			goto err;
		}
		if (bpfc_fleet_json_add(root, ans, &err)) {
			fail("malformed status from the manager: %s", err);
			goto err;
		}
	}
	*out = root;
	return 0;
err:
	json_object_put(root);
	return 1;
}

static int relay_devices(json_object *stream, const char *relay)
{
	json_object *subs;
	int n = 0;
	size_t i;

	json_object_object_get_ex(stream, "subscribers", &subs);
	for (i = 0; i < json_object_array_length(subs); i++)
		n += !strcmp(jstr(json_object_array_get_idx(subs, i), "relay"), relay);
	return n;
}

/* A stream's relay tree, indented: each peer under the relay that feeds it. */
static void print_tree(json_object *stream, const char *relay, int depth)
{
	json_object *peers;
	size_t i;

	int used = depth * 3 + (depth ? 3 : 0) + (int)strlen(relay);	/* columns, not bytes */

	json_object_object_get_ex(stream, "peers", &peers);
	printf("  %*s%s%s%*s %4d devices\n", depth * 3, "", depth ? "└─ " : "", relay,
	       used < 28 ? 28 - used : 0, "", relay_devices(stream, relay));
	if (depth > 8)
		return;		/* a cycle would be a manager bug; do not loop on it */
	for (i = 0; i < json_object_array_length(peers); i++) {
		json_object *p = json_object_array_get_idx(peers, i);

		if (!strcmp(jstr(p, "from"), relay))
			print_tree(stream, jstr(p, "to"), depth + 1);
	}
}

static void print_events(json_object *root, size_t last)
{
	json_object *events;
	size_t i, n;

	if (!json_object_object_get_ex(root, "events", &events))
		return;
	n = json_object_array_length(events);
	if (!n)
		return;
	printf("\nrecent events:\n");
	for (i = n > last ? n - last : 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(events, i);
		time_t t = jget(e, "time_ms") / 1000;
		char when[16];

		strftime(when, sizeof(when), "%H:%M:%S", localtime(&t));
		printf("  %s  %s%s%s\n", when, jstr(e, "stream"), *jstr(e, "stream") ? ": " : "",
		       jstr(e, "text"));
	}
}

static void print_fleet(json_object *root, bool relays_only)
{
	json_object *relays, *streams;
	size_t i, j;

	json_object_object_get_ex(root, "relays", &relays);
	json_object_object_get_ex(root, "streams", &streams);
	printf("%-20s %-10s %8s %12s %10s %12s\n", "RELAY", "CONNECTED", "STREAMS", "SUBSCRIBERS",
	       "CAPACITY", "EGRESS_MBPS");
	for (i = 0; i < json_object_array_length(relays); i++) {
		json_object *r = json_object_array_get_idx(relays, i), *c;

		json_object_object_get_ex(r, "connected", &c);
		printf("%-20s %-10s %8" PRIu64 " %12" PRIu64 " %10" PRIu64 " %12" PRIu64 "\n",
		       jstr(r, "id"), json_object_get_boolean(c) ? "yes" : "no", jget(r, "streams"),
		       jget(r, "subscribers"), jget(r, "max_subscribers"), jget(r, "egress_mbps"));
	}
	if (relays_only)
		return;
	for (i = 0; i < json_object_array_length(streams); i++) {
		json_object *s = json_object_array_get_idx(streams, i), *th, *list;

		json_object_object_get_ex(s, "thresholds", &th);
		printf("\nstream %s  ingest %s  origin %s  %" PRIu64 " Mbps  offload above %" PRIu64
		       ", cease below %" PRIu64 ", hold %" PRIu64 " s\n", jstr(s, "name"),
		       jstr(s, "ingest"), jstr(s, "origin"), jget(s, "bitrate_mbps"),
		       jget(th, "offload_above"), jget(th, "cease_below"), jget(th, "hold"));
		print_tree(s, jstr(s, "origin"), 0);
		json_object_object_get_ex(s, "peers", &list);
		for (j = 0; j < json_object_array_length(list); j++) {
			json_object *p = json_object_array_get_idx(list, j);

			printf("  relay %s -> %s\n", jstr(p, "from"), jstr(p, "to"));
		}
		json_object_object_get_ex(s, "subscribers", &list);
		for (j = 0; j < json_object_array_length(list); j++) {
			json_object *u = json_object_array_get_idx(list, j);

			printf("  %-40s on %-12s %s\n", jstr(u, "addr"), jstr(u, "relay"),
			       jstr(u, "consent"));
		}
	}
	print_events(root, 10);
}

static int cmd_relays(int argc, char **argv)
{
	json_object *root;

	if (!manager_addr)
		return fail("relays are known to the manager: use --manager ADDR:PORT");
	if (argc != 1)
		return fail("usage: relays");
	if (fetch_fleet(&root, true))
		return 1;
	print_fleet(root, true);
	json_object_put(root);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "thresholds", cmd_thresholds },
	{ "relays", cmd_relays },
	{ "stream", cmd_stream },
	{ "sub", cmd_sub },
	{ "token", cmd_token },
	{ "key", cmd_key },
	{ "status", cmd_status },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "manager", required_argument, NULL, 'm' },
		{ "ca", required_argument, NULL, 'A' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	size_t i;
	int opt;

	signal(SIGPIPE, SIG_IGN);	/* a closed TLS connection is an error, not a signal */
	/* Global options stop at the command word. */
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			agent_path = optarg;
			break;
		case 'm':
			manager_addr = optarg;
			break;
		case 'A':
			tls_files.ca = optarg;
			break;
		case 'C':
			tls_files.cert = optarg;
			break;
		case 'K':
			tls_files.key = optarg;
			break;
		case 'I':
			tls_files.insecure = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[optind], commands[i].name))
			return commands[i].fn(argc - optind, argv + optind);
	return fail("unknown command '%s'; see --help", argv[optind]);
}
