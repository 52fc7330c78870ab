// SPDX-License-Identifier: GPL-2.0
/* Address parsing, formatting and subscriber validation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "addr.h"

static void endpoint_roundtrip(void **state)
{
	static const char *good[] = { "198.18.0.1:5000", "[2001:2::5]:6000", "198.19.255.255:1",
				      "[2001:2:0:1::1]:65535" };
	char buf[BPFC_ENDPOINT_STRLEN];
	struct bpfc_endpoint ep;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(bpfc_parse_endpoint(good[i], &ep), 0);
		assert_string_equal(bpfc_endpoint_str(&ep, buf, sizeof(buf)), good[i]);
	}
	assert_int_equal(bpfc_parse_endpoint("[2001:2::5]:6000", &ep), 0);
	assert_int_equal(ep.family, BPFC_AF_INET6);
	assert_int_equal(ep.port, 6000);
}

static void endpoint_rejects(void **state)
{
	static const char *bad[] = { "", "198.18.0.1", "198.18.0.1:", "198.18.0.1:0",
				     "198.18.0.1:65536", "198.18.0.1:-1", "198.18.0.1:5000x",
				     "2001:2::5:6000", "[2001:2::5]6000", "[198.18.0.1]:5000",
				     "[2001:2::5:6000", "198.18.0.256:5000", "host:5000",
				     "198.18.0.1: 5000", "[]:5000",
				     "[2001:2:2001:2:2001:2:2001:2:2001:2:2001:2:2001:2]:1" };
	struct bpfc_endpoint ep;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (bpfc_parse_endpoint(bad[i], &ep) == 0)
			fail_msg("accepted '%s'", bad[i]);
	}
	assert_int_not_equal(bpfc_parse_endpoint(NULL, &ep), 0);
}

static void prefix_parse(void **state)
{
	char buf[64];
	struct bpfc_prefix p;

	assert_int_equal(bpfc_parse_prefix("198.18.1.77/24", &p), 0);
	assert_string_equal(bpfc_prefix_str(&p, buf, sizeof(buf)), "198.18.1.0/24");
	assert_int_equal(bpfc_parse_prefix("198.18.1.7", &p), 0);
	assert_int_equal(p.plen, 32);
	assert_int_equal(bpfc_parse_prefix("2001:2::ffff/48", &p), 0);
	assert_string_equal(bpfc_prefix_str(&p, buf, sizeof(buf)), "2001:2::/48");
	assert_int_not_equal(bpfc_parse_prefix("198.18.1.0/33", &p), 0);
	assert_int_not_equal(bpfc_parse_prefix("2001:2::/129", &p), 0);
	assert_int_not_equal(bpfc_parse_prefix("198.18.1.0/", &p), 0);
	assert_int_not_equal(bpfc_parse_prefix("198.18.1.0/x", &p), 0);
	assert_int_not_equal(bpfc_parse_prefix("/24", &p), 0);
}

static void numbers(void **state)
{
	__u32 v;
	__u16 port;

	assert_int_equal(bpfc_parse_u32("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_not_equal(bpfc_parse_u32("101", 0, 100, &v), 0);
	assert_int_not_equal(bpfc_parse_u32("-1", 0, 100, &v), 0);
	assert_int_not_equal(bpfc_parse_u32("4294967296", 0, UINT32_MAX, &v), 0);
	assert_int_not_equal(bpfc_parse_u32("99999999999999999999999", 0, UINT32_MAX, &v), 0);
	assert_int_not_equal(bpfc_parse_u32("1e3", 0, 10000, &v), 0);
	assert_int_not_equal(bpfc_parse_u32("", 0, 10, &v), 0);
	assert_int_not_equal(bpfc_parse_port("0", &port), 0);
	assert_int_equal(bpfc_parse_port("65535", &port), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(endpoint_roundtrip), cmocka_unit_test(endpoint_rejects),
		cmocka_unit_test(prefix_parse),
		cmocka_unit_test(numbers),
	};

	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
