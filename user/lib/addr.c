// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "addr.h"

int bpfc_parse_u32(const char *s, __u32 min, __u32 max, __u32 *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int bpfc_parse_port(const char *s, __u16 *port)
{
	__u32 v;
	int err = bpfc_parse_u32(s, 1, 65535, &v);

	if (!err)
		*port = v;
	return err;
}

int bpfc_parse_addr(const char *s, __u8 *family, union bpfc_addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, s, &addr->v4) == 1) {
		*family = BPFC_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr->v6) == 1) {
		*family = BPFC_AF_INET6;
		return 0;
	}
	return -EINVAL;
}

int bpfc_parse_endpoint(const char *s, struct bpfc_endpoint *ep)
{
	char host[INET6_ADDRSTRLEN + 2];
	bool bracketed;
	const char *port;
	size_t hlen;

	memset(ep, 0, sizeof(*ep));
	if (!s)
		return -EINVAL;
	bracketed = *s == '[';
	if (bracketed) {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		hlen = close - s - 1;
		port = close + 2;
		s++;
	} else {
		const char *colon = strrchr(s, ':');

		/* An unbracketed IPv6 address is ambiguous with its port. */
		if (!colon || strchr(s, ':') != colon)
			return -EINVAL;
		hlen = colon - s;
		port = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (bpfc_parse_addr(host, &ep->family, &ep->addr))
		return -EINVAL;
	if (bracketed != (ep->family == BPFC_AF_INET6))
		return -EINVAL;
	return bpfc_parse_port(port, &ep->port) ? -EINVAL : 0;
}

static void mask_prefix(struct bpfc_prefix *pfx)
{
	int i;

	for (i = 0; i < 4; i++) {
		int bits = pfx->plen - 32 * i;
		__u32 mask = bits >= 32 ? 0xFFFFFFFF : bits <= 0 ? 0 : ~(0xFFFFFFFFu >> bits);

		pfx->addr.v6[i] &= htonl(mask);
	}
}

int bpfc_parse_prefix(const char *s, struct bpfc_prefix *pfx)
{
	char buf[INET6_ADDRSTRLEN + 4];
	char *slash;
	__u32 plen;

	memset(pfx, 0, sizeof(*pfx));
	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (bpfc_parse_addr(buf, &pfx->family, &pfx->addr))
		return -EINVAL;
	plen = pfx->family == BPFC_AF_INET ? 32 : 128;
	if (slash && bpfc_parse_u32(slash + 1, 0, plen, &plen))
		return -EINVAL;
	pfx->plen = plen;
	mask_prefix(pfx);
	return 0;
}

unsigned int bpfc_endpoint_sockaddr(const struct bpfc_endpoint *ep, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ep->family == BPFC_AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(ep->port);
		s4->sin_addr.s_addr = ep->addr.v4;
		return sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(ep->port);
		memcpy(&s6->sin6_addr, ep->addr.v6, 16);
		return sizeof(*s6);
	}
}

const char *bpfc_addr_str(__u8 family, const union bpfc_addr *addr, char *buf, size_t len)
{
	if (!inet_ntop(family == BPFC_AF_INET ? AF_INET : AF_INET6, addr, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

const char *bpfc_endpoint_str(const struct bpfc_endpoint *ep, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	bpfc_addr_str(ep->family, &ep->addr, a, sizeof(a));
	if (ep->family == BPFC_AF_INET6)
		snprintf(buf, len, "[%s]:%u", a, ep->port);
	else
		snprintf(buf, len, "%s:%u", a, ep->port);
	return buf;
}

const char *bpfc_prefix_str(const struct bpfc_prefix *pfx, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s/%u", bpfc_addr_str(pfx->family, &pfx->addr, a, sizeof(a)),
		 pfx->plen);
	return buf;
}

bool bpfc_addr_is_multicast(__u8 family, const union bpfc_addr *addr)
{
	if (family == BPFC_AF_INET)
		return (ntohl(addr->v4) >> 28) == 0xE;
	return ((const __u8 *)addr->v6)[0] == 0xFF;
}

bool bpfc_endpoint_equal(const struct bpfc_endpoint *a, const struct bpfc_endpoint *b)
{
	return a->family == b->family && a->port == b->port &&
	       !memcmp(&a->addr, &b->addr, sizeof(a->addr));
}
