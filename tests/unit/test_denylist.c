// SPDX-License-Identifier: GPL-2.0
/* Destination policy: the default deny-list, configured rules, mapped IPv4. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "denylist.h"

static const char *refused(const struct bpfc_denylist *dl, const char *ep_text)
{
	static char why[160];
	struct bpfc_endpoint ep;

	if (bpfc_parse_endpoint(ep_text, &ep))
		fail_msg("bad endpoint %s", ep_text);
	return bpfc_subscriber_refused(dl, &ep, why, sizeof(why));
}

static void defaults(void **state)
{
	static const struct {
		const char *ep, *rule;
	} cases[] = {
		{ "198.18.0.5:6000", NULL },
		{ "[2001:2::5]:6000", NULL },
		{ "0.0.0.0:6000", "0.0.0.0/8 (this network)" },
		{ "0.1.2.3:6000", "0.0.0.0/8 (this network)" },
		{ "127.0.0.1:6000", "127.0.0.0/8 (loopback)" },
		{ "127.9.9.9:6000", "127.0.0.0/8 (loopback)" },
		{ "169.254.1.1:6000", "169.254.0.0/16 (link-local)" },
		{ "239.255.0.1:6000", "224.0.0.0/4 (multicast)" },
		{ "255.255.255.255:6000", "255.255.255.255/32 (broadcast)" },
		{ "[::]:6000", "::/128 (unspecified)" },
		{ "[::1]:6000", "::1/128 (loopback)" },
		{ "[::ffff:198.18.0.5]:6000", "::ffff:0.0.0.0/96 (IPv4-mapped)" },
		{ "[fe80::1]:6000", "fe80::/10 (link-local)" },
		{ "[ff15::1]:6000", "ff00::/8 (multicast)" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = refused(NULL, cases[i].ep);

		if (!cases[i].rule) {
			if (why)
				fail_msg("%s refused: %s", cases[i].ep, why);
			continue;
		}
		if (!why || !strstr(why, cases[i].rule))
			fail_msg("%s: want rule %s, got %s", cases[i].ep, cases[i].rule,
				 why ? why : "accepted");
	}
}

static void port_zero(void **state)
{
	struct bpfc_endpoint ep = { .family = BPFC_AF_INET };
	char why[160];

	assert_non_null(bpfc_subscriber_refused(NULL, &ep, why, sizeof(why)));
	assert_non_null(strstr(why, "port 0"));
}

static void configured_and_mapped(void **state)
{
	struct bpfc_denylist dl;
	const char *why;

	bpfc_denylist_defaults(&dl);
	assert_int_equal(bpfc_denylist_add(&dl, "198.18.9.0/24", "lab"), 0);
	assert_int_not_equal(bpfc_denylist_add(&dl, "198.18.9.0/40", "x"), 0);
	why = refused(&dl, "198.18.9.20:6000");
	assert_non_null(why);
	assert_non_null(strstr(why, "198.18.9.0/24 (lab)"));
	assert_null(refused(&dl, "198.18.10.20:6000"));

	/* Without the mapped rule, a mapped address is still checked as IPv4. */
	dl.n = 0;
	assert_int_equal(bpfc_denylist_add(&dl, "198.18.9.0/24", "lab"), 0);
	assert_int_equal(bpfc_denylist_add(&dl, "127.0.0.0/8", "loopback"), 0);
	why = refused(&dl, "[::ffff:127.0.0.1]:6000");
	assert_non_null(why);
	assert_non_null(strstr(why, "127.0.0.0/8"));
	assert_non_null(refused(&dl, "[::ffff:198.18.9.1]:6000"));
	assert_null(refused(&dl, "[::ffff:198.18.10.1]:6000"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults), cmocka_unit_test(port_zero),
		cmocka_unit_test(configured_and_mapped),
	};

	return cmocka_run_group_tests_name("denylist", tests, NULL, NULL);
}
