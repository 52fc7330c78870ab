// SPDX-License-Identifier: GPL-2.0
/* Consent: tokens, key files, nonces and the device messages of the JOIN handshake. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "consent.h"
#include "tlv.h"

static const struct bpfc_key key = { .bytes = { 0x42, 1, 2, 3 } };

static struct bpfc_endpoint ep(const char *s)
{
	struct bpfc_endpoint e;

	assert_int_equal(bpfc_parse_endpoint(s, &e), 0);
	return e;
}

static void token_binds_everything(void **state)
{
	struct bpfc_endpoint dev = ep("198.18.81.2:7000");
	__u8 t[BPFC_TOKEN_LEN];

	bpfc_token_sign(&key, "news", &dev, 2000, t);
	assert_null(bpfc_token_check(&key, "news", &dev, t, 1999));
	assert_string_equal(bpfc_token_check(&key, "news", &dev, t, 2000), "token has expired");
	assert_non_null(bpfc_token_check(&key, "sports", &dev, t, 1));
	dev.port = 7001;
	assert_non_null(bpfc_token_check(&key, "news", &dev, t, 1));
	dev = ep("198.18.81.3:7000");
	assert_non_null(bpfc_token_check(&key, "news", &dev, t, 1));
	dev = ep("[2001:2::2]:7000");
	assert_non_null(bpfc_token_check(&key, "news", &dev, t, 1));
	dev = ep("198.18.81.2:7000");
	t[0] ^= 1;	/* a later expiry the holder wrote in */
	assert_non_null(bpfc_token_check(&key, "news", &dev, t, 1));
	t[0] ^= 1;
	{
		struct bpfc_key other = key;

		other.bytes[31] ^= 0x80;
		assert_non_null(bpfc_token_check(&other, "news", &dev, t, 1));
	}
}

static void token_text_roundtrip(void **state)
{
	struct bpfc_endpoint dev = ep("[2001:2::9]:6000");
	__u8 t[BPFC_TOKEN_LEN], back[BPFC_TOKEN_LEN];
	char text[BPFC_TOKEN_STRLEN], stream[BPFC_STREAM_NAME_LEN];

	bpfc_token_sign(&key, "news.hd-1", &dev, 123456789, t);
	bpfc_token_format("news.hd-1", t, text);
	assert_int_equal(bpfc_token_parse(text, stream, back), 0);
	assert_string_equal(stream, "news.hd-1");
	assert_memory_equal(t, back, sizeof(t));
	assert_int_equal(bpfc_token_expires(back), 123456789);
	assert_int_equal(bpfc_token_parse("news:00", stream, back), -EINVAL);
	assert_int_equal(bpfc_token_parse(":" "0000000000000000000000000000000000000000"
					  "0000000000000000000000000000000000000000", stream, back),
			 -EINVAL);
	text[strlen(text) - 1] = 'x';
	assert_int_equal(bpfc_token_parse(text, stream, back), -EINVAL);
	assert_int_equal(bpfc_token_parse("no colon at all", stream, back), -EINVAL);
}

static void key_files(void **state)
{
	char dir[] = "/tmp/bpfc-key.XXXXXX", path[64], err[256];
	struct bpfc_key k1, k2;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/k", dir);
	assert_int_equal(bpfc_key_create(path, err, sizeof(err)), 0);
	assert_int_equal(bpfc_key_create(path, err, sizeof(err)), -EEXIST);	/* never overwritten */
	assert_int_equal(bpfc_key_load(path, &k1, err, sizeof(err)), 0);
	assert_int_equal(bpfc_key_load(path, &k2, err, sizeof(err)), 0);
	assert_memory_equal(&k1, &k2, sizeof(k1));
	chmod(path, 0640);
	assert_int_equal(bpfc_key_load(path, &k1, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "chmod 600"));
	unlink(path);
	f = fopen(path, "w");
	fputs("abcd\n", f);
	fclose(f);
	chmod(path, 0600);
	assert_int_equal(bpfc_key_load(path, &k1, err, sizeof(err)), -EINVAL);
	unlink(path);
	rmdir(dir);
}

static void nonces_bind_sender_and_window(void **state)
{
	struct bpfc_endpoint a = ep("198.18.81.2:7000"), b = ep("198.18.81.2:7001");
	__u8 n1[BPFC_NONCE_LEN], n2[BPFC_NONCE_LEN];

	bpfc_nonce_make(&key, "news", &a, 5, n1);
	bpfc_nonce_make(&key, "news", &a, 5, n2);
	assert_memory_equal(n1, n2, sizeof(n1));
	bpfc_nonce_make(&key, "news", &b, 5, n2);
	assert_memory_not_equal(n1, n2, sizeof(n1));
	bpfc_nonce_make(&key, "news", &a, 6, n2);
	assert_memory_not_equal(n1, n2, sizeof(n1));
}

