/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The control-protocol codec (include/bpfcast/proto.h) over libmnl. Pure
 * functions on buffers: no sockets, so every malformed case is unit-tested.
 */
#ifndef BPFCAST_TLV_H
#define BPFCAST_TLV_H

#include <stddef.h>
#include <libmnl/libmnl.h>
#include "bpfcast/proto.h"
#include "spec.h"

/* How one attribute type must look; type MNL_TYPE_UNSPEC means "not known here: skip". */
struct bpfc_policy {
	enum mnl_attr_data_type type;
	__u16 max_len;			/* strings: longest, including NUL */
};

/*
 * Is there one complete message at the start of buf? Returns its length, 0
 * when more bytes are needed, -EMSGSIZE past BPFC_MSG_MAX, -EBADMSG when the
 * header cannot be one.
 */
int bpfc_msg_complete(const void *buf, size_t len);

/*
 * Fill tb[0..max] from the attributes in payload. Unknown types are skipped;
 * truncation, bad lengths, duplicates and trailing bytes are errors, with
 * *err saying which.
 */
int bpfc_attr_parse(const void *payload, size_t len, const struct bpfc_policy *pol,
		    unsigned int max, const struct nlattr **tb, const char **err);
int bpfc_msg_parse(const struct nlmsghdr *nlh, const struct bpfc_policy *pol, unsigned int max,
		   const struct nlattr **tb, const char **err);
int bpfc_nest_parse(const struct nlattr *nest, const struct bpfc_policy *pol, unsigned int max,
		    const struct nlattr **tb, const char **err);

extern const struct bpfc_policy bpfc_msg_policy[BPFC_A_MAX + 1];
extern const struct bpfc_policy bpfc_th_policy[BPFC_TH_MAX + 1];
extern const struct bpfc_policy bpfc_consent_policy[BPFC_CONSENT_MAX + 1];

struct nlmsghdr *bpfc_msg_start(void *buf, __u16 type, __u16 flags, __u32 seq);
void bpfc_put_endpoint(struct nlmsghdr *nlh, __u16 type, const struct bpfc_endpoint *ep);
void bpfc_put_prefix(struct nlmsghdr *nlh, __u16 type, const struct bpfc_prefix *pfx);
int bpfc_get_endpoint(const struct nlattr *nest, struct bpfc_endpoint *ep, const char **err);
int bpfc_get_prefix(const struct nlattr *nest, struct bpfc_prefix *pfx, const char **err);

void bpfc_put_stream_spec(struct nlmsghdr *nlh, const struct bpfc_stream_spec *s);
int bpfc_get_stream_spec(const struct nlattr **tb, struct bpfc_stream_spec *s, const char **err);
void bpfc_put_sub_spec(struct nlmsghdr *nlh, const struct bpfc_sub_spec *s);
int bpfc_get_sub_spec(const struct nlattr **tb, struct bpfc_sub_spec *s, const char **err);
int bpfc_get_stream_name(const struct nlattr **tb, char *name, const char **err);

/* NLMSG_ERROR answering `req`: error 0 is an ACK; msg, if any, is the extended-ack text. */
struct nlmsghdr *bpfc_put_ack(void *buf, const struct nlmsghdr *req, int error, const char *msg);
struct nlmsghdr *bpfc_put_done(void *buf, __u32 seq);
/* Read an NLMSG_ERROR: returns its error (0 for an ACK) and points *msg at its text or NULL. */
int bpfc_get_ack(const struct nlmsghdr *nlh, const char **msg);

#endif
