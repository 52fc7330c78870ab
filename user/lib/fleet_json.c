// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include "fleet_json.h"
#include "spec.h"
#include "tlv.h"

json_object *bpfc_fleet_json_new(void)
{
	json_object *root = json_object_new_object();

	json_object_object_add(root, "relays", json_object_new_array());
	json_object_object_add(root, "streams", json_object_new_array());
	json_object_object_add(root, "events", json_object_new_array());
	return root;
}

static const char *str_of(const struct nlattr *a)
{
	return a ? mnl_attr_get_str(a) : "";
}

static __u32 u32_of(const struct nlattr *a)
{
	return a ? mnl_attr_get_u32(a) : 0;
}

static json_object *array_of(json_object *o, const char *key)
{
	json_object *a = NULL;

	json_object_object_get_ex(o, key, &a);
	return a;
}

static json_object *find_stream(json_object *root, const char *name)
{
	json_object *streams = array_of(root, "streams"), *n;
	size_t i;

	for (i = 0; i < json_object_array_length(streams); i++) {
		json_object *s = json_object_array_get_idx(streams, i);

		if (json_object_object_get_ex(s, "name", &n) && !strcmp(json_object_get_string(n), name))
			return s;
	}
	return NULL;
}

static void add_relay(json_object *root, const struct nlattr **tb)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(str_of(tb[BPFC_A_RELAY_ID])));
	json_object_object_add(o, "connected", json_object_new_boolean(
		tb[BPFC_A_CONNECTED] && mnl_attr_get_u8(tb[BPFC_A_CONNECTED])));
	json_object_object_add(o, "streams",
			       json_object_new_int64(u32_of(tb[BPFC_A_COUNT_STREAMS])));
	json_object_object_add(o, "subscribers", json_object_new_int64(u32_of(tb[BPFC_A_COUNT_SUBS])));
	json_object_object_add(o, "max_subscribers", json_object_new_int64(u32_of(tb[BPFC_A_MAX_SUBS])));
	json_object_object_add(o, "egress_mbps", json_object_new_int64(u32_of(tb[BPFC_A_RATE_MBPS])));
	json_object_array_add(array_of(root, "relays"), o);
}

static int add_stream(json_object *root, const struct nlattr **tb, const char **err)
{
	const struct nlattr *th[BPFC_TH_MAX + 1];
	char ep[BPFC_ENDPOINT_STRLEN];
	struct bpfc_stream_spec ss;
	json_object *o, *t;

	if (bpfc_get_stream_spec(tb, &ss, err))
		return -EBADMSG;
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(ss.name));
	json_object_object_add(o, "ingest", json_object_new_string(
		bpfc_endpoint_str(&ss.ingest, ep, sizeof(ep))));
	json_object_object_add(o, "origin", json_object_new_string(str_of(tb[BPFC_A_ORIGIN])));
	json_object_object_add(o, "bitrate_mbps", json_object_new_int64(u32_of(tb[BPFC_A_RATE_MBPS])));
	json_object_object_add(o, "max_subs", json_object_new_int64(ss.max_subs));
	json_object_object_add(o, "max_mbps", json_object_new_int64(ss.max_mbps));
	t = json_object_new_object();
	if (tb[BPFC_A_THRESHOLDS] &&
	    !bpfc_nest_parse(tb[BPFC_A_THRESHOLDS], bpfc_th_policy, BPFC_TH_MAX, th, err)) {
		json_object_object_add(t, "offload_above",
				       json_object_new_int64(u32_of(th[BPFC_TH_OFFLOAD_ABOVE])));
		json_object_object_add(t, "offload_above_mbps",
				       json_object_new_int64(u32_of(th[BPFC_TH_OFFLOAD_ABOVE_MBPS])));
		json_object_object_add(t, "cease_below",
				       json_object_new_int64(u32_of(th[BPFC_TH_CEASE_BELOW])));
		json_object_object_add(t, "hold", json_object_new_int64(u32_of(th[BPFC_TH_HOLD])));
	}
	json_object_object_add(o, "thresholds", t);
	json_object_object_add(o, "peers", json_object_new_array());
	json_object_object_add(o, "subscribers", json_object_new_array());
	json_object_array_add(array_of(root, "streams"), o);
	return 0;
}

