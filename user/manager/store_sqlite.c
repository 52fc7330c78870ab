// SPDX-License-Identifier: GPL-2.0
/*
 * The manager's store in SQLite. Addresses are kept as text in the CLI's
 * notation, so `sqlite3 manager.db .dump` reads like the fleet's config.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "store.h"

struct store {
	sqlite3 *db;
};

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;"
	"CREATE TABLE IF NOT EXISTS streams("
	" name TEXT PRIMARY KEY, ingest TEXT NOT NULL, source TEXT, egress_port INTEGER,"
	" origin TEXT NOT NULL, offload_above INTEGER, offload_above_mbps INTEGER,"
	" cease_below INTEGER, hold INTEGER);"
	"CREATE TABLE IF NOT EXISTS subs("
	" stream TEXT NOT NULL, addr TEXT NOT NULL, relay TEXT NOT NULL,"
	" PRIMARY KEY(stream, addr));"
	"CREATE TABLE IF NOT EXISTS peers("
	" stream TEXT NOT NULL, from_relay TEXT NOT NULL, to_relay TEXT NOT NULL,"
	" PRIMARY KEY(stream, to_relay));"
	"CREATE TABLE IF NOT EXISTS relays("
	" id TEXT PRIMARY KEY, addr4 TEXT, addr6 TEXT, max_subs INTEGER, max_mbps INTEGER);";

/* Columns added after the first release; ALTER fails harmlessly where they exist. */
static const char *const upgrades[] = {
	"ALTER TABLE subs ADD COLUMN static INTEGER NOT NULL DEFAULT 0",
	"ALTER TABLE streams ADD COLUMN max_subs INTEGER NOT NULL DEFAULT 0",
	"ALTER TABLE streams ADD COLUMN max_mbps INTEGER NOT NULL DEFAULT 0",
};

static struct store *sq_open(const char *path, char *err, size_t errlen)
{
	struct store *st = calloc(1, sizeof(*st));
	char *msg = NULL;

	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
		    SQLITE_OK ||
	    sqlite3_exec(st->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		sqlite3_close(st->db);
		free(st);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(upgrades) / sizeof(upgrades[0]); i++)
		sqlite3_exec(st->db, upgrades[i], NULL, NULL, NULL);
	sqlite3_busy_timeout(st->db, 2000);
	return st;
}

static void sq_close(struct store *st)
{
	if (!st)
		return;
	sqlite3_close(st->db);
	free(st);
}

