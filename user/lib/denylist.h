/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Destination policy: prefixes no subscriber or peer may have, whoever adds
 * it. A relay that copied to any address would be an amplifier; the defaults
 * refuse what is never a legitimate media receiver.
 */
#ifndef BPFCAST_DENYLIST_H
#define BPFCAST_DENYLIST_H

#include "addr.h"

#define BPFC_DENY_MAX 256

struct bpfc_deny_rule {
	struct bpfc_prefix pfx;
	char why[40];
};

struct bpfc_denylist {
	struct bpfc_deny_rule rule[BPFC_DENY_MAX];
	int n;
};

/* The safe defaults: unspecified, loopback, link-local, multicast, broadcast, mapped IPv4. */
void bpfc_denylist_defaults(struct bpfc_denylist *dl);
/* Add "PREFIX" with a reason; -EINVAL on a bad prefix, -ENOSPC when full. */
int bpfc_denylist_add(struct bpfc_denylist *dl, const char *prefix, const char *why);
/*
 * The rule that refuses addr, written "PREFIX (why)" into buf, or NULL.
 * An IPv4-mapped IPv6 address is also checked as the IPv4 address it maps.
 */
const char *bpfc_denylist_match(const struct bpfc_denylist *dl, __u8 family,
				const union bpfc_addr *addr, char *buf, size_t len);

/*
 * Why ep may not be a subscriber under dl (the defaults when dl is NULL), or
 * NULL when it may. The text, in buf, names the rule that matched.
 */
const char *bpfc_subscriber_refused(const struct bpfc_denylist *dl,
				    const struct bpfc_endpoint *ep, char *buf, size_t len);

#endif
