// SPDX-License-Identifier: GPL-2.0
/* The control-protocol codec: round trips and every malformed case. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "tlv.h"

static char buf[BPFC_MSG_MAX];

static struct bpfc_stream_spec sample_stream(void)
{
	struct bpfc_stream_spec s = {};

	strcpy(s.name, "news-hd");
	bpfc_parse_endpoint("[ff15::10]:5000", &s.ingest);
	bpfc_parse_prefix("2001:2:0:1::/64", &s.source);
	s.has_source = true;
	s.egress_port = 7000;
	return s;
}

static int parse(const struct nlmsghdr *nlh, const struct nlattr **tb, const char **err)
{
	return bpfc_msg_parse(nlh, bpfc_msg_policy, BPFC_A_MAX, tb, err);
}

static void stream_roundtrip(void **state)
{
	struct bpfc_stream_spec in = sample_stream(), out;
	const struct nlattr *tb[BPFC_A_MAX + 1];
	struct nlmsghdr *nlh = bpfc_msg_start(buf, BPFC_MSG_STREAM_ADD, NLM_F_REQUEST, 7);
	const char *err = NULL;

	bpfc_put_stream_spec(nlh, &in);
	assert_int_equal(bpfc_msg_complete(buf, nlh->nlmsg_len), (int)nlh->nlmsg_len);
	assert_int_equal(parse(nlh, tb, &err), 0);
	assert_int_equal(bpfc_get_stream_spec(tb, &out, &err), 0);
	assert_true(bpfc_stream_spec_equal(&in, &out));
	assert_int_equal(out.source.plen, 64);
	assert_int_equal(nlh->nlmsg_seq, 7);
}

static void sub_roundtrip(void **state)
{
	struct bpfc_sub_spec in = { .stream = "s1", .kind = BPFC_SUB_PEER }, out;
	const struct nlattr *tb[BPFC_A_MAX + 1];
	struct nlmsghdr *nlh = bpfc_msg_start(buf, BPFC_MSG_SUB_ADD, NLM_F_REQUEST, 1);
	const char *err;

	bpfc_parse_endpoint("198.18.5.5:6000", &in.ep);
	bpfc_put_sub_spec(nlh, &in);
	assert_int_equal(parse(nlh, tb, &err), 0);
	assert_int_equal(bpfc_get_sub_spec(tb, &out, &err), 0);
	assert_string_equal(out.stream, "s1");
	assert_true(bpfc_endpoint_equal(&in.ep, &out.ep));
	assert_int_equal(out.kind, BPFC_SUB_PEER);
}

static void ack_roundtrip(void **state)
{
	struct nlmsghdr req = { .nlmsg_len = 16, .nlmsg_type = BPFC_MSG_SUB_ADD, .nlmsg_seq = 9 };
	struct nlmsghdr *nlh;
	const char *msg;

	nlh = bpfc_put_ack(buf, &req, -ENOENT, "no such stream");
	assert_int_equal(nlh->nlmsg_seq, 9);
	assert_int_equal(bpfc_get_ack(nlh, &msg), -ENOENT);
	assert_string_equal(msg, "no such stream");
	nlh = bpfc_put_ack(buf, &req, 0, NULL);
	assert_int_equal(bpfc_get_ack(nlh, &msg), 0);
	assert_null(msg);
}

static void framing(void **state)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;

	memset(buf, 0, 64);
	assert_int_equal(bpfc_msg_complete(buf, 8), 0);		/* need more */
	nlh->nlmsg_len = 8;
	assert_int_equal(bpfc_msg_complete(buf, 16), -EBADMSG);	/* shorter than a header */
	nlh->nlmsg_len = BPFC_MSG_MAX + 1;
	assert_int_equal(bpfc_msg_complete(buf, 16), -EMSGSIZE);	/* over the limit */
	nlh->nlmsg_len = 100;
	assert_int_equal(bpfc_msg_complete(buf, 64), 0);		/* incomplete */
	assert_int_equal(bpfc_msg_complete(buf, 100), 100);
}

/* Build a message whose payload is raw bytes, for malformed cases. */
static struct nlmsghdr *raw(const void *payload, size_t len)
{
	struct nlmsghdr *nlh = bpfc_msg_start(buf, BPFC_MSG_STREAM_ADD, NLM_F_REQUEST, 1);

