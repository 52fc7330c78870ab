// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <libmnl/libmnl.h>
#include <openssl/ssl.h>
#include "addr.h"
#include "msgio.h"
#include "tlv.h"

/* Sockets whose messages go through TLS, by fd. */
static SSL **tls_by_fd;
static int tls_slots;

int msg_tls_bind(int fd, SSL *ssl)
{
	if (fd >= tls_slots) {
		int n = fd + 64;
		SSL **grown = realloc(tls_by_fd, n * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		memset(grown + tls_slots, 0, (n - tls_slots) * sizeof(*grown));
		tls_by_fd = grown;
		tls_slots = n;
	}
	tls_by_fd[fd] = ssl;
	return 0;
}

SSL *msg_tls_of(int fd)
{
	return fd >= 0 && fd < tls_slots ? tls_by_fd[fd] : NULL;
}

void msg_close(int fd)
{
	SSL *ssl = msg_tls_of(fd);

	if (ssl) {
		SSL_shutdown(ssl);	/* best effort: a close_notify, no waiting */
		SSL_free(ssl);
		tls_by_fd[fd] = NULL;
	}
	if (fd >= 0)
		close(fd);
}

bool msg_pending(int fd)
{
	SSL *ssl = msg_tls_of(fd);

	return ssl && SSL_pending(ssl) > 0;
}

static ssize_t tls_recv(SSL *ssl, void *buf, size_t len)
{
	size_t got;
	int e;

	if (SSL_read_ex(ssl, buf, len, &got))
		return got;
	e = SSL_get_error(ssl, 0);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		errno = EAGAIN;
	else if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	else
		errno = ECONNRESET;
	return -1;
}

int msg_rx_fill(struct msg_rx *rx, int fd)
{
	SSL *ssl = msg_tls_of(fd);
	ssize_t n;

	if (rx->off) {
		memmove(rx->buf, rx->buf + rx->off, rx->len - rx->off);
		rx->len -= rx->off;
		rx->off = 0;
	}
	if (rx->len == sizeof(rx->buf))
		return -EMSGSIZE;
	if (ssl)
		n = tls_recv(ssl, rx->buf + rx->len, sizeof(rx->buf) - rx->len);
	else
		n = recv(fd, rx->buf + rx->len, sizeof(rx->buf) - rx->len, MSG_DONTWAIT);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	rx->len += n;
	return n;
}

const struct nlmsghdr *msg_rx_next(struct msg_rx *rx, int *err)
{
	const struct nlmsghdr *nlh = (const void *)(rx->buf + rx->off);
	int len = bpfc_msg_complete(nlh, rx->len - rx->off);

	*err = len < 0 ? len : 0;
	if (len <= 0)
		return NULL;
	rx->off += (size_t)MNL_ALIGN(len) <= rx->len - rx->off ? MNL_ALIGN(len) : (size_t)len;
	return nlh;
}

/* send() for a plain or a TLS socket; EAGAIN when it would block. */
static ssize_t send_some(int fd, const void *p, size_t len)
{
	SSL *ssl = msg_tls_of(fd);
	size_t done;
	int e;

	if (!ssl)
		return send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (SSL_write_ex(ssl, p, len, &done))
		return done;
	e = SSL_get_error(ssl, 0);
	errno = e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ? EAGAIN : ECONNRESET;
	return -1;
}

int msg_send(int fd, const void *buf, size_t len, int timeout_ms)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send_some(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			if (poll(&pfd, 1, timeout_ms) <= 0)
				return -ETIMEDOUT;
			continue;
		}
		if (n <= 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

/* A TCP socket of ep's family; fills the address to connect or bind to. */
static int tcp_socket(const char *endpoint, int nonblock, struct sockaddr_storage *ss,
		      socklen_t *sl)
{
	struct bpfc_endpoint ep;
	int fd;

	if (bpfc_parse_endpoint(endpoint, &ep))
		return -EINVAL;
	*sl = bpfc_endpoint_sockaddr(&ep, ss);
	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	return fd < 0 ? -errno : fd;
}

int msg_connect_tcp(const char *endpoint, int nonblock)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd = tcp_socket(endpoint, nonblock, &ss, &sl), one = 1;

	if (fd < 0)
		return fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, sl) && errno != EINPROGRESS) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int msg_listen_tcp(const char *endpoint)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd = tcp_socket(endpoint, 1, &ss, &sl), one = 1;

	if (fd < 0)
		return fd;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 64)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}
