// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: a byte stream as the agent or manager would read it. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "tlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[2 * BPFC_MSG_MAX] __attribute__((aligned(4)));
	size_t off = 0;
	int len;

	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	while ((len = bpfc_msg_complete(buf + off, size - off)) > 0) {
		const struct nlmsghdr *nlh = (const void *)(buf + off);
		const struct nlattr *tb[BPFC_A_MAX + 1], *th[BPFC_TH_MAX + 1];
		struct bpfc_stream_spec ss;
		struct bpfc_sub_spec us;
		const char *err, *msg;

		if (nlh->nlmsg_type == NLMSG_ERROR)
			bpfc_get_ack(nlh, &msg);
		if (!bpfc_msg_parse(nlh, bpfc_msg_policy, BPFC_A_MAX, tb, &err)) {
			bpfc_get_stream_spec(tb, &ss, &err);
			bpfc_get_sub_spec(tb, &us, &err);
			if (tb[BPFC_A_THRESHOLDS])
				bpfc_nest_parse(tb[BPFC_A_THRESHOLDS], bpfc_th_policy, BPFC_TH_MAX,
						th, &err);
		}
		off += MNL_ALIGN(len);
		if (off >= size || ((uintptr_t)(buf + off) & 3))
			break;
	}
	return 0;
}
