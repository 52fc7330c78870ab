// SPDX-License-Identifier: GPL-2.0
/* The agent's config file: what it accepts, and the line and reason of every refusal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "config.h"

static void good_config(void **state)
{
	const char *text =
		"# a relay\n"
		"interface eth0\n"
		"interface eth1   # egress\n"
		"sample-interval-ms 250\n"
		"\n"
		"stream news-hd ingest 239.255.0.1:5000 source 198.18.0.0/24 egress-port 6000\n"
		"stream radio ingest [2001:2::1]:5004\n"
		"subscriber news-hd 198.18.1.10:6000\n"
		"subscriber news-hd [2001:2:1::10]:6000 peer\n"
		"\tsubscriber radio 198.18.1.10:7000\r\n";
	struct bpfc_config cfg;
	char err[256] = "";

	assert_int_equal(bpfc_config_parse(text, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_ifaces, 2);
	assert_string_equal(cfg.ifaces[1], "eth1");
	assert_int_equal(cfg.sample_ms, 250);
	assert_int_equal(cfg.n_streams, 2);
	assert_string_equal(cfg.streams[0].name, "news-hd");
	assert_true(cfg.streams[0].has_source);
	assert_int_equal(cfg.streams[0].source.plen, 24);
	assert_int_equal(cfg.streams[0].egress_port, 6000);
	assert_int_equal(cfg.streams[1].ingest.family, BPFC_AF_INET6);
	assert_int_equal(cfg.n_subs, 3);
	assert_int_equal(cfg.subs[1].kind, BPFC_SUB_PEER);
	assert_string_equal(cfg.subs[2].stream, "radio");
	bpfc_config_free(&cfg);
}

static void refusals(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "bogus x\n", "line 1: unknown directive 'bogus'" },
		{ "interface\n", "line 1: usage: interface" },
		{ "interface a\ninterface a\n", "line 2: interface 'a' given twice" },
		{ "interface 0123456789abcdefg\n", "line 1: interface name" },
		{ "stream s\n", "line 1: usage: stream" },
		{ "stream s ingest 198.18.0.1\n", "line 1: bad ingest '198.18.0.1'" },
		{ "stream s ingest 198.18.0.1:0\n", "line 1: bad ingest" },
		{ "stream s ingest 198.18.0.1:1 source 2001:2::/48\n", "different families" },
		{ "stream s ingest 198.18.0.1:1 source 198.18.0.0/40\n", "line 1: bad source" },
		{ "stream s ingest 198.18.0.1:1 egress-port 70000\n", "line 1: bad egress-port" },
		{ "stream s ingest 198.18.0.1:1 color red\n", "unknown stream option 'color'" },
		{ "stream bad/name ingest 198.18.0.1:1\n", "letters, digits" },
		{ "stream s ingest 198.18.0.1:1\nstream s ingest 198.18.0.1:2\n",
		  "line 2: stream 's' defined twice" },
		{ "stream a ingest 198.18.0.1:1\nstream b ingest 198.18.0.1:1\n",
		  "line 2: ingest of 'b' is already used by 'a'" },
		{ "subscriber s 198.18.0.5:1\n", "line 1: unknown stream 's'" },
		{ "stream s ingest 198.18.0.1:1\nsubscriber s 0.0.0.0:1\n", "line 2: subscriber 0.0.0.0:1" },
		{ "stream s ingest 198.18.0.1:1\nsubscriber s 127.0.0.1:1\n", "loopback" },
		{ "stream s ingest 198.18.0.1:1\nsubscriber s [::]:1\n", "line 2" },
		{ "stream s ingest 198.18.0.1:1\nsubscriber s 198.18.0.1:1\n", "this relay's ingest" },
		{ "stream s ingest 198.18.0.1:1\nsubscriber s 198.18.0.5:0\n", "bad subscriber" },
		{ "stream s ingest 198.18.0.1:1\nsubscriber s 198.18.0.5:9 device\n", "usage" },
		{ "stream s ingest 198.18.0.1:1\nsubscriber s 198.18.0.5:9\nsubscriber s 198.18.0.5:9\n",
		  "line 3: subscriber 198.18.0.5:9 listed twice" },
		{ "sample-interval-ms 5\n", "line 1: usage: sample-interval-ms" },
		{ "a b c d e f g h i j k l m n o p q\n", "too many words" },
		{ "deny 198.18.0.0/33\n", "line 1: bad deny prefix" },
		/* A deny line anywhere in the file applies to every subscriber. */
		{ "stream s ingest 198.18.0.1:1\nsubscriber s 198.18.5.5:9\ndeny 198.18.5.0/24 lab\n",
		  "line 2: subscriber 198.18.5.5:9: refused by deny rule 198.18.5.0/24 (lab)" },
	};
	struct bpfc_config cfg;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = 0;
		if (bpfc_config_parse(cases[i].text, &cfg, err, sizeof(err)) == 0)
			fail_msg("accepted: %s", cases[i].text);
		if (!strstr(err, cases[i].want))
			fail_msg("'%s': error '%s' lacks '%s'", cases[i].text, err, cases[i].want);
		/* Nothing half-parsed is left behind. */
		assert_int_equal(cfg.n_streams, 0);
		assert_null(cfg.streams);
	}
}

static void long_line(void **state)
{
	char text[2100], err[256];
	struct bpfc_config cfg;

	memset(text, 'x', sizeof(text) - 2);
	text[sizeof(text) - 2] = '\n';
	text[sizeof(text) - 1] = 0;
	assert_int_not_equal(bpfc_config_parse(text, &cfg, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "line 1: line longer"));
}

/* The example the README points operators to must itself be valid. */
static void missing_file(void **state)
{
	struct bpfc_config cfg;
	char err[256];

	assert_int_not_equal(bpfc_config_load("/nonexistent/bpfcast.conf", &cfg, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "cannot open"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_config), cmocka_unit_test(refusals),
		cmocka_unit_test(long_line), cmocka_unit_test(missing_file),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
