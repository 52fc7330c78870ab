// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"

#define MAX_WORDS 16
#define MAX_LINE 1024

struct line {
	int no;
	int n;
	char *w[MAX_WORDS];
};

static int fail(char *err, size_t errlen, int no, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int no, const char *fmt, ...)
{
	size_t off;
	va_list ap;

	off = snprintf(err, errlen, "line %d: ", no);
	if (off < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + off, errlen - off, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static const struct bpfc_stream_spec *find_stream(const struct bpfc_config *cfg, const char *name)
{
	int i;

	for (i = 0; i < cfg->n_streams; i++)
		if (!strcmp(cfg->streams[i].name, name))
			return &cfg->streams[i];
	return NULL;
}

static int parse_interface(struct line *l, struct bpfc_config *cfg, char *err, size_t errlen)
{
	int i;

	if (l->n != 2)
		return fail(err, errlen, l->no, "usage: interface IFACE");
	if (strlen(l->w[1]) >= IF_NAMESIZE)
		return fail(err, errlen, l->no, "interface name '%s' is too long", l->w[1]);
	for (i = 0; i < cfg->n_ifaces; i++)
		if (!strcmp(cfg->ifaces[i], l->w[1]))
			return fail(err, errlen, l->no, "interface '%s' given twice", l->w[1]);
	if (cfg->n_ifaces == BPFC_MAX_IFACES)
		return fail(err, errlen, l->no, "more than %d interfaces", BPFC_MAX_IFACES);
	strcpy(cfg->ifaces[cfg->n_ifaces++], l->w[1]);
	return 0;
}

static int parse_stream(struct line *l, struct bpfc_config *cfg, char *err, size_t errlen)
{
	struct bpfc_stream_spec s = {};
	const char *why;
	void *grown;
	int i;

	if (l->n < 4 || (l->n % 2))
		return fail(err, errlen, l->no,
			    "usage: stream NAME ingest ADDR:PORT [source ADDR[/PLEN]] [egress-port PORT] "
			    "[max-subs N] [max-mbps N]");
	why = bpfc_stream_name_invalid(l->w[1]);
	if (why)
		return fail(err, errlen, l->no, "%s", why);
	strcpy(s.name, l->w[1]);
	for (i = 2; i < l->n; i += 2) {
		const char *key = l->w[i], *val = l->w[i + 1];

		if (!strcmp(key, "ingest")) {
			if (bpfc_parse_endpoint(val, &s.ingest))
				return fail(err, errlen, l->no,
					    "bad ingest '%s': want ADDR:PORT or [IPV6]:PORT", val);
		} else if (!strcmp(key, "source")) {
			if (bpfc_parse_prefix(val, &s.source))
				return fail(err, errlen, l->no,
					    "bad source '%s': want ADDR or ADDR/PLEN", val);
			s.has_source = true;
		} else if (!strcmp(key, "egress-port")) {
			if (bpfc_parse_port(val, &s.egress_port))
				return fail(err, errlen, l->no, "bad egress-port '%s': want 1-65535",
					    val);
		} else if (!strcmp(key, "max-subs") || !strcmp(key, "max-mbps")) {
			bool subs = !strcmp(key, "max-subs");

			if (bpfc_parse_u32(val, 1, subs ? BPFC_MAX_SUBS : 10000000,
					   subs ? &s.max_subs : &s.max_mbps))
				return fail(err, errlen, l->no, "bad %s '%s': want a positive number",
					    key, val);
		} else {
			return fail(err, errlen, l->no, "unknown stream option '%s'", key);
		}
	}
	why = bpfc_stream_spec_invalid(&s);
	if (why)
		return fail(err, errlen, l->no, "%s", why);
	if (find_stream(cfg, s.name))
		return fail(err, errlen, l->no, "stream '%s' defined twice", s.name);
	for (i = 0; i < cfg->n_streams; i++)
		if (bpfc_endpoint_equal(&cfg->streams[i].ingest, &s.ingest))
			return fail(err, errlen, l->no, "ingest of '%s' is already used by '%s'",
				    s.name, cfg->streams[i].name);
	grown = realloc(cfg->streams, (cfg->n_streams + 1) * sizeof(s));
	if (!grown)
		return fail(err, errlen, l->no, "out of memory");
	cfg->streams = grown;
	cfg->streams[cfg->n_streams++] = s;
	return 0;
}

static int parse_subscriber(struct line *l, struct bpfc_config *cfg, char *err, size_t errlen)
{
	struct bpfc_sub_spec s = {};
	void *grown;
	int i;

	if (l->n < 3 || l->n > 4 || (l->n == 4 && strcmp(l->w[3], "peer") &&
				     strcmp(l->w[3], "static")))
		return fail(err, errlen, l->no,
			    "usage: subscriber STREAM ADDR:PORT [static | peer]");
	if (!find_stream(cfg, l->w[1]))
		return fail(err, errlen, l->no, "unknown stream '%s' (define it above)", l->w[1]);
	strcpy(s.stream, l->w[1]);
	if (bpfc_parse_endpoint(l->w[2], &s.ep))
		return fail(err, errlen, l->no, "bad subscriber '%s': want ADDR:PORT or [IPV6]:PORT",
			    l->w[2]);
	for (i = 0; i < cfg->n_streams; i++)
		if (bpfc_endpoint_equal(&cfg->streams[i].ingest, &s.ep))
			return fail(err, errlen, l->no, "subscriber %s is this relay's ingest",
				    l->w[2]);
	s.kind = l->n == 4 && !strcmp(l->w[3], "peer") ? BPFC_SUB_PEER : BPFC_SUB_DEVICE;
	s.is_static = l->n == 4 && !strcmp(l->w[3], "static");
	grown = realloc(cfg->subs, (cfg->n_subs + 1) * sizeof(s));
	if (!grown)
		return fail(err, errlen, l->no, "out of memory");
	cfg->subs = grown;
	grown = realloc(cfg->sub_lines, (cfg->n_subs + 1) * sizeof(int));
	if (!grown)
		return fail(err, errlen, l->no, "out of memory");
	cfg->sub_lines = grown;
	cfg->sub_lines[cfg->n_subs] = l->no;
	cfg->subs[cfg->n_subs++] = s;
	return 0;
}

static int parse_deny(struct line *l, struct bpfc_config *cfg, char *err, size_t errlen)
{
	char why[40] = "";
	size_t off = 0;
	int i, ret;

	if (l->n < 2)
		return fail(err, errlen, l->no, "usage: deny PREFIX [REASON]");
	for (i = 2; i < l->n && off < sizeof(why) - 1; i++)
		off += snprintf(why + off, sizeof(why) - off, "%s%s", i > 2 ? " " : "", l->w[i]);
	ret = bpfc_denylist_add(&cfg->deny, l->w[1], why[0] ? why : "configured");
	if (ret == -ENOSPC)
		return fail(err, errlen, l->no, "more than %d deny rules", BPFC_DENY_MAX);
	if (ret)
		return fail(err, errlen, l->no, "bad deny prefix '%s': want ADDR or ADDR/PLEN",
			    l->w[1]);
	return 0;
}

static const struct bpfc_config *sort_cfg;

/* Order subscriber indexes by stream, then endpoint bytes: duplicates end up adjacent. */
static int cmp_sub(const void *x, const void *y)
{
	const struct bpfc_sub_spec *a = &sort_cfg->subs[*(const int *)x];
	const struct bpfc_sub_spec *b = &sort_cfg->subs[*(const int *)y];
	int c = strcmp(a->stream, b->stream);

	if (!c)
		c = memcmp(&a->ep, &b->ep, sizeof(a->ep));
	if (!c)		/* report the later line */
		c = *(const int *)x - *(const int *)y;
	return c;
}

/* A subscriber listed twice, found in O(n log n): configs may hold 65,536. */
static int check_duplicates(struct bpfc_config *cfg, char *err, size_t errlen)
{
	char ep[BPFC_ENDPOINT_STRLEN];
	int *idx, i, ret = 0;

	if (cfg->n_subs < 2)
		return 0;
	idx = malloc(cfg->n_subs * sizeof(*idx));
	if (!idx)
		return fail(err, errlen, 0, "out of memory");
	for (i = 0; i < cfg->n_subs; i++)
		idx[i] = i;
	sort_cfg = cfg;
	qsort(idx, cfg->n_subs, sizeof(*idx), cmp_sub);
	for (i = 1; i < cfg->n_subs && !ret; i++) {
		const struct bpfc_sub_spec *a = &cfg->subs[idx[i - 1]], *b = &cfg->subs[idx[i]];

		if (!strcmp(a->stream, b->stream) && bpfc_endpoint_equal(&a->ep, &b->ep))
			ret = fail(err, errlen, cfg->sub_lines[idx[i]], "subscriber %s listed twice",
				   bpfc_endpoint_str(&b->ep, ep, sizeof(ep)));
	}
	free(idx);
	return ret;
}

/* Subscribers against the whole deny-list, wherever in the file the rules are. */
static int check_subscribers(struct bpfc_config *cfg, char *err, size_t errlen)
{
	char why[160], ep[BPFC_ENDPOINT_STRLEN];
	int i, ret = check_duplicates(cfg, err, errlen);

	if (ret)
		return ret;
	for (i = 0; i < cfg->n_subs; i++)
		if (bpfc_subscriber_refused(&cfg->deny, &cfg->subs[i].ep, why, sizeof(why)))
			return fail(err, errlen, cfg->sub_lines[i], "subscriber %s: %s",
				    bpfc_endpoint_str(&cfg->subs[i].ep, ep, sizeof(ep)), why);
	return 0;
}

/* What a file is parsed with: relay directives or not, and the settings allowed. */
struct parse_ctx {
	const struct option *options;
	bool relay_directives;
};

static int parse_setting(struct line *l, const struct parse_ctx *pc, struct bpfc_config *cfg,
			 char *err, size_t errlen)
{
	const struct option *o;
	struct bpfc_setting *st;
	int i;

	for (o = pc->options; o && o->name; o++)
		if (!strcmp(o->name, l->w[0]))
			break;
	if (!o || !o->name)
		return fail(err, errlen, l->no, "unknown directive '%s'", l->w[0]);
	if (o->has_arg == required_argument && l->n != 2)
		return fail(err, errlen, l->no, "usage: %s VALUE", o->name);
	if (o->has_arg == no_argument && l->n != 1)
		return fail(err, errlen, l->no, "'%s' takes no value", o->name);
	for (i = 0; i < cfg->n_settings; i++)
		if (cfg->settings[i].opt == o->val)
			return fail(err, errlen, l->no, "'%s' given twice (line %d)", o->name,
				    cfg->settings[i].line);
	if (cfg->n_settings == BPFC_MAX_SETTINGS)
		return fail(err, errlen, l->no, "more than %d settings", BPFC_MAX_SETTINGS);
	if (l->n == 2 && strlen(l->w[1]) >= sizeof(st->value))
		return fail(err, errlen, l->no, "value of '%s' is too long", o->name);
	st = &cfg->settings[cfg->n_settings++];
	st->line = l->no;
	st->opt = o->val;
	st->name = o->name;
	snprintf(st->value, sizeof(st->value), "%s", l->n == 2 ? l->w[1] : "");
	return 0;
}

static int parse_line(struct line *l, const struct parse_ctx *pc, struct bpfc_config *cfg,
		      char *err, size_t errlen)
{
	const char *d = l->w[0];
	__u32 ms;

	if (!pc->relay_directives)
		return parse_setting(l, pc, cfg, err, errlen);
	if (!strcmp(d, "interface"))
		return parse_interface(l, cfg, err, errlen);
	if (!strcmp(d, "stream"))
		return parse_stream(l, cfg, err, errlen);
	if (!strcmp(d, "subscriber"))
		return parse_subscriber(l, cfg, err, errlen);
	if (!strcmp(d, "deny"))
		return parse_deny(l, cfg, err, errlen);
	if (!strcmp(d, "sample-interval-ms")) {
		if (l->n != 2 || bpfc_parse_u32(l->w[1], 10, 60000, &ms))
			return fail(err, errlen, l->no, "usage: sample-interval-ms N (10-60000)");
		cfg->sample_ms = ms;
		return 0;
	}
	return parse_setting(l, pc, cfg, err, errlen);
}

static int split_words(char *text, struct line *l, char *err, size_t errlen)
{
	char *p = text, *hash = strchr(text, '#');

	if (hash)
		*hash = '\0';
	l->n = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p)
			return 0;
		if (l->n == MAX_WORDS)
			return fail(err, errlen, l->no, "too many words");
		l->w[l->n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		if (*p)
			*p++ = '\0';
	}
}

int bpfc_config_parse_ex(const char *text, const struct option *options, bool relay_directives,
			 struct bpfc_config *cfg, char *err, size_t errlen)
{
	const struct parse_ctx pc = { options, relay_directives };
	const char *p = text;
	char buf[MAX_LINE];
	struct line l = {};
	int ret = 0;

	memset(cfg, 0, sizeof(*cfg));
	bpfc_denylist_defaults(&cfg->deny);
	while (*p && !ret) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		l.no++;
		if (len >= sizeof(buf)) {
			ret = fail(err, errlen, l.no, "line longer than %d bytes", MAX_LINE - 1);
			break;
		}
		if (memchr(p, '\0', len)) {
			ret = fail(err, errlen, l.no, "NUL byte");
			break;
		}
		memcpy(buf, p, len);
		buf[len] = '\0';
		p += len + (nl ? 1 : 0);
		ret = split_words(buf, &l, err, errlen);
		if (!ret && l.n)
			ret = parse_line(&l, &pc, cfg, err, errlen);
	}
	if (!ret)
		ret = check_subscribers(cfg, err, errlen);
	if (ret)
		bpfc_config_free(cfg);
	return ret;
}

