/* SPDX-License-Identifier: GPL-2.0 */
/* The test payload format shared by udpgen and udpsink. */
#ifndef BPFCAST_TEST_PAYLOAD_H
#define BPFCAST_TEST_PAYLOAD_H

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define PAYLOAD_HDR 16

static inline void put_be64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = v & 0xFF;
}

static inline uint64_t get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static inline unsigned char payload_byte(uint64_t seq, int i)
{
	return (unsigned char)(seq * 131 + i * 7 + (i >> 8));
}

static inline void payload_fill(unsigned char *buf, int size, uint64_t seq, uint64_t ts)
{
	int i;

	put_be64(buf, seq);
	put_be64(buf + 8, ts);
	for (i = PAYLOAD_HDR; i < size; i++)
		buf[i] = payload_byte(seq, i);
}

static inline int payload_ok(const unsigned char *buf, int size, uint64_t seq)
{
	int i;

	for (i = PAYLOAD_HDR; i < size; i++)
		if (buf[i] != payload_byte(seq, i))
			return 0;
	return 1;
}

/* "198.18.0.1:5000" or "[2001:2::1]:5000" */
static inline int parse_sockaddr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t hl;
	int port;

	memset(ss, 0, sizeof(*ss));
	if (!colon)
		return -1;
	port = atoi(colon + 1);
	if (port <= 0 || port > 65535)
		return -1;
	if (*s == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		hl = colon - s - 2;
		if (hl >= sizeof(host) || colon[-1] != ']')
			return -1;
		memcpy(host, s + 1, hl);
		host[hl] = 0;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return inet_pton(AF_INET6, host, &s6->sin6_addr) == 1 ? 0 : -1;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		hl = colon - s;
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, s, hl);
		host[hl] = 0;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : -1;
	}
}

#endif