	memcpy(mnl_nlmsg_get_payload(nlh), payload, len);
	nlh->nlmsg_len += len;
	return nlh;
}

static void malformed(void **state)
{
	const struct nlattr *tb[BPFC_A_MAX + 1];
	struct nlmsghdr *nlh;
	const char *err;
	__u8 p[64];
	struct nlattr *a = (struct nlattr *)p;

	/* Attribute length beyond the message. */
	a->nla_type = BPFC_A_EGRESS_PORT;
	a->nla_len = 40;
	nlh = raw(p, 8);
	assert_int_equal(parse(nlh, tb, &err), -EBADMSG);
	assert_non_null(strstr(err, "truncated"));

	/* Attribute length shorter than its own header. */
	a->nla_len = 2;
	nlh = raw(p, 8);
	assert_int_equal(parse(nlh, tb, &err), -EBADMSG);

	/* Trailing bytes that are not an attribute. */
	a->nla_len = 6;
	a->nla_type = BPFC_A_EGRESS_PORT;
	nlh = raw(p, 8 + 3);
	assert_int_equal(parse(nlh, tb, &err), -EBADMSG);

	/* u16 attribute of the wrong size. */
	a->nla_len = 8;
	nlh = raw(p, 8);
	assert_int_equal(parse(nlh, tb, &err), -EBADMSG);
	assert_non_null(strstr(err, "length"));
}

static void duplicates_and_unknown(void **state)
{
	const struct nlattr *tb[BPFC_A_MAX + 1];
	struct nlmsghdr *nlh;
	const char *err;

	nlh = bpfc_msg_start(buf, BPFC_MSG_STREAM_DEL, NLM_F_REQUEST, 1);
	mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, "a");
	mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, "b");
	assert_int_equal(parse(nlh, tb, &err), -EBADMSG);
	assert_non_null(strstr(err, "duplicate"));

	/* Unknown attribute types are skipped, known ones still read. */
	nlh = bpfc_msg_start(buf, BPFC_MSG_STREAM_DEL, NLM_F_REQUEST, 1);
	mnl_attr_put_u32(nlh, 999, 1);
	mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, "a");
	assert_int_equal(parse(nlh, tb, &err), 0);
	assert_string_equal(mnl_attr_get_str(tb[BPFC_A_STREAM_NAME]), "a");
}

static void strings(void **state)
{
	const struct nlattr *tb[BPFC_A_MAX + 1];
	char name[BPFC_STREAM_NAME_LEN];
	struct nlmsghdr *nlh;
	const char *err;
	char big[64];

	/* Not NUL-terminated. */
	nlh = bpfc_msg_start(buf, BPFC_MSG_STREAM_DEL, NLM_F_REQUEST, 1);
	mnl_attr_put(nlh, BPFC_A_STREAM_NAME, 3, "abc");
	assert_int_equal(parse(nlh, tb, &err), -EBADMSG);
	/* Too long. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	nlh = bpfc_msg_start(buf, BPFC_MSG_STREAM_DEL, NLM_F_REQUEST, 1);
	mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, big);
	assert_int_equal(parse(nlh, tb, &err), -EBADMSG);
	/* Well-formed but not a valid name. */
	nlh = bpfc_msg_start(buf, BPFC_MSG_STREAM_DEL, NLM_F_REQUEST, 1);
	mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, "bad name!");
	assert_int_equal(parse(nlh, tb, &err), 0);
	assert_int_equal(bpfc_get_stream_name(tb, name, &err), -EINVAL);
	/* Missing. */
	nlh = bpfc_msg_start(buf, BPFC_MSG_STREAM_DEL, NLM_F_REQUEST, 1);
	assert_int_equal(parse(nlh, tb, &err), 0);
	assert_int_equal(bpfc_get_stream_name(tb, name, &err), -EINVAL);
	assert_non_null(strstr(err, "missing"));
}