int bpfc_config_parse(const char *text, struct bpfc_config *cfg, char *err, size_t errlen)
{
	return bpfc_config_parse_ex(text, NULL, true, cfg, err, errlen);
}

int bpfc_config_load(const char *path, struct bpfc_config *cfg, char *err, size_t errlen)
{
	return bpfc_config_load_ex(path, NULL, true, cfg, err, errlen);
}

int bpfc_config_load_ex(const char *path, const struct option *options, bool relay_directives,
			struct bpfc_config *cfg, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0, n;
	FILE *f;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		return -errno;
	}
	for (;;) {
		char *grown = realloc(text, len + 4097);

		if (!grown) {
			fclose(f);
			free(text);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		text = grown;
		n = fread(text + len, 1, 4096, f);
		len += n;
		if (n < 4096)
			break;
		if (len > 16 << 20) {
			fclose(f);
			free(text);
			snprintf(err, errlen, "file larger than 16 MiB");
			return -EFBIG;
		}
	}
	fclose(f);
	text[len] = '\0';
	if (strlen(text) != len) {
		free(text);
		snprintf(err, errlen, "file contains a NUL byte");
		return -EINVAL;
	}
	ret = bpfc_config_parse_ex(text, options, relay_directives, cfg, err, errlen);
	free(text);
	return ret;
}

void bpfc_config_free(struct bpfc_config *cfg)
{
	free(cfg->streams);
	free(cfg->subs);
	free(cfg->sub_lines);
	memset(cfg, 0, sizeof(*cfg));
}
