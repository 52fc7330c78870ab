// SPDX-License-Identifier: GPL-2.0
/*
 * bpfcast-join: the device side of subscriber consent, and the reference for
 * device makers. It JOINs a relay from the address it will receive on,
 * answers the CHALLENGE, keeps consent alive toward the address its media
 * comes from (so it follows the manager's moves), and LEAVEs on exit.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "addr.h"
#include "consent.h"
#include "spec.h"

static const char usage[] =
	"Usage: bpfcast-join --relay ADDR:PORT (--token TOKEN | --stream NAME)\n"
	"                    --listen ADDR:PORT [options]\n"
	"\n"
	"Subscribes this device to a bpfcast stream: JOIN, answer the relay's\n"
	"CHALLENGE, keep consent alive, LEAVE on exit (SIGINT, SIGTERM).\n"
	"\n"
	"Options:\n"
	"  --relay ADDR:PORT    the relay's JOIN address (bpfcastctl token prints it)\n"
	"  --token TOKEN        from 'bpfcastctl token'; names the stream\n"
	"  --stream NAME        join without a token: an operator added this device\n"
	"  --listen ADDR:PORT   where the media is to arrive; JOINs are sent from here\n"
	"  --stdout             write each media payload to standard output\n"
	"  --keepalive-ms N     between keepalives (default 5000; 0: none, consent lapses)\n"
	"  --duration SECONDS   leave after this long (default: until a signal)\n"
	"  --count N            leave after N media packets\n"
	"  --stats              print a JSON line of what arrived on exit (stderr);\n"
	"                       duplicates from a move between relays are dropped and counted\n"
	"  -v, --verbose        say what happens (stderr)\n"
	"  -h, --help           this text\n";

#define ANSWER_TIMEOUT_MS	1000
#define JOIN_TRIES		5
/*
 * While the manager moves a device (make-before-break), both relays send it
 * the same datagrams for a moment. MPEG-TS has no sequence numbers a player
 * could drop them by, so the device does: an identical datagram seen in the
 * last DEDUP_WINDOW datagrams and DEDUP_MS is a duplicate.
 */
#define DEDUP_WINDOW		256
#define DEDUP_MS		1000