static void nested(void **state)
{
	const struct nlattr *tb[BPFC_A_MAX + 1];
	struct bpfc_stream_spec s;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	const char *err;

	/* Address of a length that is neither IPv4 nor IPv6. */
	nlh = bpfc_msg_start(buf, BPFC_MSG_STREAM_ADD, NLM_F_REQUEST, 1);
	mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, "s");
	nest = mnl_attr_nest_start(nlh, BPFC_A_INGEST);
	mnl_attr_put(nlh, BPFC_EP_ADDR, 5, "\xc6\x12\0\1\2");
	mnl_attr_put_u16(nlh, BPFC_EP_PORT, 5000);
	mnl_attr_nest_end(nlh, nest);
	assert_int_equal(parse(nlh, tb, &err), 0);
	assert_int_equal(bpfc_get_stream_spec(tb, &s, &err), -EINVAL);
	assert_non_null(strstr(err, "address"));

	/* An inner attribute that overflows its nest. */
	nlh = bpfc_msg_start(buf, BPFC_MSG_STREAM_ADD, NLM_F_REQUEST, 1);
	mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, "s");
	nest = mnl_attr_nest_start(nlh, BPFC_A_INGEST);
	mnl_attr_put(nlh, BPFC_EP_ADDR, 4, "\xc6\x12\0\1");
	mnl_attr_nest_end(nlh, nest);
	((struct nlattr *)mnl_attr_get_payload(nest))->nla_len = 60;
	assert_int_equal(parse(nlh, tb, &err), 0);
	assert_int_equal(bpfc_get_stream_spec(tb, &s, &err), -EBADMSG);

	/* Missing port inside the nest. */
	nlh = bpfc_msg_start(buf, BPFC_MSG_STREAM_ADD, NLM_F_REQUEST, 1);
	mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, "s");
	nest = mnl_attr_nest_start(nlh, BPFC_A_INGEST);
	mnl_attr_put(nlh, BPFC_EP_ADDR, 4, "\xc6\x12\0\1");
	mnl_attr_nest_end(nlh, nest);
	assert_int_equal(parse(nlh, tb, &err), 0);
	assert_int_equal(bpfc_get_stream_spec(tb, &s, &err), -EINVAL);
	assert_non_null(strstr(err, "port"));

	/* Prefix longer than the family allows. */
	nlh = bpfc_msg_start(buf, BPFC_MSG_STREAM_ADD, NLM_F_REQUEST, 1);
	mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, "s");
	nest = mnl_attr_nest_start(nlh, BPFC_A_INGEST);
	mnl_attr_put(nlh, BPFC_EP_ADDR, 4, "\xc6\x12\0\1");
	mnl_attr_put_u16(nlh, BPFC_EP_PORT, 5000);
	mnl_attr_nest_end(nlh, nest);
	nest = mnl_attr_nest_start(nlh, BPFC_A_SOURCE);
	mnl_attr_put(nlh, BPFC_EP_ADDR, 4, "\xc6\x12\0\1");
	mnl_attr_put_u8(nlh, BPFC_EP_PLEN, 33);
	mnl_attr_nest_end(nlh, nest);
	assert_int_equal(parse(nlh, tb, &err), 0);
	assert_int_equal(bpfc_get_stream_spec(tb, &s, &err), -EINVAL);

	/* A nest attribute that is not even a header long. */
	nlh = bpfc_msg_start(buf, BPFC_MSG_STREAM_ADD, NLM_F_REQUEST, 1);
	mnl_attr_put(nlh, BPFC_A_INGEST, 2, "ab");
	assert_int_equal(parse(nlh, tb, &err), -EBADMSG);
}

static void bad_ack(void **state)
{
	struct nlmsghdr *nlh = bpfc_msg_start(buf, NLMSG_ERROR, 0, 1);
	const char *msg;

	assert_int_equal(bpfc_get_ack(nlh, &msg), -EBADMSG);	/* no nlmsgerr */
	nlh = bpfc_msg_start(buf, BPFC_MSG_STREAM, 0, 1);
	assert_int_equal(bpfc_get_ack(nlh, &msg), -EBADMSG);	/* not an ack */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stream_roundtrip), cmocka_unit_test(sub_roundtrip),
		cmocka_unit_test(ack_roundtrip),    cmocka_unit_test(framing),
		cmocka_unit_test(malformed),	    cmocka_unit_test(duplicates_and_unknown),
		cmocka_unit_test(strings),	    cmocka_unit_test(nested),
		cmocka_unit_test(bad_ack),
	};

	return cmocka_run_group_tests_name("tlv", tests, NULL, NULL);
}
