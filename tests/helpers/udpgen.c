// SPDX-License-Identifier: GPL-2.0
/*
 * udpgen: send numbered UDP packets whose payload a receiver can verify.
 * Payload: 8-byte sequence number, 8-byte send time (ns, CLOCK_MONOTONIC),
 * then bytes derived from the sequence number.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "payload.h"

static void usage(void)
{
	fprintf(stderr, "usage: udpgen --dst ADDR:PORT [--count N] [--rate PPS] [--size BYTES]\n"
			"              [--start SEQ] [--ttl N] [--src ADDR] [--src-port P] [--no-csum]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dst", required_argument, NULL, 'd' }, { "count", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' }, { "size", required_argument, NULL, 's' },
		{ "start", required_argument, NULL, 'S' }, { "ttl", required_argument, NULL, 't' },
		{ "src-port", required_argument, NULL, 'p' },
		{ "no-csum", no_argument, NULL, 'z' }, { "src", required_argument, NULL, 'a' }, {}
	};
	struct sockaddr_storage dst;
	socklen_t dlen = 0;
	uint64_t count = 1000, start = 0, rate = 1000, i;
	int size = 1316, ttl = 64, sport = 0, no_csum = 0, opt, fd;
	const char *src_addr = NULL;
	unsigned char buf[65536];
	struct timespec t0, now;

	memset(&dst, 0, sizeof(dst));
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			if (parse_sockaddr(optarg, &dst, &dlen))
				usage();
			break;
		case 'n': count = strtoull(optarg, NULL, 10); break;
		case 'r': rate = strtoull(optarg, NULL, 10); break;
		case 's': size = atoi(optarg); break;
		case 'S': start = strtoull(optarg, NULL, 10); break;
		case 't': ttl = atoi(optarg); break;
		case 'p': sport = atoi(optarg); break;
		case 'z': no_csum = 1; break;
		case 'a': src_addr = optarg; break;
		default: usage();
		}
	}
	if (!dst.ss_family || size < PAYLOAD_HDR || size > 65000 || !rate || count > 100000000)
		usage();
	fd = socket(dst.ss_family, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	if (dst.ss_family == AF_INET) {
		setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
		setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl));
	} else {
		setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof(ttl));
		setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof(ttl));
	}
	if (no_csum && dst.ss_family == AF_INET)
		setsockopt(fd, SOL_SOCKET, SO_NO_CHECK, &no_csum, sizeof(no_csum));
	if (sport || src_addr) {
		struct sockaddr_storage src = {};

		src.ss_family = dst.ss_family;
		if (dst.ss_family == AF_INET) {
			((struct sockaddr_in *)&src)->sin_port = htons(sport);
			if (src_addr)
				inet_pton(AF_INET, src_addr, &((struct sockaddr_in *)&src)->sin_addr);
		} else {
			((struct sockaddr_in6 *)&src)->sin6_port = htons(sport);
			if (src_addr)
				inet_pton(AF_INET6, src_addr,
					  &((struct sockaddr_in6 *)&src)->sin6_addr);
		}
		if (bind(fd, (struct sockaddr *)&src, sizeof(src))) {
			perror("bind");
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < count; i++) {
		uint64_t due_ns = i * 1000000000ULL / rate, el;

		for (;;) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			el = (now.tv_sec - t0.tv_sec) * 1000000000ULL + now.tv_nsec - t0.tv_nsec;
			if (el >= due_ns)
				break;
			if (due_ns - el > 200000) {
				struct timespec ts = { 0, (due_ns - el) / 2 };

				nanosleep(&ts, NULL);
			}
		}
		payload_fill(buf, size, start + i,
			     (uint64_t)now.tv_sec * 1000000000ULL + now.tv_nsec);
		while (sendto(fd, buf, size, 0, (struct sockaddr *)&dst, dlen) < 0) {
			if (errno != ENOBUFS && errno != EAGAIN) {
				perror("sendto");
				return 1;
			}
		}
	}
	return 0;
}