struct device {
	int fd;
	struct bpfc_device_msg join;	/* stream, token */
	struct sockaddr_storage relay;	/* where JOINs go */
	socklen_t relay_len;
	struct sockaddr_storage keepalive_to;	/* the media's source, at the JOIN port */
	__u16 join_port;
	__u8 nonce[BPFC_NONCE_LEN];
	__u32 seq;
	bool verbose;
	bool to_stdout;
	__u64 packets, bytes, duplicates, start_ms, joined_ms, first_ms, last_ms;
	struct {
		__u64 hash, ms;
	} recent[DEDUP_WINDOW];
	unsigned int recent_next;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static int say(struct device *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int say(struct device *d, const char *fmt, ...)
{
	va_list ap;

	if (!d->verbose)
		return 0;
	fputs("bpfcast-join: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	return 0;
}

static int send_msg(struct device *d, __u16 type, bool with_nonce, const void *to,
		    socklen_t to_len)
{
	struct bpfc_device_msg m = d->join;
	char buf[256];
	size_t len;

	m.type = type;
	m.seq = ++d->seq;
	m.has_token = type == BPFC_MSG_JOIN && d->join.has_token;
	m.has_nonce = with_nonce;
	memcpy(m.nonce, d->nonce, sizeof(m.nonce));
	len = bpfc_device_msg_build(buf, &m);
	return sendto(d->fd, buf, len, 0, to, to_len) == (ssize_t)len ? 0 : -errno;
}

static bool same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
}

static __u16 port_of(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port :
						((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void set_port(struct sockaddr_storage *ss, __u16 port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static __u64 fnv1a(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	__u64 h = 0xcbf29ce484222325ULL;

	while (len--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

/* Seen the same bytes within the window? Remembers them either way. */
static bool duplicate(struct device *d, const char *buf, size_t n, __u64 t)
{
	__u64 h = fnv1a(buf, n) ^ n;
	unsigned int i;

	for (i = 0; i < DEDUP_WINDOW; i++)
		if (d->recent[i].hash == h && d->recent[i].ms && t - d->recent[i].ms <= DEDUP_MS)
			return true;
	d->recent[d->recent_next].hash = h;
	d->recent[d->recent_next].ms = t;
	d->recent_next = (d->recent_next + 1) % DEDUP_WINDOW;
	return false;
}

static void on_media(struct device *d, const char *buf, ssize_t n,
		     const struct sockaddr_storage *from)
{
	__u64 t = now_ms();

	if (duplicate(d, buf, n, t)) {
		d->duplicates++;
		return;
	}
	if (!d->packets)
		d->first_ms = t;
	d->last_ms = t;
	d->packets++;
	d->bytes += n;
	/* Consent follows the media: a move to another relay moves the keepalives. */
	if (!same_host(from, &d->keepalive_to)) {
		d->keepalive_to = *from;
		set_port(&d->keepalive_to, d->join_port);
		say(d, "media now comes from a new relay; keepalives follow it\n");
	}
	if (d->to_stdout && fwrite(buf, 1, n, stdout) != (size_t)n)
		stop = 1;
}

/*
 * Wait for the relay's answer to seq, passing media on meanwhile. Returns 0
 * with *m filled, or -ETIMEDOUT.
 */
static int await_answer(struct device *d, __u32 seq, struct bpfc_device_msg *m, int timeout_ms)
{
	__u64 deadline = now_ms() + timeout_ms;
	char buf[65536] __attribute__((aligned(4)));

	while (!stop) {
		struct pollfd pfd = { .fd = d->fd, .events = POLLIN };
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		__u64 now = now_ms();
		const char *err;
		ssize_t n;

		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, deadline - now) <= 0)
			continue;
		n = recvfrom(d->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (n < 0)
			continue;
		if (port_of(&from) == d->join_port && !bpfc_device_msg_parse(buf, n, m, &err) &&
		    m->seq == seq)
			return 0;
		if (port_of(&from) != d->join_port)
			on_media(d, buf, n, &from);
	}
	return -EINTR;
}

/* JOIN, CHALLENGE, JOIN with the nonce, ACK. */
static int join(struct device *d)
{
	struct bpfc_device_msg ans;
	int i, err = -ETIMEDOUT;

	for (i = 0; i < JOIN_TRIES && !stop; i++) {
		if (send_msg(d, BPFC_MSG_JOIN, false, &d->relay, d->relay_len))
			return -errno;
		err = await_answer(d, d->seq, &ans, ANSWER_TIMEOUT_MS);
		if (err == -ETIMEDOUT)
			continue;
		if (err)
			return err;
		if (ans.type == NLMSG_ERROR) {
			fprintf(stderr, "bpfcast-join: the relay refused the JOIN: %s\n",
				ans.text[0] ? ans.text : strerror(-ans.error));
			return -EACCES;
		}
		if (ans.type != BPFC_MSG_CHALLENGE)
			continue;
		memcpy(d->nonce, ans.nonce, sizeof(d->nonce));
		if (send_msg(d, BPFC_MSG_JOIN, true, &d->relay, d->relay_len))
			return -errno;
		err = await_answer(d, d->seq, &ans, ANSWER_TIMEOUT_MS);
		if (err == -ETIMEDOUT)
			continue;
		if (err)
			return err;
		if (ans.type == NLMSG_ERROR && ans.error == 0) {
			d->joined_ms = now_ms();
			say(d, "joined %s\n", d->join.stream);
			return 0;
		}
		if (ans.type == NLMSG_ERROR) {
			fprintf(stderr, "bpfcast-join: the relay refused the JOIN: %s\n",
				ans.text[0] ? ans.text : strerror(-ans.error));
			return -EACCES;
		}
	}
	if (err == -ETIMEDOUT)
		fprintf(stderr, "bpfcast-join: no answer from the relay after %d JOINs\n", JOIN_TRIES);
	return err;
}

static int keepalive(struct device *d)
{
	struct sockaddr_storage to = d->keepalive_to;
	struct bpfc_device_msg ans;
	int err;

	if (send_msg(d, BPFC_MSG_KEEPALIVE, true, &to, d->relay_len))
		return -errno;
	err = await_answer(d, d->seq, &ans, ANSWER_TIMEOUT_MS);
	if (err)
		return err == -ETIMEDOUT ? 0 : err;	/* lost: the next one may pass */
	if (ans.type != NLMSG_ERROR || !ans.error)
		return 0;
	/* Refused by a relay we were moved away from: the next one goes to the new one. */
	if (!same_host(&to, &d->keepalive_to)) {
		say(d, "the old relay refused a keepalive; the media moved on\n");
		return 0;
	}
	say(d, "keepalive refused (%s); joining again\n", ans.text);
	return join(d);
}

static int open_socket(const char *listen_ep, const struct bpfc_endpoint *relay,
		       struct device *d)
{
	struct bpfc_endpoint ep;
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, size = 4 << 20;

	if (bpfc_parse_endpoint(listen_ep, &ep)) {
		fprintf(stderr, "bpfcast-join: --listen '%s' is not ADDR:PORT\n", listen_ep);
		return -EINVAL;
	}
	if (ep.family != relay->family) {
		fprintf(stderr, "bpfcast-join: --listen and --relay must be of one family\n");
		return -EINVAL;
	}
	sl = bpfc_endpoint_sockaddr(&ep, &ss);
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&ss, sl)) {
		fprintf(stderr, "bpfcast-join: cannot listen on %s: %s\n", listen_ep, strerror(errno));
		close(fd);
		return -errno;
	}
	d->fd = fd;
	return 0;
}

/* Media until told to stop; a keepalive every keepalive_ms. */
static void receive(struct device *d, __u32 keepalive_ms, __u64 duration_ms, __u64 count)
{
	__u64 next_ka = now_ms() + keepalive_ms;
	char buf[65536];

	while (!stop && (!count || d->packets < count) &&
	       (!duration_ms || now_ms() - d->start_ms < duration_ms)) {
		struct pollfd pfd = { .fd = d->fd, .events = POLLIN };
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n;

		if (keepalive_ms && now_ms() >= next_ka) {
			if (keepalive(d))
				return;
			next_ka = now_ms() + keepalive_ms;
		}
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = recvfrom(d->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (n >= 0 && port_of(&from) != d->join_port)
			on_media(d, buf, n, &from);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "relay", required_argument, NULL, 'r' },
		{ "token", required_argument, NULL, 't' },
		{ "stream", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "stdout", no_argument, NULL, 'o' },
		{ "keepalive-ms", required_argument, NULL, 'k' },
		{ "duration", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'c' },
		{ "stats", no_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *relay_arg = NULL, *listen_arg = NULL;
	struct device d = { .fd = -1 };
	__u32 keepalive_ms = BPFC_KEEPALIVE_MS, v, duration_s = 0, count = 0;
	struct bpfc_endpoint relay;
	bool stats = false, by_name = false;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'r': relay_arg = optarg; break;
		case 'l': listen_arg = optarg; break;
		case 'o': d.to_stdout = true; break;
		case 'S': stats = true; break;
		case 'v': d.verbose = true; break;
		case 't':
			if (bpfc_token_parse(optarg, d.join.stream, d.join.token)) {
				fprintf(stderr, "bpfcast-join: --token is not a bpfcast token "
					"(STREAM:80 hex digits)\n");
				return 2;
			}
			d.join.has_token = true;
			break;
		case 's':
			if (bpfc_stream_name_invalid(optarg)) {
				fprintf(stderr, "bpfcast-join: --stream '%s': %s\n", optarg,
					bpfc_stream_name_invalid(optarg));
				return 2;
			}
			snprintf(d.join.stream, sizeof(d.join.stream), "%s", optarg);
			by_name = true;
			break;
		case 'k':
		case 'd':
		case 'c':
			if (bpfc_parse_u32(optarg, 0, opt == 'k' ? 3600000 : UINT32_MAX, &v)) {
				fprintf(stderr, "bpfcast-join: '%s' is not a number\n", optarg);
				return 2;
			}
			*(opt == 'k' ? &keepalive_ms : opt == 'd' ? &duration_s : &count) = v;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc || !relay_arg || !listen_arg || !d.join.stream[0]) {
		fputs(usage, stderr);
		return 2;
	}
	if (d.join.has_token && by_name) {
		fprintf(stderr, "bpfcast-join: --token names the stream; give it or --stream\n");
		return 2;
	}
	if (bpfc_parse_endpoint(relay_arg, &relay)) {
		fprintf(stderr, "bpfcast-join: --relay '%s' is not ADDR:PORT\n", relay_arg);
		return 2;
	}
	if (open_socket(listen_arg, &relay, &d))
		return 1;
	d.relay_len = bpfc_endpoint_sockaddr(&relay, &d.relay);
	d.keepalive_to = d.relay;
	d.join_port = relay.port;
	d.start_ms = now_ms();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, on_signal);

	err = join(&d);
	if (!err) {
		receive(&d, keepalive_ms, (__u64)duration_s * 1000, count);
		send_msg(&d, BPFC_MSG_LEAVE, true, &d.keepalive_to, d.relay_len);
		say(&d, "left after %" PRIu64 " packets\n", (uint64_t)d.packets);
	}
	if (stats)
		fprintf(stderr, "{\"joined\":%s,\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
			",\"duplicates\":%" PRIu64 ",\"joined_ms\":%" PRIu64 ",\"first_ms\":%" PRIu64
			",\"last_ms\":%" PRIu64 "}\n", err ? "false" : "true", (uint64_t)d.packets,
			(uint64_t)d.bytes, (uint64_t)d.duplicates,
			(uint64_t)(d.joined_ms ? d.joined_ms - d.start_ms : 0),
			(uint64_t)(d.first_ms ? d.first_ms - d.start_ms : 0),
			(uint64_t)(d.last_ms ? d.last_ms - d.start_ms : 0));
	fflush(stdout);
	close(d.fd);
	return err ? 1 : 0;
}
