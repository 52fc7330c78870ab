// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "tlv.h"

const struct bpfc_policy bpfc_msg_policy[BPFC_A_MAX + 1] = {
	[BPFC_A_STREAM_NAME] = { MNL_TYPE_NUL_STRING, BPFC_STREAM_NAME_LEN },
	[BPFC_A_INGEST] = { MNL_TYPE_NESTED },
	[BPFC_A_SOURCE] = { MNL_TYPE_NESTED },
	[BPFC_A_EGRESS_PORT] = { MNL_TYPE_U16 },
	[BPFC_A_SUB] = { MNL_TYPE_NESTED },
	[BPFC_A_SUB_KIND] = { MNL_TYPE_U8 },
	[BPFC_A_STATS] = { MNL_TYPE_NESTED },
	[BPFC_A_DROPS] = { MNL_TYPE_NESTED },
	[BPFC_A_VERSION] = { MNL_TYPE_U32 },
	[BPFC_A_ROLE] = { MNL_TYPE_U8 },
	[BPFC_A_RELAY_ID] = { MNL_TYPE_NUL_STRING, 32 },
	[BPFC_A_DATA_ADDR4] = { MNL_TYPE_BINARY },
	[BPFC_A_DATA_ADDR6] = { MNL_TYPE_BINARY },
	[BPFC_A_MAX_SUBS] = { MNL_TYPE_U32 },
	[BPFC_A_MAX_MBPS] = { MNL_TYPE_U32 },
	[BPFC_A_ORIGIN] = { MNL_TYPE_NUL_STRING, 32 },
	[BPFC_A_THRESHOLDS] = { MNL_TYPE_NESTED },
	[BPFC_A_RELAY] = { MNL_TYPE_NUL_STRING, 32 },
	[BPFC_A_FROM] = { MNL_TYPE_NUL_STRING, 32 },
	[BPFC_A_TO] = { MNL_TYPE_NUL_STRING, 32 },
	[BPFC_A_CONNECTED] = { MNL_TYPE_U8 },
	[BPFC_A_COUNT_STREAMS] = { MNL_TYPE_U32 },
	[BPFC_A_COUNT_SUBS] = { MNL_TYPE_U32 },
	[BPFC_A_CAPS] = { MNL_TYPE_U32 },
	[BPFC_A_ANY_SOURCE] = { MNL_TYPE_U8 },
	[BPFC_A_TOKEN] = { MNL_TYPE_BINARY },
	[BPFC_A_NONCE] = { MNL_TYPE_BINARY },
	[BPFC_A_CONSENT_MS] = { MNL_TYPE_U32 },
	[BPFC_A_STATIC] = { MNL_TYPE_U8 },
	[BPFC_A_TTL] = { MNL_TYPE_U32 },
	[BPFC_A_TOKEN_TEXT] = { MNL_TYPE_NUL_STRING, 160 },
	[BPFC_A_EXPIRES] = { MNL_TYPE_U64 },
	[BPFC_A_JOIN] = { MNL_TYPE_NESTED },
	[BPFC_A_CONSENT] = { MNL_TYPE_NESTED },
	[BPFC_A_QUOTA] = { MNL_TYPE_NESTED },
	[BPFC_A_PAD] = { MNL_TYPE_BINARY },
	[BPFC_A_TIME_MS] = { MNL_TYPE_U64 },
	[BPFC_A_TEXT] = { MNL_TYPE_NUL_STRING, 256 },
	[BPFC_A_RATE_MBPS] = { MNL_TYPE_U32 },
};

const struct bpfc_policy bpfc_consent_policy[BPFC_CONSENT_MAX + 1] = {
	[BPFC_CONSENT_JOINS] = { MNL_TYPE_U64 },
	[BPFC_CONSENT_CHALLENGES] = { MNL_TYPE_U64 },
	[BPFC_CONSENT_REFUSED] = { MNL_TYPE_U64 },
	[BPFC_CONSENT_EXPIRIES] = { MNL_TYPE_U64 },
	[BPFC_CONSENT_LEAVES] = { MNL_TYPE_U64 },
	[BPFC_CONSENT_STATE] = { MNL_TYPE_U8 },
	[BPFC_CONSENT_MS_LEFT] = { MNL_TYPE_U32 },
};

