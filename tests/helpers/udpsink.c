// SPDX-License-Identifier: GPL-2.0
/*
 * udpsink: receive udpgen packets on many endpoints and report, per endpoint,
 * what arrived: count, first and last sequence number, how many in between
 * are missing, duplicates, reordering and corrupt payloads.
 */
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "payload.h"

#define MAX_EPS 256
#define MAX_SEQ (1 << 22)

struct ep {
	const char *name;
	int fd;
	uint64_t recv, dup, reorder, corrupt, first, last, max_seen;
	unsigned char *seen;		/* bitmap */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static void on_packet(struct ep *e, const unsigned char *buf, ssize_t n, int size)
{
	uint64_t seq;

	if (n < PAYLOAD_HDR || (size && n != size)) {
		e->corrupt++;
		return;
	}
	seq = get_be64(buf);
	if (seq >= MAX_SEQ || !payload_ok(buf, n, seq)) {
		e->corrupt++;
		return;
	}
	if (e->seen[seq / 8] & (1 << (seq % 8))) {
		e->dup++;
		return;
	}
	e->seen[seq / 8] |= 1 << (seq % 8);
	if (!e->recv || seq < e->first)
		e->first = seq;
	if (e->recv && seq < e->max_seen)
		e->reorder++;
	if (seq > e->max_seen || !e->recv)
		e->max_seen = seq;
	e->last = e->max_seen;
	e->recv++;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "idle-ms", required_argument, NULL, 'i' }, { "max-ms", required_argument, NULL, 'm' },
		{ "ready", required_argument, NULL, 'r' }, { "size", required_argument, NULL, 's' },
		{ "expect", required_argument, NULL, 'e' }, {}
	};
	uint64_t idle_ms = 3000, max_ms = 120000, t_start, t_last = 0, expect = 0;
	struct pollfd pfd[MAX_EPS];
	struct ep eps[MAX_EPS];
	const char *ready = NULL;
	unsigned char buf[65536];
	int n_eps = 0, size = 0, opt, i, rcvbuf = 8 << 20;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'i': idle_ms = strtoull(optarg, NULL, 10); break;
		case 'm': max_ms = strtoull(optarg, NULL, 10); break;
		case 'r': ready = optarg; break;
		case 's': size = atoi(optarg); break;
		case 'e': expect = strtoull(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: udpsink [--idle-ms N] [--max-ms N] [--size B] "
					"[--expect N] [--ready FILE] ADDR:PORT...\n");
			return 2;
		}
	}
	for (i = optind; i < argc && n_eps < MAX_EPS; i++) {
		struct sockaddr_storage ss;
		struct ep *e = &eps[n_eps];
		socklen_t len;
		int one = 1;

		memset(e, 0, sizeof(*e));
		e->name = argv[i];
		e->seen = calloc(MAX_SEQ / 8, 1);
		if (!e->seen || parse_sockaddr(argv[i], &ss, &len)) {
			fprintf(stderr, "udpsink: bad endpoint %s\n", argv[i]);
			return 2;
		}
		e->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		setsockopt(e->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (setsockopt(e->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
			setsockopt(e->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		if (e->fd < 0 || bind(e->fd, (struct sockaddr *)&ss, len)) {
			fprintf(stderr, "udpsink: cannot bind %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		pfd[n_eps].fd = e->fd;
		pfd[n_eps].events = POLLIN;
		n_eps++;
	}
	if (!n_eps)
		return 2;
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (f)
			fclose(f);
	}
	t_start = now_ms();
	for (;;) {
		uint64_t t = now_ms();
		int all = expect > 0;

		for (i = 0; i < n_eps; i++)
			all &= eps[i].recv >= expect;
		if (all || t - t_start > max_ms || (t_last && t - t_last > idle_ms))
			break;
		if (poll(pfd, n_eps, 100) <= 0)
			continue;
		for (i = 0; i < n_eps; i++) {
			ssize_t n;

			if (!(pfd[i].revents & POLLIN))
				continue;
			while ((n = recv(eps[i].fd, buf, sizeof(buf), 0)) >= 0) {
				on_packet(&eps[i], buf, n, size);
				t_last = now_ms();
			}
		}
	}
	for (i = 0; i < n_eps; i++) {
		struct ep *e = &eps[i];
		uint64_t missing = 0, s, gap_start = 0;
		char gaps[256] = "";
		size_t gl = 0;
		int n_gaps = 0;

		/* Count the holes, and name the first few as FROM-TO. */
		for (s = e->first; e->recv && s <= e->last + 1; s++) {
			bool have = s > e->last || (e->seen[s / 8] & (1 << (s % 8)));

			if (!have && (s == e->first || (e->seen[(s - 1) / 8] & (1 << ((s - 1) % 8)))))
				gap_start = s;
			if (have && s > e->first && !(e->seen[(s - 1) / 8] & (1 << ((s - 1) % 8))) &&
			    s - 1 <= e->last && n_gaps++ < 4 && gl < sizeof(gaps) - 48)
				gl += snprintf(gaps + gl, sizeof(gaps) - gl, "%s%llu-%llu",
					       gl ? "," : "", (unsigned long long)gap_start,
					       (unsigned long long)(s - 1));
			missing += !have;
		}
		printf("%s recv=%llu first=%llu last=%llu missing=%llu dup=%llu reorder=%llu "
		       "corrupt=%llu%s%s\n", e->name, (unsigned long long)e->recv,
		       (unsigned long long)e->first, (unsigned long long)e->last,
		       (unsigned long long)missing, (unsigned long long)e->dup,
		       (unsigned long long)e->reorder, (unsigned long long)e->corrupt,
		       gl ? " gaps=" : "", gaps);
	}
	return 0;
}
