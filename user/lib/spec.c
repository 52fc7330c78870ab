// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <string.h>
#include "spec.h"

const char *bpfc_stream_name_invalid(const char *name)
{
	size_t len = strnlen(name, BPFC_STREAM_NAME_LEN);
	const char *c;

	if (len == 0)
		return "stream name is empty";
	if (len >= BPFC_STREAM_NAME_LEN)
		return "stream name is longer than 31 characters";
	for (c = name; *c; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
			return "stream name may use only letters, digits, '-', '_' and '.'";
	}
	return NULL;
}

const char *bpfc_stream_spec_invalid(const struct bpfc_stream_spec *s)
{
	const char *why = bpfc_stream_name_invalid(s->name);

	if (why)
		return why;
	if (s->ingest.family != BPFC_AF_INET && s->ingest.family != BPFC_AF_INET6)
		return "ingest address is missing";
	if (s->ingest.port == 0)
		return "ingest port 0 is not valid";
	if (s->has_source && s->source.family != s->ingest.family)
		return "source and ingest addresses are of different families";
	return NULL;
}

bool bpfc_stream_spec_equal(const struct bpfc_stream_spec *a, const struct bpfc_stream_spec *b)
{
	__u16 ea = a->egress_port ? a->egress_port : a->ingest.port;
	__u16 eb = b->egress_port ? b->egress_port : b->ingest.port;

	return !strcmp(a->name, b->name) && bpfc_endpoint_equal(&a->ingest, &b->ingest) &&
	       a->has_source == b->has_source && ea == eb && a->max_subs == b->max_subs &&
	       a->max_mbps == b->max_mbps &&
	       (!a->has_source || (a->source.plen == b->source.plen &&
				   !memcmp(&a->source.addr, &b->source.addr, sizeof(a->source.addr))));
}

void bpfc_stream_key_build(const struct bpfc_endpoint *ingest, struct bpfc_stream_key *key)
{
	memset(key, 0, sizeof(*key));
	key->family = ingest->family;
	key->port = htons(ingest->port);
	key->addr = ingest->addr;
}

void bpfc_stream_build(const struct bpfc_stream_spec *s, __u32 id, struct bpfc_stream *out)
{
	memset(out, 0, sizeof(*out));
	out->id = id;
	if (s->has_source) {
		out->flags |= BPFC_STREAM_F_SOURCE;
		out->source_family = s->source.family;
		out->source_plen = s->source.plen;
		out->source = s->source.addr;
	}
	if (bpfc_addr_is_multicast(s->ingest.family, &s->ingest.addr))
		out->flags |= BPFC_STREAM_F_MCAST;
	out->egress_port = htons(s->egress_port ? s->egress_port : s->ingest.port);
	memcpy(out->name, s->name, sizeof(out->name) - 1);
	out->max_subs = s->max_subs;
	out->max_mbps = s->max_mbps;
}

void bpfc_stream_spec_from(const struct bpfc_stream_key *key, const struct bpfc_stream *st,
			   struct bpfc_stream_spec *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->name, st->name, sizeof(s->name) - 1);
	s->ingest.family = key->family;
	s->ingest.port = ntohs(key->port);
	s->ingest.addr = key->addr;
	s->has_source = st->flags & BPFC_STREAM_F_SOURCE;
	if (s->has_source) {
		s->source.family = st->source_family;
		s->source.plen = st->source_plen;
		s->source.addr = st->source;
	}
	s->egress_port = ntohs(st->egress_port);
	s->max_subs = st->max_subs;
	s->max_mbps = st->max_mbps;
}

void bpfc_sub_build(const struct bpfc_endpoint *ep, __u8 kind, __u32 id, __u32 stream_id,
		    struct bpfc_sub *out)
{
	memset(out, 0, sizeof(*out));
	out->id = id;
	out->stream_id = stream_id;
	out->family = ep->family;
	out->kind = kind;
	out->port = htons(ep->port);
	out->addr = ep->addr;
}

void bpfc_sub_endpoint(const struct bpfc_sub *sub, struct bpfc_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = sub->family;
	ep->port = ntohs(sub->port);
	ep->addr = sub->addr;
}

const char *bpfc_sub_kind_str(__u8 kind)
{
	return kind == BPFC_SUB_PEER ? "peer" : "device";
}
