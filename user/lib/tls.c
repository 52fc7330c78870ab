// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <openssl/err.h>
#include <arpa/inet.h>
#include <openssl/x509v3.h>
#include "addr.h"
#include "msgio.h"
#include "tls.h"

static void ssl_reason(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s: %s", what, e ? buf : "no detail");
	ERR_clear_error();
}

const char *bpfc_tls_files_invalid(const struct bpfc_tls_files *f)
{
	bool any = f->ca || f->cert || f->key;

	if (f->insecure && any)
		return "--insecure and --ca/--cert/--key exclude each other";
	if (!f->insecure && !(f->ca && f->cert && f->key))
		return "give --ca, --cert and --key (TLS with certificates, see tools/certs), "
		       "or --insecure for plain TCP";
	return NULL;
}

static int key_private(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "key %s is readable by others (mode %03o); chmod 600 it", path,
			 st.st_mode & 0777);
		return -EPERM;
	}
	return 0;
}

SSL_CTX *bpfc_tls_ctx(const struct bpfc_tls_files *f, bool server, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if (key_private(f->key, err, errlen))
		return NULL;
	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!ctx) {
		ssl_reason(err, errlen, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Both sides prove who they are; only the fleet's CA vouches. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	if (!SSL_CTX_load_verify_locations(ctx, f->ca, NULL)) {
		ssl_reason(err, errlen, f->ca);
		goto fail;
	}
	if (!SSL_CTX_use_certificate_chain_file(ctx, f->cert)) {
		ssl_reason(err, errlen, f->cert);
		goto fail;
	}
	if (!SSL_CTX_use_PrivateKey_file(ctx, f->key, SSL_FILETYPE_PEM) ||
	    !SSL_CTX_check_private_key(ctx)) {
		ssl_reason(err, errlen, f->key);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static __u64 ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* Wait for what a non-blocking SSL call asked for; false on timeout. */
static bool ssl_wait(SSL *ssl, int fd, int ret, __u64 deadline)
{
	int e = SSL_get_error(ssl, ret);
	struct pollfd pfd = { .fd = fd };
	__u64 now = ms_now();

	if (e == SSL_ERROR_WANT_READ)
		pfd.events = POLLIN;
	else if (e == SSL_ERROR_WANT_WRITE)
		pfd.events = POLLOUT;
	else
		return false;
	return now < deadline && poll(&pfd, 1, deadline - now) > 0;
}

int bpfc_tls_connect(SSL_CTX *ctx, int fd, const char *peer, int timeout_ms, char *err,
		     size_t errlen)
{
	__u64 deadline = ms_now() + timeout_ms;
	char ip[INET6_ADDRSTRLEN];
	struct bpfc_endpoint ep;
	SSL *ssl;
	int ret;

	if (bpfc_parse_endpoint(peer, &ep)) {
		snprintf(err, errlen, "'%s' is not ADDR:PORT", peer);
		return -EINVAL;
	}
	bpfc_addr_str(ep.family, &ep.addr, ip, sizeof(ip));
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_fd(ssl, fd) ||
	    !X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip)) {
		ssl_reason(err, errlen, "cannot set up TLS");
		SSL_free(ssl);
		return -EINVAL;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while ((ret = SSL_connect(ssl)) != 1) {
		if (!ssl_wait(ssl, fd, ret, deadline)) {
			long v = SSL_get_verify_result(ssl);

			if (v != X509_V_OK)
				snprintf(err, errlen, "the manager's certificate: %s",
					 X509_verify_cert_error_string(v));
			else
				ssl_reason(err, errlen, "TLS handshake failed");
			SSL_free(ssl);
			return -EPROTO;
		}
	}
	return msg_tls_bind(fd, ssl);
}

int bpfc_tls_accept_step(SSL_CTX *ctx, int fd, char *err, size_t errlen)
{
	SSL *ssl = msg_tls_of(fd);
	int ret, e;

	if (!ssl) {
		ssl = SSL_new(ctx);
		if (!ssl || !SSL_set_fd(ssl, fd) || msg_tls_bind(fd, ssl)) {
			SSL_free(ssl);
			snprintf(err, errlen, "cannot set up TLS");
			return -1;
		}
		SSL_set_accept_state(ssl);
	}
	ret = SSL_do_handshake(ssl);
	if (ret == 1)
		return 1;
	e = SSL_get_error(ssl, ret);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return 0;
	ssl_reason(err, errlen, "TLS handshake refused");
	return -1;
}

static void name_entry(X509_NAME *name, int nid, char *out, size_t len)
{
	if (X509_NAME_get_text_by_NID(name, nid, out, len) < 0)
		out[0] = '\0';
}

bool bpfc_tls_peer(int fd, char *role, size_t role_len, char *cn, size_t cn_len)
{
	SSL *ssl = msg_tls_of(fd);
	X509 *cert;

	if (!ssl || !(cert = SSL_get1_peer_certificate(ssl)))
		return false;
	name_entry(X509_get_subject_name(cert), NID_organizationalUnitName, role, role_len);
	name_entry(X509_get_subject_name(cert), NID_commonName, cn, cn_len);
	X509_free(cert);
	return SSL_get_verify_result(ssl) == X509_V_OK;
}
