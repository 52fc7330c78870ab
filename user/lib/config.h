/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemons' config files. One directive per line, '#' starts a comment.
 * The agent's relay directives:
 *
 *   interface IFACE
 *   sample-interval-ms N
 *   stream NAME ingest ADDR:PORT [source ADDR[/PLEN]] [egress-port PORT]
 *          [max-subs N] [max-mbps N]
 *   subscriber NAME ADDR:PORT [static | peer]
 *   deny PREFIX [REASON]      (added to the default deny-list)
 *
 * and for both daemons, settings: any long option the caller allows, as
 * "NAME VALUE" or, for a flag, "NAME" (e.g. "manager 198.18.0.1:7400",
 * "insecure"). A command-line option overrides the same setting.
 */
#ifndef BPFCAST_CONFIG_H
#define BPFCAST_CONFIG_H

#include <getopt.h>
#include <net/if.h>
#include "denylist.h"
#include "spec.h"

#define BPFC_MAX_IFACES 32
#define BPFC_MAX_SETTINGS 64

struct bpfc_setting {
	int line;
	int opt;			/* the option's `val` in the caller's table */
	const char *name;
	char value[256];		/* empty for a flag */
};

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
	struct bpfc_setting settings[BPFC_MAX_SETTINGS];
	int n_settings;
};

/*
 * Parse config text. On error returns -EINVAL and writes "LINE: problem" into
 * err; *cfg is then empty. Free with bpfc_config_free.
 */
int bpfc_config_parse(const char *text, struct bpfc_config *cfg, char *err, size_t errlen);
int bpfc_config_load(const char *path, struct bpfc_config *cfg, char *err, size_t errlen);
/*
 * The same, with settings from `options` (a getopt_long table ending in a
 * zero entry); relay_directives false allows settings only (the manager).
 */
int bpfc_config_parse_ex(const char *text, const struct option *options, bool relay_directives,
			 struct bpfc_config *cfg, char *err, size_t errlen);
int bpfc_config_load_ex(const char *path, const struct option *options, bool relay_directives,
			struct bpfc_config *cfg, char *err, size_t errlen);
void bpfc_config_free(struct bpfc_config *cfg);

#endif
