/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Subscriber consent: tokens (who may subscribe where), challenge nonces
 * (return routability) and the device messages of the JOIN handshake. Pure
 * functions on buffers, so the parser is unit-tested and fuzzed.
 */
#ifndef BPFCAST_CONSENT_H
#define BPFCAST_CONSENT_H

#include <stdbool.h>
#include <stddef.h>
#include "bpfcast/proto.h"
#include "addr.h"

#define BPFC_KEY_LEN		32
/* "STREAM:" + 80 hex digits + NUL */
#define BPFC_TOKEN_STRLEN	(BPFC_STREAM_NAME_LEN + 1 + 2 * BPFC_TOKEN_LEN + 1)

struct bpfc_key {
	__u8 bytes[BPFC_KEY_LEN];
};

/* A key file: 64 hex digits, mode 0600 or stricter. Returns 0 or -errno with err filled. */
int bpfc_key_load(const char *path, struct bpfc_key *key, char *err, size_t errlen);
/* Create a new random key file with mode 0600; refuses to overwrite. */
int bpfc_key_create(const char *path, char *err, size_t errlen);

/* The token for (stream, ep) valid until `expires` (Unix seconds). */
void bpfc_token_sign(const struct bpfc_key *key, const char *stream,
		     const struct bpfc_endpoint *ep, __u64 expires, __u8 token[BPFC_TOKEN_LEN]);
/* NULL when the token admits ep to stream at time `now`, else why not. */
const char *bpfc_token_check(const struct bpfc_key *key, const char *stream,
			     const struct bpfc_endpoint *ep, const __u8 token[BPFC_TOKEN_LEN],
			     __u64 now);
__u64 bpfc_token_expires(const __u8 token[BPFC_TOKEN_LEN]);
/* "STREAM:HEX"; parse returns 0 or -EINVAL. */
void bpfc_token_format(const char *stream, const __u8 token[BPFC_TOKEN_LEN],
		       char out[BPFC_TOKEN_STRLEN]);
int bpfc_token_parse(const char *text, char stream[BPFC_STREAM_NAME_LEN],
		     __u8 token[BPFC_TOKEN_LEN]);

/*
 * A challenge nonce bound to (stream, ep) and a time window: the relay keeps
 * no state for a JOIN until the device proves it received the CHALLENGE.
 */
void bpfc_nonce_make(const struct bpfc_key *secret, const char *stream,
		     const struct bpfc_endpoint *ep, __u64 window, __u8 nonce[BPFC_NONCE_LEN]);

/* One device message: JOIN, CHALLENGE, KEEPALIVE, LEAVE, or the relay's answer (NLMSG_ERROR). */
struct bpfc_device_msg {
	__u16 type;
	__u32 seq;
	char stream[BPFC_STREAM_NAME_LEN];
	bool has_token, has_nonce;
	__u8 token[BPFC_TOKEN_LEN];
	__u8 nonce[BPFC_NONCE_LEN];
	int error;			/* NLMSG_ERROR: 0 for an ACK */
	char text[128];			/* NLMSG_ERROR: the relay's reason */
};

/*
 * Parse one datagram. It must hold exactly one message of a device type with
 * the attributes that type needs. Returns 0 or -EBADMSG/-EINVAL with *err.
 */
int bpfc_device_msg_parse(const void *buf, size_t len, struct bpfc_device_msg *m,
			  const char **err);
/* Build one into buf (at least 256 bytes). Returns its length. */
size_t bpfc_device_msg_build(void *buf, const struct bpfc_device_msg *m);

#endif
