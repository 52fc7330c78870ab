// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "consent.h"
#include "spec.h"
#include "tlv.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int unhex(const char *s, size_t n, __u8 *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hi < 0 ? -1 : hexval(s[2 * i + 1]);

		if (lo < 0)
			return -EINVAL;
		out[i] = hi << 4 | lo;
	}
	return 0;
}

static void tohex(const __u8 *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int bpfc_key_load(const char *path, struct bpfc_key *key, char *err, size_t errlen)
{
	char text[2 * BPFC_KEY_LEN + 2];
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		snprintf(err, errlen, "cannot read key %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "key %s is readable by others (mode %03o); chmod 600 it",
			 path, st.st_mode & 0777);
		close(fd);
		return -EPERM;
	}
	n = read(fd, text, sizeof(text));
	close(fd);
	if (n < 2 * BPFC_KEY_LEN || (n > 2 * BPFC_KEY_LEN && text[2 * BPFC_KEY_LEN] != '\n') ||
	    unhex(text, BPFC_KEY_LEN, key->bytes)) {
		snprintf(err, errlen, "key %s: want %d hex digits", path, 2 * BPFC_KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

int bpfc_key_create(const char *path, char *err, size_t errlen)
{
	char text[2 * BPFC_KEY_LEN + 2];
	struct bpfc_key key;
	int fd, ret = 0;

	if (getrandom(key.bytes, sizeof(key.bytes), 0) != sizeof(key.bytes)) {
		snprintf(err, errlen, "no randomness: %s", strerror(errno));
		return -EIO;
	}
	tohex(key.bytes, BPFC_KEY_LEN, text);
	strcat(text, "\n");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create key %s: %s", path, strerror(errno));
		return -errno;
	}
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text) || fsync(fd)) {
		snprintf(err, errlen, "cannot write key %s: %s", path, strerror(errno));
		ret = -EIO;
		unlink(path);
	}
	close(fd);
	OPENSSL_cleanse(&key, sizeof(key));
	return ret;
}

/* What a token or nonce binds: one fixed layout, so no two inputs encode alike. */
struct binding {
	char label[8];
	char stream[BPFC_STREAM_NAME_LEN];
	__u8 family;
	__u8 pad;
	__be16 port;
	__u8 addr[16];
	__be32 when_hi, when_lo;	/* token expiry or nonce window */
} __attribute__((packed));

static void mac(const struct bpfc_key *key, const char *label, const char *stream,
		const struct bpfc_endpoint *ep, __u64 when, __u8 out[32])
{
	struct binding b;
	unsigned int len = 32;

	memset(&b, 0, sizeof(b));
	memcpy(b.label, label, strnlen(label, sizeof(b.label)));
	strncpy(b.stream, stream, sizeof(b.stream) - 1);
	b.family = ep->family;
	b.port = htons(ep->port);
	memcpy(b.addr, &ep->addr, ep->family == BPFC_AF_INET ? 4 : 16);
	b.when_hi = htonl(when >> 32);
	b.when_lo = htonl((__u32)when);
	HMAC(EVP_sha256(), key->bytes, BPFC_KEY_LEN, (const unsigned char *)&b, sizeof(b), out,
	     &len);
}

__u64 bpfc_token_expires(const __u8 token[BPFC_TOKEN_LEN])
{
	__u64 v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | token[i];
	return v;
}

void bpfc_token_sign(const struct bpfc_key *key, const char *stream,
		     const struct bpfc_endpoint *ep, __u64 expires, __u8 token[BPFC_TOKEN_LEN])
{
	int i;

	for (i = 0; i < 8; i++)
		token[i] = expires >> (56 - 8 * i);
	mac(key, "token1", stream, ep, expires, token + 8);
}

const char *bpfc_token_check(const struct bpfc_key *key, const char *stream,
			     const struct bpfc_endpoint *ep, const __u8 token[BPFC_TOKEN_LEN],
			     __u64 now)
{
	__u64 expires = bpfc_token_expires(token);
	__u8 want[32];

	mac(key, "token1", stream, ep, expires, want);
	if (CRYPTO_memcmp(want, token + 8, sizeof(want)))
		return "token is not valid for this stream, address and port";
	if (expires <= now)
		return "token has expired";
	return NULL;
}

void bpfc_token_format(const char *stream, const __u8 token[BPFC_TOKEN_LEN],
		       char out[BPFC_TOKEN_STRLEN])
{
	size_t n = strnlen(stream, BPFC_STREAM_NAME_LEN - 1);

	memcpy(out, stream, n);
	out[n] = ':';
	tohex(token, BPFC_TOKEN_LEN, out + n + 1);
}

