/* SPDX-License-Identifier: GPL-2.0 */
/* bpfcast-agent internals: the data plane it owns and the state it mirrors. */
#ifndef BPFCAST_AGENT_H
#define BPFCAST_AGENT_H

#include <stdbool.h>
#include <net/if.h>
#include <linux/netlink.h>
#include "bpfcast/maps.h"
#include "config.h"
#include "consent.h"
#include "denylist.h"
#include "spec.h"

#define AGENT_DEFAULT_PIN_DIR	"/sys/fs/bpf/bpfcast"
#define AGENT_DEFAULT_SOCKET	"/run/bpfcast/agent.sock"

struct bpfcast;		/* the skeleton */
struct ring_buffer;

/* Rates from ring-buffer samples: recomputed about once a second. */
struct stream_rate {
	__u64 anchor_ns;
	__u64 anchor_packets;
	__u64 anchor_bytes;
	__u64 last_sample_ns;
	__u64 anchor_tx_bytes;
	__u64 pps;
	__u64 bps;
	__u64 tx_bps;
};

struct agent_stream {
	bool used;
	struct bpfc_stream_spec spec;
	__u32 *subs;		/* subscriber ids, in the order they were added */
	int n_subs;
	int cap_subs;
	bool dirty;		/* registry changed; list not yet published */
	__u32 th_devices;	/* manager's offload_above: report at once when crossed */
	__u32 th_mbps;
	bool over;		/* above a threshold at the last report */
	int xdp_oif;		/* XDP fan-out through this device; 0: TC */
	bool replan;		/* a route changed under the XDP fan-out */
	bool tc_logged;		/* said why the stream is not on XDP */
	__u64 shed_reported;	/* drop_congested at the last report to the manager */
	__u64 tc_queue_warned;	/* burst size the egress queue was last warned about */
	struct stream_rate rate;
	/* consent and quota counters, since this agent started */
	__u64 joins, challenges, join_refused, expiries, leaves, quota_refused;
};

struct agent_iface {
	char name[IF_NAMESIZE];
	int ifindex;
};

enum fanout_choice {
	FANOUT_TC = 0,		/* bpf_clone_redirect per copy: any egress */
	FANOUT_XDP = 1,		/* XDP broadcast where a stream is eligible, else TC */
};

struct agent {
	/* options */
	const char *pin_dir;
	const char *sock_path;
	const char *config_path;
	struct agent_iface ifaces[BPFC_MAX_IFACES];
	int n_ifaces;
	__u32 sample_ms;
	bool force_generic;
	struct bpfc_denylist deny;	/* destination policy: defaults, config, --deny */
	__u16 join_port;		/* UDP port of the JOIN handshake; 0: off */
	__u32 join_rate;		/* JOIN packets/s per source, enforced in XDP */
	__u32 consent_ttl_ms;
	enum fanout_choice fanout;
	__u32 xdp_min_subs;		/* fewer subscribers: TC, which is as cheap there */
	__u32 shed_us;			/* shed input this long after an egress drop */
	__u32 route_cache_ms;		/* bpfc_routes lifetime; 0: no route cache */
	__u32 route_gen;		/* bpfc_settings.route_gen: bumped on rtnetlink changes */
	const char *join_key_path;	/* token key: lets devices join with a token */
	bool has_join_key;
	struct bpfc_key join_key;
	struct bpfc_key nonce_secret;	/* per process: challenge nonces */

	/* data plane */
	struct bpfcast *skel;
	int fd_streams, fd_fanout, fd_subs, fd_strm_stats, fd_sub_stats, fd_strm_state;
	int fd_sub_evt, fd_global, fd_ifaddrs, fd_attach, fd_consent, fd_settings;
	int fd_path, fd_xdp_lists, fd_xdp_ports, fd_xdp_slot_gen, fd_egress;
	int fd_xdp_copy_prog;
	bool xdp_generic;		/* some ingest interface runs generic XDP */
	int btf_fd;
	__u32 btf_u32_id, btf_sub_id;
	int nr_cpus;
	struct ring_buffer *events;

	/* mirrored state: index = stream id / subscriber id */
	struct agent_stream streams[BPFC_MAX_STREAMS];
	struct bpfc_sub *subs;
	bool *sub_used;
	int *sub_oif;			/* XDP planning: route's device per subscriber; 0: unknown */
	struct bpfc_consent *consent;	/* mirror of bpfc_consent */
	bool *consent_dirty;		/* refreshed since the last CONSENT to the manager */
	int n_subs_total;
	__u32 next_stream_id;
	__u32 next_sub_id;

	/* netlink */
	struct mnl_socket *rtnl_events;
	int ctl_fd;
	int join_fd;