static void device_messages(void **state)
{
	char buf[256] __attribute__((aligned(4)));
	struct bpfc_device_msg in = { .type = BPFC_MSG_JOIN, .seq = 9, .has_token = true };
	struct bpfc_device_msg out;
	const char *err;
	size_t len;

	strcpy(in.stream, "news");
	memset(in.token, 0xab, sizeof(in.token));
	len = bpfc_device_msg_build(buf, &in);
	assert_true(len >= BPFC_JOIN_MIN_LEN);	/* room for any answer: no amplification */
	assert_int_equal(bpfc_device_msg_parse(buf, len, &out, &err), 0);
	assert_string_equal(out.stream, "news");
	assert_true(out.has_token && !out.has_nonce);
	assert_memory_equal(out.token, in.token, sizeof(in.token));
	/* Exactly one message per datagram. */
	assert_int_equal(bpfc_device_msg_parse(buf, len - 4, &out, &err), -EBADMSG);
	assert_int_equal(bpfc_device_msg_parse(buf, len + 4, &out, &err), -EBADMSG);

	in.type = BPFC_MSG_KEEPALIVE;
	in.has_token = false;
	len = bpfc_device_msg_build(buf, &in);
	assert_int_equal(bpfc_device_msg_parse(buf, len, &out, &err), -EINVAL);	/* no nonce */
	in.has_nonce = true;
	len = bpfc_device_msg_build(buf, &in);
	assert_int_equal(bpfc_device_msg_parse(buf, len, &out, &err), 0);

	in.type = BPFC_MSG_CHALLENGE;
	len = bpfc_device_msg_build(buf, &in);
	assert_true(len < BPFC_JOIN_MIN_LEN);
	assert_int_equal(bpfc_device_msg_parse(buf, len, &out, &err), 0);

	in.type = BPFC_MSG_STREAM_ADD;	/* not a device message */
	len = bpfc_device_msg_build(buf, &in);
	assert_int_equal(bpfc_device_msg_parse(buf, len, &out, &err), -EBADMSG);
}

static void wrong_lengths(void **state)
{
	char buf[256] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = bpfc_msg_start(buf, BPFC_MSG_JOIN, NLM_F_REQUEST, 1);
	struct bpfc_device_msg out;
	const char *err;

	mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, "news");
	mnl_attr_put(nlh, BPFC_A_TOKEN, 39, buf + 200);
	assert_int_equal(bpfc_device_msg_parse(buf, nlh->nlmsg_len, &out, &err), -EINVAL);
	assert_string_equal(err, "token has the wrong length");
	nlh = bpfc_msg_start(buf, BPFC_MSG_KEEPALIVE, NLM_F_REQUEST, 1);
	mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, "news");
	mnl_attr_put(nlh, BPFC_A_NONCE, 17, buf + 200);
	assert_int_equal(bpfc_device_msg_parse(buf, nlh->nlmsg_len, &out, &err), -EINVAL);
	nlh = bpfc_msg_start(buf, BPFC_MSG_JOIN, NLM_F_REQUEST, 1);
	mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, "bad/name");
	assert_int_not_equal(bpfc_device_msg_parse(buf, nlh->nlmsg_len, &out, &err), 0);
}

/* Values docs/protocol.md and the raw-socket tests rely on. */
static void wire_values(void **state)
{
	assert_int_equal(BPFC_MSG_JOIN, 33);
	assert_int_equal(BPFC_MSG_CHALLENGE, 34);
	assert_int_equal(BPFC_MSG_KEEPALIVE, 35);
	assert_int_equal(BPFC_MSG_LEAVE, 36);
	assert_int_equal(BPFC_MSG_TOKEN_GET, 37);
	assert_int_equal(BPFC_MSG_TOKEN, 38);
	assert_int_equal(BPFC_MSG_CONSENT, 39);
	assert_int_equal(BPFC_A_TOKEN, 26);
	assert_int_equal(BPFC_A_NONCE, 27);
	assert_int_equal(BPFC_A_PAD, 36);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(token_binds_everything),
		cmocka_unit_test(token_text_roundtrip),
		cmocka_unit_test(key_files),
		cmocka_unit_test(nonces_bind_sender_and_window),
		cmocka_unit_test(device_messages),
		cmocka_unit_test(wrong_lengths),
		cmocka_unit_test(wire_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