static const struct bpfc_policy quota_policy[BPFC_QUOTA_MAX + 1] = {
	[BPFC_QUOTA_MAX_SUBS] = { MNL_TYPE_U32 },
	[BPFC_QUOTA_MAX_MBPS] = { MNL_TYPE_U32 },
};

const struct bpfc_policy bpfc_th_policy[BPFC_TH_MAX + 1] = {
	[BPFC_TH_OFFLOAD_ABOVE] = { MNL_TYPE_U32 },
	[BPFC_TH_OFFLOAD_ABOVE_MBPS] = { MNL_TYPE_U32 },
	[BPFC_TH_CEASE_BELOW] = { MNL_TYPE_U32 },
	[BPFC_TH_HOLD] = { MNL_TYPE_U32 },
};

static const struct bpfc_policy ep_policy[BPFC_EP_MAX + 1] = {
	[BPFC_EP_ADDR] = { MNL_TYPE_BINARY },
	[BPFC_EP_PORT] = { MNL_TYPE_U16 },
	[BPFC_EP_PLEN] = { MNL_TYPE_U8 },
};

int bpfc_msg_complete(const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;

	if (len < sizeof(*nlh))
		return 0;
	if (nlh->nlmsg_len < sizeof(*nlh))
		return -EBADMSG;
	if (nlh->nlmsg_len > BPFC_MSG_MAX)
		return -EMSGSIZE;
	return nlh->nlmsg_len <= len ? (int)nlh->nlmsg_len : 0;
}

struct parse_state {
	const struct bpfc_policy *pol;
	unsigned int max;
	const struct nlattr **tb;
	const char *err;
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	struct parse_state *ps = data;
	__u16 type = mnl_attr_get_type(attr);
	const struct bpfc_policy *p;

	if (mnl_attr_type_valid(attr, ps->max) < 0 || type == 0)
		return MNL_CB_OK;		/* newer peer: skip what we don't know */
	p = &ps->pol[type];
	if (p->type == MNL_TYPE_UNSPEC)
		return MNL_CB_OK;
	if (ps->tb[type]) {
		ps->err = "duplicate attribute";
		return MNL_CB_ERROR;
	}
	if (mnl_attr_validate(attr, p->type) < 0) {
		ps->err = "attribute has the wrong length for its type";
		return MNL_CB_ERROR;
	}
	if (p->type == MNL_TYPE_NUL_STRING && p->max_len &&
	    mnl_attr_get_payload_len(attr) > p->max_len) {
		ps->err = "string attribute is too long";
		return MNL_CB_ERROR;
	}
	ps->tb[type] = attr;
	return MNL_CB_OK;
}

int bpfc_attr_parse(const void *payload, size_t len, const struct bpfc_policy *pol,
		    unsigned int max, const struct nlattr **tb, const char **err)
{
	struct parse_state ps = { .pol = pol, .max = max, .tb = tb };
	const struct nlattr *attr = payload;
	int left = len;

	memset(tb, 0, (max + 1) * sizeof(*tb));
	/* libmnl stops quietly at a bad attribute; a message must be used up exactly. */
	while (mnl_attr_ok(attr, left)) {
		left -= MNL_ALIGN(attr->nla_len);
		attr = mnl_attr_next(attr);
	}
	if (left > 0) {
		*err = "attribute truncated or longer than its container";
		return -EBADMSG;
	}
	if (mnl_attr_parse_payload(payload, len, attr_cb, &ps) <= MNL_CB_STOP) {
		*err = ps.err;
		return -EBADMSG;
	}
	return 0;
}

