// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: one datagram on the JOIN port, as the agent reads it from
 * anyone on the internet, then what it does with a parse: token and nonce
 * checks over the attacker's bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "consent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[1024] __attribute__((aligned(4)));
	static const struct bpfc_key key = { .bytes = { 1, 2, 3 } };
	struct bpfc_endpoint ep = { .family = BPFC_AF_INET, .port = 7000 };
	char out[256] __attribute__((aligned(4)));
	struct bpfc_device_msg m;
	const char *err;

	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	if (bpfc_device_msg_parse(buf, size, &m, &err))
		return 0;
	if (m.has_token)
		bpfc_token_check(&key, m.stream, &ep, m.token, 1);
	if (m.type != NLMSG_ERROR)
		bpfc_device_msg_build(out, &m);
	return 0;
}
