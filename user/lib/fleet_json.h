/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fleet status document, built from the manager's status dump. One
 * builder for `bpfcastctl --manager status --json`, the manager's /api/status
 * and its dashboard, so all three have one schema (documented in README.md).
 */
#ifndef BPFCAST_FLEET_JSON_H
#define BPFCAST_FLEET_JSON_H

#include <json-c/json.h>
#include <linux/netlink.h>

/* {"relays": [], "streams": [], "events": []} */
json_object *bpfc_fleet_json_new(void);
/* Add one message of the dump. Unknown types are skipped. Returns 0 or -EBADMSG with *err. */
int bpfc_fleet_json_add(json_object *root, const struct nlmsghdr *nlh, const char **err);

#endif
