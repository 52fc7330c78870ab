// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include "addr.h"
#include "http.h"

struct bpfc_http {
	struct MHD_Daemon *d;
	bpfc_http_handler handler;
	void *ctx;
};

void bpfc_buf_printf(struct bpfc_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0 || b->oom)
			return;
		if (b->p && (size_t)n < room) {
			b->len += n;
			return;
		}
		{
			size_t cap = b->cap ? b->cap * 2 : 4096;
			char *p;

			while (cap < b->len + n + 1)
				cap *= 2;
			p = realloc(b->p, cap);
			if (!p) {
				b->oom = 1;
				return;
			}
			b->p = p;
			b->cap = cap;
		}
	}
}

void bpfc_buf_free(struct bpfc_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

const char *bpfc_prom_escape(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 3 < len; in++) {
		if (*in == '\\' || *in == '"') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if (*in == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
	return out;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct bpfc_http *h = cls;
	struct bpfc_buf body = {};
	const char *type = "text/plain; charset=utf-8";
	struct MHD_Response *resp;
	unsigned int status;
	enum MHD_Result ret;

	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		bpfc_buf_printf(&body, "only GET\n");
	} else {
		status = h->handler(h->ctx, url, &body, &type);
	}
	if (body.oom) {
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		bpfc_buf_free(&body);
	}
	resp = MHD_create_response_from_buffer(body.len, body.p ? body.p : (char *)"",
					       MHD_RESPMEM_MUST_COPY);
	bpfc_buf_free(&body);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

struct bpfc_http *bpfc_http_start(const char *endpoint, bpfc_http_handler handler, void *ctx,
				  char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct bpfc_endpoint ep;
	struct bpfc_http *h;
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;

	if (bpfc_parse_endpoint(endpoint, &ep)) {
		snprintf(err, errlen, "'%s' is not ADDR:PORT", endpoint);
		return NULL;
	}
	bpfc_endpoint_sockaddr(&ep, &ss);
	if (ep.family == BPFC_AF_INET6)
		flags |= MHD_USE_IPv6;
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->handler = handler;
	h->ctx = ctx;
	h->d = MHD_start_daemon(flags, ep.port, NULL, NULL, on_request, h,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_CONNECTION_LIMIT, 64U,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, 16U,
				MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen, "cannot serve HTTP on %s (address in use?)", endpoint);
		free(h);
		return NULL;
	}
	return h;
}

int bpfc_http_fd(struct bpfc_http *h)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);

	return i ? i->epoll_fd : -1;
}

void bpfc_http_run(struct bpfc_http *h)
{
	if (h)
		MHD_run(h->d);
}

void bpfc_http_stop(struct bpfc_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
