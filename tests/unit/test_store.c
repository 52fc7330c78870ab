// SPDX-License-Identifier: GPL-2.0
/* The manager's SQLite store: what is written survives a close and reopen. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "store.h"

static const struct store_ops *ops = &store_sqlite_ops;
static char path[64];

struct seen {
	struct store_stream streams[4];
	struct store_sub subs[8];
	struct store_peer peers[4];
	struct store_relay relays[4];
	int n_streams, n_subs, n_peers, n_relays;
};

static int on_stream(void *ctx, const struct store_stream *s)
{
	struct seen *x = ctx;

	x->streams[x->n_streams++] = *s;
	return 0;
}

static int on_sub(void *ctx, const struct store_sub *s)
{
	struct seen *x = ctx;

	x->subs[x->n_subs++] = *s;
	return 0;
}

static int on_peer(void *ctx, const struct store_peer *p)
{
	struct seen *x = ctx;

	x->peers[x->n_peers++] = *p;
	return 0;
}

static int on_relay(void *ctx, const struct store_relay *r)
{
	struct seen *x = ctx;

	x->relays[x->n_relays++] = *r;
	return 0;
}

static const struct store_visitor visitor = {
	.stream = on_stream, .sub = on_sub, .peer = on_peer, .relay = on_relay,
};

static int setup(void **state)
{
	snprintf(path, sizeof(path), "/tmp/bpfcast-store-test-%d.db", getpid());
	unlink(path);
	return 0;
}

static int teardown(void **state)
{
	char aux[80];

	unlink(path);
	snprintf(aux, sizeof(aux), "%s-wal", path);
	unlink(aux);
	snprintf(aux, sizeof(aux), "%s-shm", path);
	unlink(aux);
	return 0;
}

static struct store *open_store(void)
{
	char err[256];
	struct store *st = ops->open(path, err, sizeof(err));

	if (!st)
		fail_msg("open: %s", err);
	return st;
}

static void restart_round_trip(void **state)
{
	struct store_stream s = { .origin = "relay-a",
				  .th = { .offload_above = 10, .offload_above_mbps = 500,
					  .cease_below = 3, .hold_s = 5 } };
	struct store_sub sub = { .stream = "news", .relay = "relay-b" };
	struct store_peer peer = { .stream = "news", .from = "relay-a", .to = "relay-b" };
	struct store_relay relay = { .id = "relay-b", .has4 = true, .max_subs = 900, .max_mbps = 40 };
	struct seen seen = {};
	struct store *st = open_store();
	__u8 fam;

	bpfc_parse_addr("198.18.7.7", &fam, &relay.a4);
	strcpy(s.spec.name, "news");
	bpfc_parse_endpoint("239.255.0.1:5000", &s.spec.ingest);
	bpfc_parse_prefix("198.18.0.0/24", &s.spec.source);
	s.spec.has_source = true;
	s.spec.egress_port = 5004;
	bpfc_parse_endpoint("[2001:2::9]:6000", &sub.ep);

	assert_int_equal(ops->begin(st), 0);
	assert_int_equal(ops->put_stream(st, &s), 0);
	assert_int_equal(ops->put_peer(st, &peer), 0);
	assert_int_equal(ops->put_sub(st, &sub), 0);
	assert_int_equal(ops->put_relay(st, &relay), 0);
	assert_int_equal(ops->commit(st), 0);
	ops->close(st);

	st = open_store();
	assert_int_equal(ops->load(st, &visitor, &seen), 0);
	assert_int_equal(seen.n_streams, 1);
	assert_true(bpfc_stream_spec_equal(&seen.streams[0].spec, &s.spec));
	assert_string_equal(seen.streams[0].origin, "relay-a");
	assert_memory_equal(&seen.streams[0].th, &s.th, sizeof(s.th));
	assert_int_equal(seen.n_subs, 1);
	assert_true(bpfc_endpoint_equal(&seen.subs[0].ep, &sub.ep));
	assert_string_equal(seen.subs[0].relay, "relay-b");
	assert_int_equal(seen.n_peers, 1);
	assert_string_equal(seen.peers[0].to, "relay-b");
	assert_int_equal(seen.n_relays, 1);
	assert_string_equal(seen.relays[0].id, "relay-b");
	assert_true(seen.relays[0].has4 && !seen.relays[0].has6);
	assert_int_equal(seen.relays[0].a4.v4, relay.a4.v4);
	assert_int_equal(seen.relays[0].max_subs, 900);
	ops->close(st);
}

static void updates_and_deletes(void **state)
{
	struct store_stream s = { .origin = "a", .th = { .offload_above = 4 } };
	struct store_sub sub = { .stream = "x", .relay = "a" };
	struct seen seen = {};
	struct store *st = open_store();

	strcpy(s.spec.name, "x");
	bpfc_parse_endpoint("198.18.0.1:5000", &s.spec.ingest);
	bpfc_parse_endpoint("198.18.1.1:6000", &sub.ep);
	assert_int_equal(ops->put_stream(st, &s), 0);
	assert_int_equal(ops->put_sub(st, &sub), 0);
	strcpy(sub.relay, "b");			/* moved: same key, new relay */
	assert_int_equal(ops->put_sub(st, &sub), 0);
	s.th.offload_above = 8;
	assert_int_equal(ops->put_stream(st, &s), 0);
	assert_int_equal(ops->load(st, &visitor, &seen), 0);
	assert_int_equal(seen.n_subs, 1);
	assert_string_equal(seen.subs[0].relay, "b");
	assert_int_equal(seen.streams[0].th.offload_above, 8);

	/* A rolled-back change leaves nothing. */
	assert_int_equal(ops->begin(st), 0);
	assert_int_equal(ops->del_sub(st, "x", &sub.ep), 0);
	assert_int_equal(ops->rollback(st), 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(ops->load(st, &visitor, &seen), 0);
	assert_int_equal(seen.n_subs, 1);

	/* Deleting a stream takes its subscriptions with it. */
	assert_int_equal(ops->del_stream(st, "x"), 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(ops->load(st, &visitor, &seen), 0);
	assert_int_equal(seen.n_streams + seen.n_subs + seen.n_peers, 0);
	ops->close(st);
}

static void bad_path(void **state)
{
	char err[256] = "";

	assert_null(ops->open("/nonexistent-dir/x.db", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent-dir/x.db"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(restart_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(updates_and_deletes, setup, teardown),
		cmocka_unit_test(bad_path),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
