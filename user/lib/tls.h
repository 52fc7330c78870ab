/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TLS 1.3 with mutual certificates for agent<->manager and CLI<->manager
 * (OpenSSL). A certificate's subject says who its holder is: OU=agent with
 * CN=relay id, or OU=admin. tools/certs makes a fleet's CA and certificates.
 */
#ifndef BPFCAST_TLS_H
#define BPFCAST_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/ssl.h>

struct bpfc_tls_files {
	const char *ca;		/* the fleet's CA: the only issuer trusted */
	const char *cert;	/* our certificate (chain) */
	const char *key;	/* its key: mode 0600 or stricter */
	bool insecure;		/* plain TCP on purpose */
};

/* Are the options complete and consistent? NULL, or what the user must fix. */
const char *bpfc_tls_files_invalid(const struct bpfc_tls_files *f);

/* A TLS 1.3-only context that requires and verifies the peer's certificate. */
SSL_CTX *bpfc_tls_ctx(const struct bpfc_tls_files *f, bool server, char *err, size_t errlen);

/*
 * Client handshake on a connected socket, within timeout_ms. The server's
 * certificate must name the address of `peer` ("ADDR:PORT") as a
 * subjectAltName. On success the socket's messages go through TLS (msgio.h).
 * Returns 0 or -errno with err filled.
 */
int bpfc_tls_connect(SSL_CTX *ctx, int fd, const char *peer, int timeout_ms, char *err,
		     size_t errlen);

/* Server side, non-blocking: 1 when the handshake completed, 0 to call again, -1 failed. */
int bpfc_tls_accept_step(SSL_CTX *ctx, int fd, char *err, size_t errlen);

/* The verified peer's role (OU) and name (CN) on a TLS socket; false if none. */
bool bpfc_tls_peer(int fd, char *role, size_t role_len, char *cn, size_t cn_len);

#endif
