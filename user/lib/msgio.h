/* SPDX-License-Identifier: GPL-2.0 */
/* Protocol messages over stream sockets: whole messages in, whole messages out. */
#ifndef BPFCAST_MSGIO_H
#define BPFCAST_MSGIO_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/types.h>
#include <linux/netlink.h>
#include "bpfcast/proto.h"

struct msg_rx {
	size_t len;			/* bytes in buf */
	size_t off;			/* start of the next message */
	char buf[2 * BPFC_MSG_MAX];
};

/* Read what the socket has. Returns bytes read, 0 at EOF, or -errno (-EAGAIN: nothing). */
int msg_rx_fill(struct msg_rx *rx, int fd);
/*
 * The next whole message, or NULL. *err is set below zero when the peer sent
 * something that is not a message or is longer than BPFC_MSG_MAX: cut it off.
 */
const struct nlmsghdr *msg_rx_next(struct msg_rx *rx, int *err);
/* Send all of buf, waiting at most timeout_ms for room. Returns 0 or -errno. */
int msg_send(int fd, const void *buf, size_t len, int timeout_ms);
/* Connect a TCP socket to "ADDR:PORT"; non-blocking when nonblock. Returns fd or -errno. */
int msg_connect_tcp(const char *endpoint, int nonblock);
/* A non-blocking TCP socket listening on "ADDR:PORT". Returns fd or -errno. */
int msg_listen_tcp(const char *endpoint);

/* From now on, fd's messages go through ssl (see tls.h). */
int msg_tls_bind(int fd, SSL *ssl);
SSL *msg_tls_of(int fd);
/* Has TLS decrypted bytes that poll() cannot see? Read again before sleeping. */
bool msg_pending(int fd);
/* Close fd, ending its TLS session if it has one. */
void msg_close(int fd);

#endif