int bpfc_msg_parse(const struct nlmsghdr *nlh, const struct bpfc_policy *pol, unsigned int max,
		   const struct nlattr **tb, const char **err)
{
	return bpfc_attr_parse(mnl_nlmsg_get_payload(nlh), mnl_nlmsg_get_payload_len(nlh), pol,
			       max, tb, err);
}

int bpfc_nest_parse(const struct nlattr *nest, const struct bpfc_policy *pol, unsigned int max,
		    const struct nlattr **tb, const char **err)
{
	return bpfc_attr_parse(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), pol,
			       max, tb, err);
}

struct nlmsghdr *bpfc_msg_start(void *buf, __u16 type, __u16 flags, __u32 seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	return nlh;
}

static void put_addr(struct nlmsghdr *nlh, __u8 family, const union bpfc_addr *addr)
{
	mnl_attr_put(nlh, BPFC_EP_ADDR, family == BPFC_AF_INET ? 4 : 16, addr);
}

void bpfc_put_endpoint(struct nlmsghdr *nlh, __u16 type, const struct bpfc_endpoint *ep)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, type);

	put_addr(nlh, ep->family, &ep->addr);
	mnl_attr_put_u16(nlh, BPFC_EP_PORT, ep->port);
	mnl_attr_nest_end(nlh, nest);
}

void bpfc_put_prefix(struct nlmsghdr *nlh, __u16 type, const struct bpfc_prefix *pfx)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, type);

	put_addr(nlh, pfx->family, &pfx->addr);
	mnl_attr_put_u8(nlh, BPFC_EP_PLEN, pfx->plen);
	mnl_attr_nest_end(nlh, nest);
}

static int get_addr(const struct nlattr **tb, __u8 *family, union bpfc_addr *addr,
		    const char **err)
{
	__u16 len;

	if (!tb[BPFC_EP_ADDR]) {
		*err = "address missing";
		return -EINVAL;
	}
	len = mnl_attr_get_payload_len(tb[BPFC_EP_ADDR]);
	if (len != 4 && len != 16) {
		*err = "address must be 4 (IPv4) or 16 (IPv6) bytes";
		return -EINVAL;
	}
	memset(addr, 0, sizeof(*addr));
	memcpy(addr, mnl_attr_get_payload(tb[BPFC_EP_ADDR]), len);
	*family = len == 4 ? BPFC_AF_INET : BPFC_AF_INET6;
	return 0;
}

int bpfc_get_endpoint(const struct nlattr *nest, struct bpfc_endpoint *ep, const char **err)
{
	const struct nlattr *tb[BPFC_EP_MAX + 1];
	int ret;

	memset(ep, 0, sizeof(*ep));
	ret = bpfc_nest_parse(nest, ep_policy, BPFC_EP_MAX, tb, err);
	if (ret)
		return ret;
	ret = get_addr(tb, &ep->family, &ep->addr, err);
	if (ret)
		return ret;
	if (!tb[BPFC_EP_PORT]) {
		*err = "port missing";
		return -EINVAL;
	}
	ep->port = mnl_attr_get_u16(tb[BPFC_EP_PORT]);
	return 0;
}

int bpfc_get_prefix(const struct nlattr *nest, struct bpfc_prefix *pfx, const char **err)
{
	const struct nlattr *tb[BPFC_EP_MAX + 1];
	int ret;

	memset(pfx, 0, sizeof(*pfx));
	ret = bpfc_nest_parse(nest, ep_policy, BPFC_EP_MAX, tb, err);
	if (ret)
		return ret;
	ret = get_addr(tb, &pfx->family, &pfx->addr, err);
	if (ret)
		return ret;
	pfx->plen = pfx->family == BPFC_AF_INET ? 32 : 128;
	if (tb[BPFC_EP_PLEN]) {
		if (mnl_attr_get_u8(tb[BPFC_EP_PLEN]) > pfx->plen) {
			*err = "prefix length too long for the address family";
			return -EINVAL;
		}
		pfx->plen = mnl_attr_get_u8(tb[BPFC_EP_PLEN]);
	}
	return 0;
}

