// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the agent's config parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[256];
	struct bpfc_config cfg;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (!bpfc_config_parse(text, &cfg, err, sizeof(err)))
		bpfc_config_free(&cfg);
	free(text);
	return 0;
}
