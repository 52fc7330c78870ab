// SPDX-License-Identifier: GPL-2.0
/*
 * benchgen: send numbered, time-stamped UDP payloads at a steady rate for a
 * bounded time, in sendmmsg bursts of at most 64 every 100 us (as a NIC
 * interrupt would batch them). Prints how many it sent.
 *   benchgen --dst ADDR:PORT --rate PPS --seconds S [--size BYTES] [--seq-base N]
 * Sequence numbers start at N, so a sink can tell this run's packets apart.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "../../tests/helpers/payload.h"

#define BURST 64

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dst", required_argument, NULL, 'd' }, { "rate", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' }, { "size", required_argument, NULL, 'z' },
		{ "seq-base", required_argument, NULL, 'b' },
		{}
	};
	static unsigned char bufs[BURST][2048];
	struct mmsghdr msgs[BURST];
	struct iovec iov[BURST];
	struct sockaddr_in dst = { .sin_family = AF_INET };
	double rate = 0, seconds = 0;
	int size = 1316, fd, opt, i, sndbuf = 8 << 20;
	uint64_t sent = 0, t0, due_total, base = 0;
	char *colon;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			colon = strrchr(optarg, ':');
			if (!colon)
				return 2;
			*colon = '\0';
			inet_pton(AF_INET, optarg, &dst.sin_addr);
			dst.sin_port = htons(atoi(colon + 1));
			break;
		case 'r': rate = atof(optarg); break;
		case 's': seconds = atof(optarg); break;
		case 'z': size = atoi(optarg); break;
		case 'b': base = strtoull(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (!dst.sin_port || rate <= 0 || seconds <= 0 || seconds > 600 || size < 16 || size > 2048) {
		fprintf(stderr, "usage: benchgen --dst ADDR:PORT --rate PPS --seconds S [--size B]\n");
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	for (i = 0; i < BURST; i++) {
		payload_fill(bufs[i], size, 0, 0);
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = size;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &dst;
		msgs[i].msg_hdr.msg_namelen = sizeof(dst);
	}
	due_total = (uint64_t)(rate * seconds);
	t0 = now_ns();
	while (sent < due_total) {
		uint64_t el = now_ns() - t0, due = (uint64_t)(rate * el / 1e9);
		int n, k;

		/* A rate beyond what this CPU sends ends on time too: trials stay bounded. */
		if (el >= (uint64_t)(seconds * 1e9))
			break;

		if (due > due_total)
			due = due_total;
		if (due <= sent) {
			struct timespec ts = { 0, 50000 };

			nanosleep(&ts, NULL);
			continue;
		}
		n = due - sent > BURST ? BURST : (int)(due - sent);
		/* Only the stamp changes: filling 1,316 bytes per packet would cap the rate. */
		for (k = 0; k < n; k++) {
			put_be64(bufs[k], base + sent + k);
			put_be64(bufs[k] + 8, now_ns());
		}
		k = sendmmsg(fd, msgs, n, 0);
		if (k < 0 && errno != ENOBUFS && errno != EAGAIN) {
			perror("sendmmsg");
			return 1;
		}
		if (k > 0)
			sent += k;
	}
	printf("%llu\n", (unsigned long long)sent);
	return 0;
}
