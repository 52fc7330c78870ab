// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include "denylist.h"

static const struct {
	const char *prefix, *why;
} defaults[] = {
	{ "0.0.0.0/8", "this network" },
	{ "127.0.0.0/8", "loopback" },
	{ "169.254.0.0/16", "link-local" },
	{ "224.0.0.0/4", "multicast" },
	{ "255.255.255.255/32", "broadcast" },
	{ "::/128", "unspecified" },
	{ "::1/128", "loopback" },
	{ "::ffff:0:0/96", "IPv4-mapped" },
	{ "fe80::/10", "link-local" },
	{ "ff00::/8", "multicast" },
};

int bpfc_denylist_add(struct bpfc_denylist *dl, const char *prefix, const char *why)
{
	struct bpfc_deny_rule *r;

	if (dl->n == BPFC_DENY_MAX)
		return -ENOSPC;
	r = &dl->rule[dl->n];
	if (bpfc_parse_prefix(prefix, &r->pfx))
		return -EINVAL;
	snprintf(r->why, sizeof(r->why), "%s", why ? why : "configured");
	dl->n++;
	return 0;
}

void bpfc_denylist_defaults(struct bpfc_denylist *dl)
{
	size_t i;

	dl->n = 0;
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		bpfc_denylist_add(dl, defaults[i].prefix, defaults[i].why);
}

static bool in_prefix(const struct bpfc_prefix *p, const union bpfc_addr *a)
{
	const __u8 *x = (const __u8 *)a->v6, *y = (const __u8 *)p->addr.v6;
	int bits = p->plen, i;

	for (i = 0; bits > 0; i++, bits -= 8) {
		__u8 mask = bits >= 8 ? 0xFF : (__u8)(0xFF << (8 - bits));

		if ((x[i] ^ y[i]) & mask)
			return false;
	}
	return true;
}

static const char *match_family(const struct bpfc_denylist *dl, __u8 family,
				const union bpfc_addr *addr, char *buf, size_t len)
{
	char pfx[64];
	int i;

	for (i = 0; i < dl->n; i++) {
		const struct bpfc_deny_rule *r = &dl->rule[i];

		if (r->pfx.family != family || !in_prefix(&r->pfx, addr))
			continue;
		snprintf(buf, len, "%s (%s)", bpfc_prefix_str(&r->pfx, pfx, sizeof(pfx)), r->why);
		return buf;
	}
	return NULL;
}

const char *bpfc_denylist_match(const struct bpfc_denylist *dl, __u8 family,
				const union bpfc_addr *addr, char *buf, size_t len)
{
	static const __u8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };
	const char *hit = match_family(dl, family, addr, buf, len);

	if (!hit && family == BPFC_AF_INET6 && !memcmp(addr->v6, mapped, sizeof(mapped))) {
		union bpfc_addr v4 = { .v4 = addr->v6[3] };

		hit = match_family(dl, BPFC_AF_INET, &v4, buf, len);
	}
	return hit;
}

const char *bpfc_subscriber_refused(const struct bpfc_denylist *dl,
				    const struct bpfc_endpoint *ep, char *buf, size_t len)
{
	static struct bpfc_denylist defaults_only;
	char rule[96];

	if (ep->family != BPFC_AF_INET && ep->family != BPFC_AF_INET6) {
		snprintf(buf, len, "unknown address family");
		return buf;
	}
	if (ep->port == 0) {
		snprintf(buf, len, "port 0 is not a destination");
		return buf;
	}
	if (!dl) {
		if (!defaults_only.n)
			bpfc_denylist_defaults(&defaults_only);
		dl = &defaults_only;
	}
	if (!bpfc_denylist_match(dl, ep->family, &ep->addr, rule, sizeof(rule)))
		return NULL;
	snprintf(buf, len, "refused by deny rule %s", rule);
	return buf;
}
