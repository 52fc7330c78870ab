// SPDX-License-Identifier: GPL-2.0
/* The offload policy: thresholds, hold, choice of peer, two-level trees, releases. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "policy.h"

enum { A, B, C, D };

static struct pol_fleet fleet;
static struct pol_stream st;
static struct pol_action acts[POL_MAX_ACTIONS];
static int n_acts;

static int setup(void **state)
{
	const struct pol_thresholds th = { .offload_above = 3, .cease_below = 2, .hold_s = 10 };
	int r;

	memset(&fleet, 0, sizeof(fleet));
	fleet.n_relays = 4;
	for (r = 0; r < 4; r++) {
		fleet.relay[r].connected = true;
		fleet.relay[r].max_subs = 100;
	}
	fleet.relay[C].max_subs = 50;	/* B has the most spare room */
	fleet.relay[D].max_subs = 10;
	pol_stream_init(&st, A, &th);
	n_acts = 0;
	return 0;
}

static int place(int device, __u64 now, bool *over)
{
	bool o;
	int r = pol_place_device(&fleet, &st, device, now, acts, &n_acts, over ? over : &o);

	if (r >= 0)
		fleet.relay[r].load++;
	return r;
}

static void expect(int i, enum pol_action_type t, int relay, int peer, int device)
{
	assert_true(i < n_acts);
	assert_int_equal(acts[i].type, t);
	assert_int_equal(acts[i].relay, relay);
	if (peer != POL_NONE)
		assert_int_equal(acts[i].peer, peer);
	if (device != POL_NONE)
		assert_int_equal(acts[i].device, device);
}

/* A relay shedding the stream (congested egress) takes no new device: offload. */
static void a_shedding_relay_gets_no_new_devices(void **state)
{
	bool over;

	assert_int_equal(place(0, 100, &over), A);
	st.shedding[A] = true;
	n_acts = 0;
	assert_int_equal(place(1, 100, &over), B);
	assert_false(over);
	expect(0, POL_STREAM_AT, B, POL_NONE, POL_NONE);
	expect(1, POL_PEER_ADD, A, B, POL_NONE);
	st.shedding[A] = false;
	n_acts = 0;
	assert_int_equal(place(2, 100, &over), A);
}

static void under_threshold_stays_on_origin(void **state)
{
	bool over;
	int d;

	for (d = 0; d < 3; d++)
		assert_int_equal(place(d, 100, &over), A);
	assert_false(over);
	assert_int_equal(n_acts, 3);
	expect(2, POL_DEVICE_ADD, A, POL_NONE, 2);
}

static void offload_picks_most_spare_and_orders_actions(void **state)
{
	int d;

	for (d = 0; d < 3; d++)
		place(d, 100, NULL);
	n_acts = 0;
	assert_int_equal(place(3, 100, NULL), B);
	/* B accepts the stream before A relays to it, before the device goes there. */
	expect(0, POL_STREAM_AT, B, POL_NONE, POL_NONE);
	expect(1, POL_PEER_ADD, A, B, POL_NONE);
	expect(2, POL_DEVICE_ADD, B, POL_NONE, 3);
	assert_int_equal(st.feeder[B], A);
	assert_int_equal(pol_depth(&st, B), 1);
	/* Further devices go to B while it has room. */
	assert_int_equal(place(4, 101, NULL), B);
}

static void disconnected_and_carrying_relays_are_not_chosen(void **state)
{
	int d;

	fleet.relay[B].connected = false;
	for (d = 0; d < 4; d++)
		place(d, 100, NULL);
	assert_int_equal(st.feeder[C], A);	/* C: next most spare, connected */
	assert_int_equal(st.feeder[B], POL_NONE);
}

static void hold_delays_the_next_decision(void **state)
{
	bool over;
	int d;

	for (d = 0; d < 6; d++)
		place(d, 100, NULL);	/* A: 3, B: 3 (offload at t=100) */
	assert_int_equal(place(6, 105, &over), A);	/* within hold: over threshold */
	assert_true(over);
	assert_int_equal(st.feeder[C], POL_NONE);
	assert_int_equal(place(7, 110, &over), C);	/* hold over: next peer */
	assert_false(over);
}

static void two_level_tree(void **state)
{
	int d;

	for (d = 0; d < 7; d++)
		place(d, 100 + d * 20, NULL);
	/* A -> B -> C: the new peer is fed by the deepest relay. */
	assert_int_equal(st.feeder[B], A);
	assert_int_equal(st.feeder[C], B);
	assert_int_equal(pol_depth(&st, C), 2);
	assert_int_equal(st.devices[C], 1);
}