int bpfc_token_parse(const char *text, char stream[BPFC_STREAM_NAME_LEN],
		     __u8 token[BPFC_TOKEN_LEN])
{
	const char *colon = strrchr(text, ':');
	size_t n;

	if (!colon || strlen(colon + 1) != 2 * BPFC_TOKEN_LEN)
		return -EINVAL;
	n = colon - text;
	if (n == 0 || n >= BPFC_STREAM_NAME_LEN)
		return -EINVAL;
	memcpy(stream, text, n);
	stream[n] = '\0';
	if (bpfc_stream_name_invalid(stream))
		return -EINVAL;
	return unhex(colon + 1, BPFC_TOKEN_LEN, token);
}

void bpfc_nonce_make(const struct bpfc_key *secret, const char *stream,
		     const struct bpfc_endpoint *ep, __u64 window, __u8 nonce[BPFC_NONCE_LEN])
{
	__u8 full[32];

	mac(secret, "nonce1", stream, ep, window, full);
	memcpy(nonce, full, BPFC_NONCE_LEN);
}

static bool device_type(__u16 type)
{
	return type == BPFC_MSG_JOIN || type == BPFC_MSG_CHALLENGE ||
	       type == BPFC_MSG_KEEPALIVE || type == BPFC_MSG_LEAVE;
}

static int parse_error(const struct nlmsghdr *nlh, struct bpfc_device_msg *m, const char **err)
{
	const char *text;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nlmsgerr)) {
		*err = "truncated answer";
		return -EBADMSG;
	}
	m->error = bpfc_get_ack(nlh, &text);
	if (text)
		snprintf(m->text, sizeof(m->text), "%s", text);
	return 0;
}

int bpfc_device_msg_parse(const void *buf, size_t len, struct bpfc_device_msg *m,
			  const char **err)
{
	const struct nlmsghdr *nlh = buf;
	const struct nlattr *tb[BPFC_A_MAX + 1];
	int ret;

	memset(m, 0, sizeof(*m));
	if (bpfc_msg_complete(buf, len) != (int)len) {
		*err = "datagram is not exactly one message";
		return -EBADMSG;
	}
	m->type = nlh->nlmsg_type;
	m->seq = nlh->nlmsg_seq;
	if (m->type == NLMSG_ERROR)
		return parse_error(nlh, m, err);
	if (!device_type(m->type)) {
		*err = "not a device message";
		return -EBADMSG;
	}
	ret = bpfc_msg_parse(nlh, bpfc_msg_policy, BPFC_A_MAX, tb, err);
	if (ret)
		return ret;
	if (tb[BPFC_A_TOKEN]) {
		if (mnl_attr_get_payload_len(tb[BPFC_A_TOKEN]) != BPFC_TOKEN_LEN) {
			*err = "token has the wrong length";
			return -EINVAL;
		}
		memcpy(m->token, mnl_attr_get_payload(tb[BPFC_A_TOKEN]), BPFC_TOKEN_LEN);
		m->has_token = true;
	}
	if (tb[BPFC_A_NONCE]) {
		if (mnl_attr_get_payload_len(tb[BPFC_A_NONCE]) != BPFC_NONCE_LEN) {
			*err = "nonce has the wrong length";
			return -EINVAL;
		}
		memcpy(m->nonce, mnl_attr_get_payload(tb[BPFC_A_NONCE]), BPFC_NONCE_LEN);
		m->has_nonce = true;
	}
	if (m->type == BPFC_MSG_CHALLENGE) {
		if (!m->has_nonce) {
			*err = "CHALLENGE without a nonce";
			return -EINVAL;
		}
		return 0;
	}
	ret = bpfc_get_stream_name(tb, m->stream, err);
	if (ret)
		return ret;
	if (m->type != BPFC_MSG_JOIN && !m->has_nonce) {
		*err = "KEEPALIVE and LEAVE carry the session's nonce";
		return -EINVAL;
	}
	return 0;
}

size_t bpfc_device_msg_build(void *buf, const struct bpfc_device_msg *m)
{
	struct nlmsghdr *nlh = bpfc_msg_start(buf, m->type, NLM_F_REQUEST, m->seq);

	if (m->type != BPFC_MSG_CHALLENGE)
		mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, m->stream);
	if (m->has_token)
		mnl_attr_put(nlh, BPFC_A_TOKEN, BPFC_TOKEN_LEN, m->token);
	if (m->has_nonce)
		mnl_attr_put(nlh, BPFC_A_NONCE, BPFC_NONCE_LEN, m->nonce);
	if (m->type == BPFC_MSG_JOIN && nlh->nlmsg_len + MNL_ATTR_HDRLEN < BPFC_JOIN_MIN_LEN) {
		static const __u8 zeros[BPFC_JOIN_MIN_LEN];

		mnl_attr_put(nlh, BPFC_A_PAD, BPFC_JOIN_MIN_LEN - nlh->nlmsg_len - MNL_ATTR_HDRLEN,
			     zeros);
	}
	return nlh->nlmsg_len;
}
