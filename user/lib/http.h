/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small HTTP endpoint (libmicrohttpd) inside a daemon's own event loop:
 * MHD runs in external-epoll mode, so handlers run on the daemon's thread and
 * read its state without locks. GET only.
 */
#ifndef BPFCAST_HTTP_H
#define BPFCAST_HTTP_H

#include <stddef.h>

struct bpfc_buf {
	char *p;
	size_t len, cap;
	int oom;
};

void bpfc_buf_printf(struct bpfc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bpfc_buf_free(struct bpfc_buf *b);

/* Fill body and *content_type for url; return the HTTP status (200, 404, ...). */
typedef unsigned int (*bpfc_http_handler)(void *ctx, const char *url, struct bpfc_buf *body,
					  const char **content_type);

struct bpfc_http;

/* Listen on "ADDR:PORT". NULL with err filled on failure. */
struct bpfc_http *bpfc_http_start(const char *endpoint, bpfc_http_handler handler, void *ctx,
				  char *err, size_t errlen);
/* An fd to poll for input; then call bpfc_http_run. Call it every second or so anyway. */
int bpfc_http_fd(struct bpfc_http *h);
void bpfc_http_run(struct bpfc_http *h);
void bpfc_http_stop(struct bpfc_http *h);

/* Prometheus label values: backslash, quote and newline escaped. */
const char *bpfc_prom_escape(const char *in, char *out, size_t len);

#endif