static void no_candidate_means_over_threshold(void **state)
{
	bool over;
	int d;

	fleet.n_relays = 1;
	for (d = 0; d < 4; d++)
		place(d, 100, &over);
	assert_true(over);
	assert_int_equal(st.devices[A], 4);
}

static void release_moves_devices_back_make_before_break(void **state)
{
	int where[5], d;

	for (d = 0; d < 5; d++)
		where[d] = place(d, 100, NULL);		/* A: 0,1,2  B: 3,4 */
	/* Devices 0 and 1 leave A; device 4 leaves B: B has 1 < cease_below. */
	st.devices[A] -= 2;
	where[0] = where[1] = POL_NONE;
	st.devices[B] -= 1;
	where[4] = POL_NONE;
	n_acts = 0;
	assert_int_equal(pol_release(&fleet, &st, where, 5, 105, acts, &n_acts), POL_NONE);
	assert_int_equal(pol_release(&fleet, &st, where, 5, 110, acts, &n_acts), B);
	expect(0, POL_DEVICE_ADD, A, POL_NONE, 3);	/* A sends to it ... */
	expect(1, POL_DEVICE_DEL, B, POL_NONE, 3);	/* ... before B stops */
	expect(2, POL_PEER_DEL, A, B, POL_NONE);
	expect(3, POL_STREAM_DROP, B, POL_NONE, POL_NONE);
	assert_int_equal(n_acts, 4);
	assert_int_equal(where[3], A);
	assert_int_equal(st.devices[A], 2);
	assert_int_equal(st.feeder[B], POL_NONE);
}

static void release_needs_room_at_the_feeder(void **state)
{
	int where[5], d;

	for (d = 0; d < 5; d++)
		where[d] = place(d, 100, NULL);		/* A: 3  B: 2 */
	st.devices[B] = 1;
	where[4] = POL_NONE;
	/* A is full: B must stay, or the move would trigger a new offload. */
	assert_int_equal(pol_release(&fleet, &st, where, 5, 200, acts, &n_acts), POL_NONE);
	assert_int_equal(st.feeder[B], A);
}

static void a_feeding_peer_is_released_last(void **state)
{
	int where[8], d;

	for (d = 0; d < 7; d++)
		where[d] = place(d, 100 + d * 20, NULL);	/* A: 0-2  B: 3-5  C: 6 */
	/* B drops to 1 device, C has 1: C (a leaf) goes first, B feeds it. */
	st.devices[A] = 1;
	where[1] = where[2] = POL_NONE;
	st.devices[B] = 1;
	where[4] = where[5] = POL_NONE;
	n_acts = 0;
	assert_int_equal(pol_release(&fleet, &st, where, 7, 1000, acts, &n_acts), C);
	assert_int_equal(where[6], B);
	assert_int_equal(pol_release(&fleet, &st, where, 7, 1005, acts, &n_acts), POL_NONE);
	/* B now holds 2 devices: not below cease_below, so it stays ... */
	assert_int_equal(pol_release(&fleet, &st, where, 7, 1010, acts, &n_acts), POL_NONE);
	/* ... until one of them leaves. */
	st.devices[B] = 1;
	where[6] = POL_NONE;
	assert_int_equal(pol_release(&fleet, &st, where, 7, 1020, acts, &n_acts), B);
	assert_int_equal(where[3], A);
	assert_int_equal(st.devices[A], 2);
}

static void thresholds_validation(void **state)
{
	struct pol_thresholds th = { .offload_above = 10, .cease_below = 3 };

	assert_null(pol_thresholds_invalid(&th));
	th.cease_below = 10;
	assert_non_null(pol_thresholds_invalid(&th));
	th.offload_above = 0;
	th.cease_below = 0;
	assert_non_null(pol_thresholds_invalid(&th));
	th.offload_above = 5;
	th.hold_s = 100000;
	assert_non_null(pol_thresholds_invalid(&th));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(under_threshold_stays_on_origin, setup),
		cmocka_unit_test_setup(a_shedding_relay_gets_no_new_devices, setup),
		cmocka_unit_test_setup(offload_picks_most_spare_and_orders_actions, setup),
		cmocka_unit_test_setup(disconnected_and_carrying_relays_are_not_chosen, setup),
		cmocka_unit_test_setup(hold_delays_the_next_decision, setup),
		cmocka_unit_test_setup(two_level_tree, setup),
		cmocka_unit_test_setup(no_candidate_means_over_threshold, setup),
		cmocka_unit_test_setup(release_moves_devices_back_make_before_break, setup),
		cmocka_unit_test_setup(release_needs_room_at_the_feeder, setup),
		cmocka_unit_test_setup(a_feeding_peer_is_released_last, setup),
		cmocka_unit_test(thresholds_validation),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
