// SPDX-License-Identifier: GPL-2.0
/* Map entries built from user descriptions: exact bytes the data plane matches on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "spec.h"

static void stream_entries(void **state)
{
	struct bpfc_stream_spec s = { .name = "news" }, back;
	struct bpfc_stream_key key;
	struct bpfc_stream val;
	__be32 a;

	bpfc_parse_endpoint("239.255.0.1:5000", &s.ingest);
	bpfc_parse_prefix("198.18.0.0/15", &s.source);
	s.has_source = true;
	bpfc_stream_key_build(&s.ingest, &key);
	bpfc_stream_build(&s, 17, &val);

	inet_pton(AF_INET, "239.255.0.1", &a);
	assert_int_equal(key.family, BPFC_AF_INET);
	assert_int_equal(key.port, htons(5000));
	assert_int_equal(key.addr.v4, a);
	assert_int_equal(key.addr.v6[1] | key.addr.v6[2] | key.addr.v6[3] | key.pad, 0);
	assert_int_equal(val.id, 17);
	assert_int_equal(val.flags, BPFC_STREAM_F_SOURCE | BPFC_STREAM_F_MCAST);
	assert_int_equal(val.source_plen, 15);
	assert_int_equal(val.egress_port, htons(5000));	/* defaults to the ingest port */
	assert_string_equal(val.name, "news");

	bpfc_stream_spec_from(&key, &val, &back);
	assert_true(bpfc_stream_spec_equal(&s, &back));
}

static void unicast_v6_stream(void **state)
{
	struct bpfc_stream_spec s = { .name = "v6", .egress_port = 9 };
	struct bpfc_stream val;

	bpfc_parse_endpoint("[2001:2::1]:5000", &s.ingest);
	bpfc_stream_build(&s, 1, &val);
	assert_int_equal(val.flags, 0);
	assert_int_equal(val.egress_port, htons(9));
	assert_null(bpfc_stream_spec_invalid(&s));
	s.has_source = true;
	bpfc_parse_prefix("198.18.0.0/15", &s.source);
	assert_non_null(bpfc_stream_spec_invalid(&s));
}

static void sub_entries(void **state)
{
	struct bpfc_endpoint ep, back;
	struct bpfc_sub sub;
	__u8 want[16];

	bpfc_parse_endpoint("[2001:2::10]:6000", &ep);
	bpfc_sub_build(&ep, BPFC_SUB_PEER, 1234, 7, &sub);
	inet_pton(AF_INET6, "2001:2::10", want);
	assert_int_equal(sub.id, 1234);
	assert_int_equal(sub.stream_id, 7);
	assert_int_equal(sub.family, BPFC_AF_INET6);
	assert_int_equal(sub.kind, BPFC_SUB_PEER);
	assert_int_equal(sub.port, htons(6000));
	assert_memory_equal(sub.addr.v6, want, 16);
	bpfc_sub_endpoint(&sub, &back);
	assert_true(bpfc_endpoint_equal(&ep, &back));
	assert_string_equal(bpfc_sub_kind_str(sub.kind), "peer");
}

static void names(void **state)
{
	char long_name[40];

	assert_null(bpfc_stream_name_invalid("news-hd_2.main"));
	assert_non_null(bpfc_stream_name_invalid(""));
	assert_non_null(bpfc_stream_name_invalid("a b"));
	assert_non_null(bpfc_stream_name_invalid("ü"));
	memset(long_name, 'a', 32);
	long_name[32] = 0;
	assert_non_null(bpfc_stream_name_invalid(long_name));
	long_name[31] = 0;
	assert_null(bpfc_stream_name_invalid(long_name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stream_entries), cmocka_unit_test(unicast_v6_stream),
		cmocka_unit_test(sub_entries), cmocka_unit_test(names),
	};

	return cmocka_run_group_tests_name("spec", tests, NULL, NULL);
}
