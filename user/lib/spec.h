/* SPDX-License-Identifier: GPL-2.0 */
/* Streams and subscribers as users describe them, and the map entries built from them. */
#ifndef BPFCAST_SPEC_H
#define BPFCAST_SPEC_H

#include <stdbool.h>
#include "addr.h"
#include "bpfcast/proto.h"

struct bpfc_stream_spec {
	char name[BPFC_STREAM_NAME_LEN];
	struct bpfc_endpoint ingest;
	bool has_source;
	struct bpfc_prefix source;
	__u16 egress_port;		/* 0: same as the ingest port */
	__u32 max_subs;			/* quota: devices per relay; 0: none */
	__u32 max_mbps;			/* quota: egress Mbps per relay; 0: none */
};

struct bpfc_sub_spec {
	char stream[BPFC_STREAM_NAME_LEN];
	struct bpfc_endpoint ep;
	__u8 kind;			/* enum bpfc_sub_kind */
	bool is_static;			/* operator's choice: no consent needed */
	bool has_consent;		/* carries a consent: a JOIN, or one handed over */
	__u32 consent_ms;		/* consent left */
	__u8 nonce[BPFC_NONCE_LEN];	/* the keepalive secret */
};

/* NULL when valid, else why not. */
const char *bpfc_stream_name_invalid(const char *name);
const char *bpfc_stream_spec_invalid(const struct bpfc_stream_spec *s);
bool bpfc_stream_spec_equal(const struct bpfc_stream_spec *a, const struct bpfc_stream_spec *b);

void bpfc_stream_key_build(const struct bpfc_endpoint *ingest, struct bpfc_stream_key *key);
void bpfc_stream_build(const struct bpfc_stream_spec *s, __u32 id, struct bpfc_stream *out);
void bpfc_stream_spec_from(const struct bpfc_stream_key *key, const struct bpfc_stream *st,
			   struct bpfc_stream_spec *s);
void bpfc_sub_build(const struct bpfc_endpoint *ep, __u8 kind, __u32 id, __u32 stream_id,
		    struct bpfc_sub *out);
void bpfc_sub_endpoint(const struct bpfc_sub *sub, struct bpfc_endpoint *ep);

const char *bpfc_sub_kind_str(__u8 kind);

#endif