static int exec(struct store *st, const char *sql)
{
	return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int sq_begin(struct store *st)
{
	return exec(st, "BEGIN IMMEDIATE");
}

static int sq_commit(struct store *st)
{
	return exec(st, "COMMIT");
}

static int sq_rollback(struct store *st)
{
	return exec(st, "ROLLBACK");
}

/* Prepare, bind text/int arguments by a format ("t" text, "i" int), step once. */
static int run(struct store *st, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *stmt;
	va_list ap;
	int i, rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return -EIO;
	va_start(ap, fmt);
	for (i = 0; fmt[i]; i++) {
		if (fmt[i] == 't') {
			const char *t = va_arg(ap, const char *);

			rc = t ? sqlite3_bind_text(stmt, i + 1, t, -1, SQLITE_TRANSIENT) :
				 sqlite3_bind_null(stmt, i + 1);
		} else {
			rc = sqlite3_bind_int64(stmt, i + 1, va_arg(ap, long long));
		}
		if (rc != SQLITE_OK)
			break;
	}
	va_end(ap);
	rc = rc == SQLITE_OK ? sqlite3_step(stmt) : rc;
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int sq_put_stream(struct store *st, const struct store_stream *s)
{
	char ingest[BPFC_ENDPOINT_STRLEN], source[BPFC_ENDPOINT_STRLEN];

	bpfc_endpoint_str(&s->spec.ingest, ingest, sizeof(ingest));
	if (s->spec.has_source)
		bpfc_prefix_str(&s->spec.source, source, sizeof(source));
	return run(st,
		   "INSERT OR REPLACE INTO streams(name, ingest, source, egress_port, origin,"
		   " offload_above, offload_above_mbps, cease_below, hold, max_subs, max_mbps)"
		   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
		   "ttti" "tiiii" "ii", s->spec.name, ingest, s->spec.has_source ? source : NULL,
		   (long long)s->spec.egress_port, s->origin, (long long)s->th.offload_above,
		   (long long)s->th.offload_above_mbps, (long long)s->th.cease_below,
		   (long long)s->th.hold_s, (long long)s->spec.max_subs,
		   (long long)s->spec.max_mbps);
}

static int sq_del_stream(struct store *st, const char *name)
{
	int err = run(st, "DELETE FROM subs WHERE stream = ?1", "t", name);

	if (!err)
		err = run(st, "DELETE FROM peers WHERE stream = ?1", "t", name);
	if (!err)
		err = run(st, "DELETE FROM streams WHERE name = ?1", "t", name);
	return err;
}

static int sq_put_sub(struct store *st, const struct store_sub *s)
{
	char addr[BPFC_ENDPOINT_STRLEN];

	return run(st, "INSERT OR REPLACE INTO subs(stream, addr, relay, static)"
		   " VALUES(?1, ?2, ?3, ?4)", "ttti", s->stream,
		   bpfc_endpoint_str(&s->ep, addr, sizeof(addr)), s->relay, (long long)s->is_static);
}

static int sq_del_sub(struct store *st, const char *stream, const struct bpfc_endpoint *ep)
{
	char addr[BPFC_ENDPOINT_STRLEN];

	return run(st, "DELETE FROM subs WHERE stream = ?1 AND addr = ?2", "tt", stream,
		   bpfc_endpoint_str(ep, addr, sizeof(addr)));
}

static int sq_put_peer(struct store *st, const struct store_peer *p)
{
	return run(st, "INSERT OR REPLACE INTO peers VALUES(?1, ?2, ?3)", "ttt", p->stream,
		   p->from, p->to);
}

static int sq_del_peer(struct store *st, const char *stream, const char *to)
{
	return run(st, "DELETE FROM peers WHERE stream = ?1 AND to_relay = ?2", "tt", stream, to);
}

static int sq_put_relay(struct store *st, const struct store_relay *r)
{
	char a4[64], a6[64];

	if (r->has4)
		bpfc_addr_str(BPFC_AF_INET, &r->a4, a4, sizeof(a4));
	if (r->has6)
		bpfc_addr_str(BPFC_AF_INET6, &r->a6, a6, sizeof(a6));
	return run(st, "INSERT OR REPLACE INTO relays VALUES(?1, ?2, ?3, ?4, ?5)", "tttii", r->id,
		   r->has4 ? a4 : NULL, r->has6 ? a6 : NULL, (long long)r->max_subs,
		   (long long)r->max_mbps);
}

static void copy_text(char *dst, size_t len, const unsigned char *src)
{
	snprintf(dst, len, "%s", src ? (const char *)src : "");
}

static int load_streams(struct store *st, const struct store_visitor *v, void *ctx)
{
	sqlite3_stmt *stmt;
	int rc = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT name, ingest, source, egress_port, origin,"
				       " offload_above, offload_above_mbps, cease_below, hold,"
				       " max_subs, max_mbps FROM streams ORDER BY name", -1, &stmt, NULL) != SQLITE_OK)
		return -EIO;
	while (!rc && sqlite3_step(stmt) == SQLITE_ROW) {
		struct store_stream s = {};

		copy_text(s.spec.name, sizeof(s.spec.name), sqlite3_column_text(stmt, 0));
		if (bpfc_parse_endpoint((const char *)sqlite3_column_text(stmt, 1), &s.spec.ingest)) {
			rc = -EBADMSG;
			break;
		}
		if (sqlite3_column_type(stmt, 2) != SQLITE_NULL) {
			if (bpfc_parse_prefix((const char *)sqlite3_column_text(stmt, 2),
					      &s.spec.source)) {
				rc = -EBADMSG;
				break;
			}
			s.spec.has_source = true;
		}
		s.spec.egress_port = sqlite3_column_int(stmt, 3);
		copy_text(s.origin, sizeof(s.origin), sqlite3_column_text(stmt, 4));
		s.th.offload_above = sqlite3_column_int(stmt, 5);
		s.th.offload_above_mbps = sqlite3_column_int(stmt, 6);
		s.th.cease_below = sqlite3_column_int(stmt, 7);
		s.th.hold_s = sqlite3_column_int(stmt, 8);
		s.spec.max_subs = sqlite3_column_int64(stmt, 9);
		s.spec.max_mbps = sqlite3_column_int64(stmt, 10);
		rc = v->stream ? v->stream(ctx, &s) : 0;
	}
	sqlite3_finalize(stmt);
	return rc;
}