int bpfc_get_stream_name(const struct nlattr **tb, char *name, const char **err)
{
	if (!tb[BPFC_A_STREAM_NAME]) {
		*err = "stream name missing";
		return -EINVAL;
	}
	memset(name, 0, BPFC_STREAM_NAME_LEN);
	snprintf(name, BPFC_STREAM_NAME_LEN, "%s", mnl_attr_get_str(tb[BPFC_A_STREAM_NAME]));
	*err = bpfc_stream_name_invalid(name);
	return *err ? -EINVAL : 0;
}

void bpfc_put_stream_spec(struct nlmsghdr *nlh, const struct bpfc_stream_spec *s)
{
	mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, s->name);
	bpfc_put_endpoint(nlh, BPFC_A_INGEST, &s->ingest);
	if (s->has_source)
		bpfc_put_prefix(nlh, BPFC_A_SOURCE, &s->source);
	if (s->egress_port)
		mnl_attr_put_u16(nlh, BPFC_A_EGRESS_PORT, s->egress_port);
	if (s->max_subs || s->max_mbps) {
		struct nlattr *q = mnl_attr_nest_start(nlh, BPFC_A_QUOTA);

		mnl_attr_put_u32(nlh, BPFC_QUOTA_MAX_SUBS, s->max_subs);
		mnl_attr_put_u32(nlh, BPFC_QUOTA_MAX_MBPS, s->max_mbps);
		mnl_attr_nest_end(nlh, q);
	}
}

static int get_quota(const struct nlattr *nest, struct bpfc_stream_spec *s, const char **err)
{
	const struct nlattr *tb[BPFC_QUOTA_MAX + 1];
	int ret = bpfc_nest_parse(nest, quota_policy, BPFC_QUOTA_MAX, tb, err);

	if (ret)
		return ret;
	if (tb[BPFC_QUOTA_MAX_SUBS])
		s->max_subs = mnl_attr_get_u32(tb[BPFC_QUOTA_MAX_SUBS]);
	if (tb[BPFC_QUOTA_MAX_MBPS])
		s->max_mbps = mnl_attr_get_u32(tb[BPFC_QUOTA_MAX_MBPS]);
	return 0;
}

int bpfc_get_stream_spec(const struct nlattr **tb, struct bpfc_stream_spec *s, const char **err)
{
	int ret;

	memset(s, 0, sizeof(*s));
	ret = bpfc_get_stream_name(tb, s->name, err);
	if (ret)
		return ret;
	if (!tb[BPFC_A_INGEST]) {
		*err = "ingest address missing";
		return -EINVAL;
	}
	ret = bpfc_get_endpoint(tb[BPFC_A_INGEST], &s->ingest, err);
	if (ret)
		return ret;
	if (tb[BPFC_A_SOURCE]) {
		ret = bpfc_get_prefix(tb[BPFC_A_SOURCE], &s->source, err);
		if (ret)
			return ret;
		s->has_source = true;
	}
	if (tb[BPFC_A_EGRESS_PORT])
		s->egress_port = mnl_attr_get_u16(tb[BPFC_A_EGRESS_PORT]);
	if (tb[BPFC_A_QUOTA]) {
		ret = get_quota(tb[BPFC_A_QUOTA], s, err);
		if (ret)
			return ret;
	}
	*err = bpfc_stream_spec_invalid(s);
	return *err ? -EINVAL : 0;
}