static const char *consent_state(const struct nlattr *nest, __u32 *left)
{
	const struct nlattr *tb[BPFC_CONSENT_MAX + 1];
	const char *err;

	*left = 0;
	if (!nest || bpfc_nest_parse(nest, bpfc_consent_policy, BPFC_CONSENT_MAX, tb, &err) ||
	    !tb[BPFC_CONSENT_STATE])
		return "unknown";
	*left = tb[BPFC_CONSENT_MS_LEFT] ? mnl_attr_get_u32(tb[BPFC_CONSENT_MS_LEFT]) : 0;
	switch (mnl_attr_get_u8(tb[BPFC_CONSENT_STATE])) {
	case BPFC_CS_STATIC: return "static";
	case BPFC_CS_PENDING: return "pending";
	case BPFC_CS_FRESH: return "fresh";
	case BPFC_CS_EXPIRED: return "expired";
	default: return "unknown";
	}
}

static void add_member(json_object *root, __u16 type, const struct nlattr **tb)
{
	json_object *parent = find_stream(root, str_of(tb[BPFC_A_STREAM_NAME])), *o;
	char ep[BPFC_ENDPOINT_STRLEN];
	struct bpfc_sub_spec us;
	const char *err;
	__u32 left;

	if (!parent)
		return;
	o = json_object_new_object();
	if (type == BPFC_MSG_PEER) {
		json_object_object_add(o, "from", json_object_new_string(str_of(tb[BPFC_A_FROM])));
		json_object_object_add(o, "to", json_object_new_string(str_of(tb[BPFC_A_TO])));
		json_object_array_add(array_of(parent, "peers"), o);
		return;
	}
	if (bpfc_get_sub_spec(tb, &us, &err)) {
		json_object_put(o);
		return;
	}
	json_object_object_add(o, "addr", json_object_new_string(
		bpfc_endpoint_str(&us.ep, ep, sizeof(ep))));
	json_object_object_add(o, "relay", json_object_new_string(str_of(tb[BPFC_A_RELAY])));
	json_object_object_add(o, "consent", json_object_new_string(
		consent_state(tb[BPFC_A_CONSENT], &left)));
	json_object_object_add(o, "consent_ms_left", json_object_new_int64(left));
	json_object_array_add(array_of(parent, "subscribers"), o);
}

static void add_event(json_object *root, const struct nlattr **tb)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "time_ms", json_object_new_uint64(
		tb[BPFC_A_TIME_MS] ? mnl_attr_get_u64(tb[BPFC_A_TIME_MS]) : 0));
	json_object_object_add(o, "stream", json_object_new_string(str_of(tb[BPFC_A_STREAM_NAME])));
	json_object_object_add(o, "text", json_object_new_string(str_of(tb[BPFC_A_TEXT])));
	json_object_array_add(array_of(root, "events"), o);
}

int bpfc_fleet_json_add(json_object *root, const struct nlmsghdr *nlh, const char **err)
{
	const struct nlattr *tb[BPFC_A_MAX + 1];

	if (bpfc_msg_parse(nlh, bpfc_msg_policy, BPFC_A_MAX, tb, err))
		return -EBADMSG;
	switch (nlh->nlmsg_type) {
	case BPFC_MSG_RELAY_INFO:
		add_relay(root, tb);
		return 0;
	case BPFC_MSG_STREAM:
		return add_stream(root, tb, err);
	case BPFC_MSG_PEER:
	case BPFC_MSG_SUB:
		add_member(root, nlh->nlmsg_type, tb);
		return 0;
	case BPFC_MSG_EVENT:
		add_event(root, tb);
		return 0;
	default:
		return 0;	/* a newer manager: skip what we don't know */
	}
}