static int load_subs(struct store *st, const struct store_visitor *v, void *ctx)
{
	sqlite3_stmt *stmt;
	int rc = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT stream, addr, relay, static FROM subs ORDER BY rowid", -1,
			       &stmt, NULL) != SQLITE_OK)
		return -EIO;
	while (!rc && sqlite3_step(stmt) == SQLITE_ROW) {
		struct store_sub s = {};

		copy_text(s.stream, sizeof(s.stream), sqlite3_column_text(stmt, 0));
		if (bpfc_parse_endpoint((const char *)sqlite3_column_text(stmt, 1), &s.ep)) {
			rc = -EBADMSG;
			break;
		}
		copy_text(s.relay, sizeof(s.relay), sqlite3_column_text(stmt, 2));
		s.is_static = sqlite3_column_int(stmt, 3);
		rc = v->sub ? v->sub(ctx, &s) : 0;
	}
	sqlite3_finalize(stmt);
	return rc;
}

static int load_peers(struct store *st, const struct store_visitor *v, void *ctx)
{
	sqlite3_stmt *stmt;
	int rc = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT stream, from_relay, to_relay FROM peers"
				       " ORDER BY rowid", -1, &stmt, NULL) != SQLITE_OK)
		return -EIO;
	while (!rc && sqlite3_step(stmt) == SQLITE_ROW) {
		struct store_peer p = {};

		copy_text(p.stream, sizeof(p.stream), sqlite3_column_text(stmt, 0));
		copy_text(p.from, sizeof(p.from), sqlite3_column_text(stmt, 1));
		copy_text(p.to, sizeof(p.to), sqlite3_column_text(stmt, 2));
		rc = v->peer ? v->peer(ctx, &p) : 0;
	}
	sqlite3_finalize(stmt);
	return rc;
}

static int load_relays(struct store *st, const struct store_visitor *v, void *ctx)
{
	sqlite3_stmt *stmt;
	int rc = 0;

	if (sqlite3_prepare_v2(st->db, "SELECT id, addr4, addr6, max_subs, max_mbps FROM relays"
				       " ORDER BY rowid", -1, &stmt, NULL) != SQLITE_OK)
		return -EIO;
	while (!rc && sqlite3_step(stmt) == SQLITE_ROW) {
		struct store_relay r = {};
		__u8 fam;

		copy_text(r.id, sizeof(r.id), sqlite3_column_text(stmt, 0));
		r.has4 = sqlite3_column_type(stmt, 1) != SQLITE_NULL &&
			 !bpfc_parse_addr((const char *)sqlite3_column_text(stmt, 1), &fam, &r.a4);
		r.has6 = sqlite3_column_type(stmt, 2) != SQLITE_NULL &&
			 !bpfc_parse_addr((const char *)sqlite3_column_text(stmt, 2), &fam, &r.a6);
		r.max_subs = sqlite3_column_int(stmt, 3);
		r.max_mbps = sqlite3_column_int(stmt, 4);
		rc = v->relay ? v->relay(ctx, &r) : 0;
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* Relays, streams, then peers (trees), then subscriptions. */
static int sq_load(struct store *st, const struct store_visitor *v, void *ctx)
{
	int rc = load_relays(st, v, ctx);

	if (!rc)
		rc = load_streams(st, v, ctx);

	if (!rc)
		rc = load_peers(st, v, ctx);
	if (!rc)
		rc = load_subs(st, v, ctx);
	return rc;
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.put_stream = sq_put_stream,
	.del_stream = sq_del_stream,
	.put_sub = sq_put_sub,
	.del_sub = sq_del_sub,
	.put_peer = sq_put_peer,
	.del_peer = sq_del_peer,
	.put_relay = sq_put_relay,
	.load = sq_load,
};
