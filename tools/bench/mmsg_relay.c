// SPDX-License-Identifier: GPL-2.0
/*
 * The best a user-space relay does without kernel bypass: one thread,
 * recvmmsg up to 64 packets, then sendmmsg every copy (up to 1,024 per call).
 *   mmsg_relay LISTEN_ADDR:PORT SUBSCRIBER_ADDR:PORT...
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define IN_BATCH 64
#define OUT_BATCH 1024
#define MAX_SUBS 1024

static struct sockaddr_in subs[MAX_SUBS];
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static int parse(const char *s, struct sockaddr_in *sa)
{
	char buf[64], *colon;

	snprintf(buf, sizeof(buf), "%s", s);
	colon = strrchr(buf, ':');
	if (!colon)
		return -1;
	*colon = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(atoi(colon + 1));
	return inet_pton(AF_INET, buf, &sa->sin_addr) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static char bufs[IN_BATCH][2048];
	static struct mmsghdr in[IN_BATCH], out[OUT_BATCH];
	static struct iovec in_iov[IN_BATCH], out_iov[OUT_BATCH];
	struct sockaddr_in listen_sa;
	int fd, n_subs = argc - 2, i, buf = 16 << 20;

	if (argc < 3 || n_subs > MAX_SUBS || parse(argv[1], &listen_sa))
		return 2;
	for (i = 0; i < n_subs; i++)
		if (parse(argv[i + 2], &subs[i]))
			return 2;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (bind(fd, (struct sockaddr *)&listen_sa, sizeof(listen_sa))) {
		perror("bind");
		return 1;
	}
	{
		/* No SA_RESTART: a blocked recvmmsg must return to see the signal. */
		struct sigaction sa = { .sa_handler = on_signal };

		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}
	for (i = 0; i < IN_BATCH; i++) {
		in_iov[i].iov_base = bufs[i];
		in_iov[i].iov_len = sizeof(bufs[i]);
		in[i].msg_hdr.msg_iov = &in_iov[i];
		in[i].msg_hdr.msg_iovlen = 1;
	}
	while (!stop) {
		int n = recvmmsg(fd, in, IN_BATCH, MSG_WAITFORONE, NULL), p, s, k = 0;

		if (n <= 0)
			continue;
		for (p = 0; p < n; p++) {
			for (s = 0; s < n_subs; s++) {
				out_iov[k].iov_base = bufs[p];
				out_iov[k].iov_len = in[p].msg_len;
				memset(&out[k].msg_hdr, 0, sizeof(out[k].msg_hdr));
				out[k].msg_hdr.msg_iov = &out_iov[k];
				out[k].msg_hdr.msg_iovlen = 1;
				out[k].msg_hdr.msg_name = &subs[s];
				out[k].msg_hdr.msg_namelen = sizeof(subs[s]);
				if (++k == OUT_BATCH) {
					sendmmsg(fd, out, k, 0);
					k = 0;
				}
			}
		}
		if (k)
			sendmmsg(fd, out, k, 0);
	}
	return 0;
}
