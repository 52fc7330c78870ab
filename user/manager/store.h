/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The manager's durable state behind an interface: SQLite today
 * (store_sqlite.c); a distributed backend such as etcd implements the same
 * operations. Every write is durable when it returns 0.
 */
#ifndef BPFCAST_STORE_H
#define BPFCAST_STORE_H

#include <stddef.h>
#include "policy.h"
#include "spec.h"

#define BPFC_RELAY_ID_LEN 32

struct store_stream {
	struct bpfc_stream_spec spec;
	char origin[BPFC_RELAY_ID_LEN];
	struct pol_thresholds th;
};

struct store_sub {
	char stream[BPFC_STREAM_NAME_LEN];
	struct bpfc_endpoint ep;
	char relay[BPFC_RELAY_ID_LEN];	/* the relay assigned to serve it */
	bool is_static;			/* needs no consent (operator's choice) */
};

struct store_peer {
	char stream[BPFC_STREAM_NAME_LEN];
	char from[BPFC_RELAY_ID_LEN];
	char to[BPFC_RELAY_ID_LEN];
};

/* A relay as it last registered: a restarted manager needs its addresses at once. */
struct store_relay {
	char id[BPFC_RELAY_ID_LEN];
	bool has4, has6;
	union bpfc_addr a4, a6;
	__u32 max_subs, max_mbps;
};

/* Called once per stored record by load(); a non-zero return stops it. */
struct store_visitor {
	int (*stream)(void *ctx, const struct store_stream *s);
	int (*sub)(void *ctx, const struct store_sub *s);
	int (*peer)(void *ctx, const struct store_peer *p);
	int (*relay)(void *ctx, const struct store_relay *r);
};

struct store;

struct store_ops {
	const char *name;
	struct store *(*open)(const char *path, char *err, size_t errlen);
	void (*close)(struct store *st);
	/* Group writes so that a crash keeps all of them or none. */
	int (*begin)(struct store *st);
	int (*commit)(struct store *st);
	int (*rollback)(struct store *st);
	int (*put_stream)(struct store *st, const struct store_stream *s);
	int (*del_stream)(struct store *st, const char *name);	/* with its subs and peers */
	int (*put_sub)(struct store *st, const struct store_sub *s);
	int (*del_sub)(struct store *st, const char *stream, const struct bpfc_endpoint *ep);
	int (*put_peer)(struct store *st, const struct store_peer *p);
	int (*del_peer)(struct store *st, const char *stream, const char *to);
	int (*put_relay)(struct store *st, const struct store_relay *r);
	int (*load)(struct store *st, const struct store_visitor *v, void *ctx);
};

extern const struct store_ops store_sqlite_ops;

#endif
