/* SPDX-License-Identifier: GPL-2.0 */
/* Addresses as the CLI, config and protocol write them. */
#ifndef BPFCAST_ADDR_H
#define BPFCAST_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include "bpfcast/maps.h"

/* An address and UDP port: "198.18.0.1:5000" or "[2001:2::1]:5000". */
struct bpfc_endpoint {
	__u8 family;
	__u16 port;			/* host order */
	union bpfc_addr addr;
};

/* An address with a prefix length: "198.18.1.0/24", "2001:2::/48", or a host. */
struct bpfc_prefix {
	__u8 family;
	__u8 plen;
	union bpfc_addr addr;
};

#define BPFC_ENDPOINT_STRLEN 56		/* "[" INET6_ADDRSTRLEN "]:65535" */

int bpfc_parse_addr(const char *s, __u8 *family, union bpfc_addr *addr);
int bpfc_parse_endpoint(const char *s, struct bpfc_endpoint *ep);
int bpfc_parse_prefix(const char *s, struct bpfc_prefix *pfx);
int bpfc_parse_port(const char *s, __u16 *port);
int bpfc_parse_u32(const char *s, __u32 min, __u32 max, __u32 *out);

struct sockaddr_storage;
/* A socket address for ep; returns its length. */
unsigned int bpfc_endpoint_sockaddr(const struct bpfc_endpoint *ep, struct sockaddr_storage *ss);

const char *bpfc_addr_str(__u8 family, const union bpfc_addr *addr, char *buf, size_t len);
const char *bpfc_endpoint_str(const struct bpfc_endpoint *ep, char *buf, size_t len);
const char *bpfc_prefix_str(const struct bpfc_prefix *pfx, char *buf, size_t len);

bool bpfc_addr_is_multicast(__u8 family, const union bpfc_addr *addr);
bool bpfc_endpoint_equal(const struct bpfc_endpoint *a, const struct bpfc_endpoint *b);

#endif