void bpfc_put_sub_spec(struct nlmsghdr *nlh, const struct bpfc_sub_spec *s)
{
	mnl_attr_put_strz(nlh, BPFC_A_STREAM_NAME, s->stream);
	bpfc_put_endpoint(nlh, BPFC_A_SUB, &s->ep);
	mnl_attr_put_u8(nlh, BPFC_A_SUB_KIND, s->kind);
	if (s->is_static)
		mnl_attr_put_u8(nlh, BPFC_A_STATIC, 1);
	if (s->has_consent) {
		mnl_attr_put_u32(nlh, BPFC_A_CONSENT_MS, s->consent_ms);
		mnl_attr_put(nlh, BPFC_A_NONCE, BPFC_NONCE_LEN, s->nonce);
	}
}

int bpfc_get_sub_spec(const struct nlattr **tb, struct bpfc_sub_spec *s, const char **err)
{
	int ret;

	memset(s, 0, sizeof(*s));
	ret = bpfc_get_stream_name(tb, s->stream, err);
	if (ret)
		return ret;
	if (!tb[BPFC_A_SUB]) {
		*err = "subscriber address missing";
		return -EINVAL;
	}
	ret = bpfc_get_endpoint(tb[BPFC_A_SUB], &s->ep, err);
	if (ret)
		return ret;
	if (tb[BPFC_A_SUB_KIND]) {
		s->kind = mnl_attr_get_u8(tb[BPFC_A_SUB_KIND]);
		if (s->kind != BPFC_SUB_DEVICE && s->kind != BPFC_SUB_PEER) {
			*err = "unknown subscriber kind";
			return -EINVAL;
		}
	}
	s->is_static = tb[BPFC_A_STATIC] && mnl_attr_get_u8(tb[BPFC_A_STATIC]);
	if (tb[BPFC_A_CONSENT_MS]) {
		if (!tb[BPFC_A_NONCE] || mnl_attr_get_payload_len(tb[BPFC_A_NONCE]) != BPFC_NONCE_LEN) {
			*err = "a consent needs its 16-byte nonce";
			return -EINVAL;
		}
		s->has_consent = true;
		s->consent_ms = mnl_attr_get_u32(tb[BPFC_A_CONSENT_MS]);
		memcpy(s->nonce, mnl_attr_get_payload(tb[BPFC_A_NONCE]), BPFC_NONCE_LEN);
	}
	return 0;
}

struct nlmsghdr *bpfc_put_ack(void *buf, const struct nlmsghdr *req, int error, const char *msg)
{
	struct nlmsghdr *nlh = bpfc_msg_start(buf, NLMSG_ERROR, 0, req->nlmsg_seq);
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));

	e->error = error;
	e->msg = *req;
	e->msg.nlmsg_len = sizeof(*req);	/* header only: requests are not echoed */
	if (msg && *msg) {
		nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, msg);
	}
	return nlh;
}

struct nlmsghdr *bpfc_put_done(void *buf, __u32 seq)
{
	struct nlmsghdr *nlh = bpfc_msg_start(buf, NLMSG_DONE, NLM_F_MULTI, seq);
	int *zero = mnl_nlmsg_put_extra_header(nlh, sizeof(int));

	*zero = 0;
	return nlh;
}

int bpfc_get_ack(const struct nlmsghdr *nlh, const char **msg)
{
	static const struct bpfc_policy ext_policy[NLMSGERR_ATTR_MAX + 1] = {
		[NLMSGERR_ATTR_MSG] = { MNL_TYPE_NUL_STRING, 1024 },
	};
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	const struct nlmsgerr *e;
	const char *err;

	*msg = NULL;
	if (nlh->nlmsg_type != NLMSG_ERROR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		*msg = "malformed acknowledgement";
		return -EBADMSG;
	}
	e = mnl_nlmsg_get_payload(nlh);
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) &&
	    !bpfc_attr_parse((const char *)e + sizeof(*e),
			     mnl_nlmsg_get_payload_len(nlh) - sizeof(*e), ext_policy,
			     NLMSGERR_ATTR_MAX, tb, &err) &&
	    tb[NLMSGERR_ATTR_MSG])
		*msg = mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]);
	return e->error > 0 ? -EBADMSG : e->error;
}
