/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The agent's config file. One directive per line, '#' starts a comment:
 *
 *   interface IFACE
 *   sample-interval-ms N
 *   stream NAME ingest ADDR:PORT [source ADDR[/PLEN]] [egress-port PORT]
 *   subscriber NAME ADDR:PORT [peer]
 *   deny PREFIX [REASON]      (added to the default deny-list)
 */
#ifndef BPFCAST_CONFIG_H
#define BPFCAST_CONFIG_H

#include <net/if.h>
#include "denylist.h"
#include "spec.h"

#define BPFC_MAX_IFACES 32

struct bpfc_config {
	char ifaces[BPFC_MAX_IFACES][IF_NAMESIZE];
	int n_ifaces;
	__u32 sample_ms;			/* 0: not set */
	struct bpfc_stream_spec *streams;
	int n_streams;
	struct bpfc_sub_spec *subs;
	int *sub_lines;			/* where each subscriber was written */
	int n_subs;
	struct bpfc_denylist deny;	/* defaults plus `deny` lines */
};

/*
 * Parse config text. On error returns -EINVAL and writes "LINE: problem" into
 * err; *cfg is then empty. Free with bpfc_config_free.
 */
int bpfc_config_parse(const char *text, struct bpfc_config *cfg, char *err, size_t errlen);
int bpfc_config_load(const char *path, struct bpfc_config *cfg, char *err, size_t errlen);
void bpfc_config_free(struct bpfc_config *cfg);

#endif