	/* manager (optional) */
	const char *manager;
	const char *relay_id;
	__u32 max_subs, max_mbps;
	bool has_data4, has_data6;
	union bpfc_addr data4, data6;
	struct mgr_conn *mgr;
	struct ssl_ctx_st *tls_ctx;	/* NULL: --insecure */
	const char *http_addr;		/* --http: /metrics */
	struct bpfc_http *http;
};

/* dataplane.c */
int dp_check_kernel(void);
int dp_open_load(struct agent *a);
int dp_attach_all(struct agent *a);
int dp_detach_all(const char *pin_dir);
void dp_close(struct agent *a);
int dp_percpu_zero(struct agent *a, int fd, __u32 key, size_t value_size);
int dp_read_stream_stats(struct agent *a, __u32 id, struct bpfc_stream_stats *out);
int dp_read_sub_stats(struct agent *a, __u32 id, struct bpfc_sub_stats *out);
int dp_read_global(struct agent *a, struct bpfc_global_stats *out);

/* state.c: every change is in the maps before it returns 0. */
int state_adopt(struct agent *a);
int state_apply_config(struct agent *a, const struct bpfc_config *cfg);
int state_stream_add(struct agent *a, const struct bpfc_stream_spec *spec, const char **err);
int state_stream_del(struct agent *a, const char *name, const char **err);
int state_sub_add(struct agent *a, const struct bpfc_sub_spec *spec, const char **err);
int state_sub_del(struct agent *a, const struct bpfc_sub_spec *spec, const char **err);
/* The subscriber id of (stream, ep), or -1. */
int state_sub_find(struct agent *a, const char *stream, const struct bpfc_endpoint *ep);
int state_consent_write(struct agent *a, __u32 sub_id, const struct bpfc_consent *c);
__u64 mono_ns(void);
struct agent_stream *state_stream_by_name(struct agent *a, const char *name, __u32 *id);
void state_free(struct agent *a);

int state_list_create(struct agent *a, const char *name, const struct bpfc_sub *ents, int n);
int state_republish(struct agent *a, __u32 stream_id);

/* xdpfan.c */
int xdpfan_publish(struct agent *a, __u32 stream_id, const struct bpfc_sub *ents, int n);
void xdpfan_tick(struct agent *a);
void xdpfan_route_changed(struct agent *a, __u32 stream_id);
int xdpfan_attach_monitor(struct agent *a);

/* rtnl.c */
int rtnl_route_oif(__u8 family, const union bpfc_addr *addr);
struct link_queue {
	char qdisc[32];		/* root qdisc kind; "noqueue" or empty when none */
	__u32 txqlen;
};
int rtnl_link_queue(int ifindex, struct link_queue *q);
int netdev_xdp_features(int ifindex, __u64 *features);
int rtnl_sync_ifaddrs(struct agent *a);
int rtnl_events_open(struct agent *a);
int rtnl_events_fd(struct agent *a);
void rtnl_events_handle(struct agent *a);
int rtnl_resolve_neigh(__u8 family, const union bpfc_addr *addr);
int rtnl_mcast_join(int ifindex, __u8 family, const union bpfc_addr *group, bool join);
int rtnl_enable_lo_forwarding(void);

/* events.c */
int events_open(struct agent *a);
int events_fd(struct agent *a);
void events_poll(struct agent *a);

/* ctl.c */
int ctl_listen(struct agent *a);
void ctl_accept(struct agent *a);
void ctl_client_io(struct agent *a, int fd);
bool ctl_is_client(int fd);
void ctl_serve(struct agent *a, int fd, const struct nlmsghdr *nlh);
int ctl_send_state(struct agent *a, int fd);
int ctl_send_reports(struct agent *a, int fd);

/* join.c: the device handshake (JOIN, CHALLENGE, KEEPALIVE, LEAVE) and consent expiry */
int join_open(struct agent *a);
void join_input(struct agent *a);
void join_sweep(struct agent *a);
int settings_write(struct agent *a);

/* metrics.c: the Prometheus endpoint (an http.h handler) */
struct bpfc_buf;
unsigned int metrics_http(void *ctx, const char *url, struct bpfc_buf *body, const char **type);

/* mgr.c: the connection to bpfcast-manager */
int mgr_init(struct agent *a, int epfd);
void mgr_io(struct agent *a, __u32 events);
void mgr_tick(struct agent *a);
/* Tell the manager a device's consent: given, refreshed, or gone (ms_left 0). */
void mgr_consent(struct agent *a, __u32 sub_id, __u32 ms_left);
bool mgr_is_fd(struct agent *a, int fd);

#endif
