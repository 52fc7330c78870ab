// SPDX-License-Identifier: GPL-2.0
/*
 * The XDP fan-out path: which streams take it, their double-buffered DEVMAP
 * slots, and the checks that send a stream back to TC.
 *
 * A stream takes XDP when every subscriber is of the ingest family and leaves
 * by one device other than loopback, every ingest interface runs native XDP,
 * and it has at least --xdp-min-subs subscribers. Otherwise it stays on TC.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpfcast.skel.h"
#include "agent.h"
#include "log.h"

#define NAPI_BUDGET	64	/* packets one poll may bring in: the burst unit */
#define VETH_XDP_RING	256	/* veth's XDP frame ring; fixed in the driver */
/*
 * ptr_ring frees the slots its consumer has read in batches of 16 (two cache
 * lines of pointers), so up to 15 read slots can still look full: a burst
 * may count on the ring less one batch.
 */
#define PTR_RING_FREE_BATCH	16

/* Frames the device can hold between our flush and its transmit; 0 if unknown. */
static __u32 egress_ring(int ifindex, char *driver, size_t len)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
	struct ethtool_ringparam rp = { .cmd = ETHTOOL_GRINGPARAM };
	struct ifreq ifr = {};
	__u32 ring = 0;
	int fd;

	snprintf(driver, len, "?");
	if (!if_indextoname(ifindex, ifr.ifr_name))
		return 0;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	ifr.ifr_data = (void *)&di;
	if (!ioctl(fd, SIOCETHTOOL, &ifr))
		snprintf(driver, len, "%s", di.driver);
	if (!strcmp(driver, "veth")) {
		ring = VETH_XDP_RING;
	} else {
		ifr.ifr_data = (void *)&rp;
		if (!ioctl(fd, SIOCETHTOOL, &ifr))
			ring = rp.tx_pending;
	}
	close(fd);
	return ring;
}

/*
 * Copies the egress surely holds between two flushes; an unknown ring counts
 * as veth's. The driver's name lands in driver when the caller wants it.
 */
static __u32 burst_frames(int oif, char *driver, size_t len)
{
	char name[32];
	__u32 ring;

	if (!driver) {
		driver = name;
		len = sizeof(name);
	}
	ring = egress_ring(oif, driver, len);
	if (!ring || !strcmp(driver, "veth"))
		return VETH_XDP_RING - PTR_RING_FREE_BATCH;
	return ring;
}

static int egress_mac(int ifindex, __u8 mac[6])
{
	struct ifreq ifr = {};
	int fd, err = -ENODEV;

	if (!if_indextoname(ifindex, ifr.ifr_name))
		return err;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (!ioctl(fd, SIOCGIFHWADDR, &ifr)) {
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
		err = 0;
	}
	close(fd);
	return err;
}

/*
 * The XDP list: subscribers that never need consent last, so that a packet's
 * last copy is the one least likely to be withheld (bpfcast_xdp_copy sends a
 * withheld last copy to ourselves to keep the device's queue flushing).
 */
static struct bpfc_sub *xdp_order(struct agent *a, const struct bpfc_sub *ents, int n)
{
	struct bpfc_sub *out = malloc(n * sizeof(*out));
	int i, k = 0, pass;

	if (!out)
		return NULL;
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < n; i++) {
			bool fixed = ents[i].kind == BPFC_SUB_PEER ||
				     a->consent[ents[i].id].flags & BPFC_CONSENT_F_STATIC;

			if (fixed == (pass == 1))
				out[k++] = ents[i];
		}
	return out;
}

static int sub_oif(struct agent *a, const struct bpfc_sub *sub)
{
	int oif = a->sub_oif[sub->id];

	if (!oif) {
		oif = rtnl_route_oif(sub->family, &sub->addr);
		if (oif > 0)
			a->sub_oif[sub->id] = oif;
	}
	return oif;
}

#define NETDEV_XDP_ACT_NDO_XMIT	4	/* linux/netdev.h, 6.3+ */

/*
 * Can oif take XDP frames? Since 6.3 the device says so, and a broadcast skips
 * a device that cannot, silently; before, the transmit fails and
 * bpfcast_xmit_result flags the device. *why says which.
 */
static bool egress_refuses_xdp(struct agent *a, int oif, const char **why)
{
	struct bpfc_egress eg;
	__u64 features;
	__u32 key = oif;

	if (!netdev_xdp_features(oif, &features) && !(features & NETDEV_XDP_ACT_NDO_XMIT)) {
		*why = "the device does not offer XDP transmit";
		return true;
	}
	if (!bpf_map_lookup_elem(a->fd_egress, &key, &eg) && eg.flags & BPFC_EGRESS_F_NO_XDP_TX) {
		*why = "the device failed an XDP transmit";
		return true;
	}
	return false;
}

/* Why the stream cannot take the XDP path, or NULL and the one egress device. */
static const char *xdp_ineligible(struct agent *a, const struct agent_stream *s,
				  const struct bpfc_sub *ents, int n, int *oif)
{
	const char *refusal;
	int i, o;

	if (a->fanout != FANOUT_XDP)
		return "TC fan-out chosen";
	if (n == 0)
		return "no subscribers";
	if ((__u32)n < a->xdp_min_subs)
		return "fewer subscribers than --xdp-min-subs";
	if (a->xdp_generic)
		return "an ingest interface runs generic XDP";
	*oif = 0;
	for (i = 0; i < n; i++) {
		if (ents[i].family != s->spec.ingest.family)
			return "subscribers of the other IP family";
		o = sub_oif(a, &ents[i]);
		if (o <= 0)
			return "a subscriber has no route";
		if (o == 1)
			return "a subscriber is on this host";
		if (*oif && o != *oif)
			return "subscribers behind more than one device";
		*oif = o;
	}
	if (egress_refuses_xdp(a, *oif, &refusal))
		return refusal;
	if ((__u32)n > burst_frames(*oif, NULL, 0))
		return "one packet's copies exceed what the egress ring surely holds";
	return NULL;
}

static int devmap_create(struct agent *a, const char *name, int n, int oif)
{
	struct bpf_devmap_val val = { .ifindex = oif, .bpf_prog.fd = a->fd_xdp_copy_prog };
	__u32 i;
	int fd;

	fd = bpf_map_create(BPF_MAP_TYPE_DEVMAP, name, sizeof(__u32), sizeof(val), n, NULL);
	if (fd < 0)
		return -errno;
	for (i = 0; i < (__u32)n; i++) {
		if (bpf_map_update_elem(fd, &i, &val, BPF_ANY)) {
			int err = -errno;

			close(fd);
			return err;
		}
	}
	return fd;
}

/*
 * Fill the slot of generation gen. The slot is marked invalid while its maps
 * are replaced, so a copy still in flight from two generations ago is dropped
 * and counted (xdp_stale) rather than sent to the wrong subscriber.
 */
static int slot_fill(struct agent *a, __u32 id, __u32 gen, const struct bpfc_sub *ents, int n,
		     int oif)
{
	__u32 slot = bpfc_xdp_slot(id, gen), invalid = 0;
	struct bpfc_sub *ordered = xdp_order(a, ents, n);
	int list_fd, ports_fd, err = 0;
	char name[16];

	if (!ordered)
		return -ENOMEM;
	snprintf(name, sizeof(name), "bpfc_xl_%u", slot);
	list_fd = state_list_create(a, name, ordered, n);
	free(ordered);
	if (list_fd < 0)
		return list_fd;
	snprintf(name, sizeof(name), "bpfc_xp_%u", slot);
	ports_fd = devmap_create(a, name, n, oif);
	if (ports_fd < 0) {
		close(list_fd);
		return ports_fd;
	}
	if (bpf_map_update_elem(a->fd_xdp_slot_gen, &slot, &invalid, BPF_ANY) ||
	    bpf_map_update_elem(a->fd_xdp_lists, &slot, &list_fd, BPF_ANY) ||
	    bpf_map_update_elem(a->fd_xdp_ports, &slot, &ports_fd, BPF_ANY) ||
	    bpf_map_update_elem(a->fd_xdp_slot_gen, &slot, &gen, BPF_ANY))
		err = -errno;
	close(list_fd);
	close(ports_fd);
	return err;
}

static void slots_clear(struct agent *a, __u32 id)
{
	__u32 b, slot, invalid = 0;

	for (b = 0; b < 2; b++) {
		slot = bpfc_xdp_slot(id, b);
		bpf_map_update_elem(a->fd_xdp_slot_gen, &slot, &invalid, BPF_ANY);
		bpf_map_delete_elem(a->fd_xdp_ports, &slot);
		bpf_map_delete_elem(a->fd_xdp_lists, &slot);
	}
}

/*
 * A NAPI batch makes n x 64 copies at once. Say what the egress holds: past
 * it, ingest hands a poll's remaining packets to TC (xdp_burst_to_tc).
 */
static void check_burst(const struct agent_stream *s, int n, int oif)
{
	char driver[32], ifname[IF_NAMESIZE] = "?";
	__u32 held = burst_frames(oif, driver, sizeof(driver));
	__u64 burst = (__u64)n * NAPI_BUDGET;

	if_indextoname(oif, ifname);
	if (burst <= held)
		return;
	pr_warn("stream %s: a %d-packet NAPI batch makes %llu copies for %s, whose %s ring "
		"surely holds %u frames between flushes: the XDP path takes %u packets per poll "
		"and TC copies the rest%s\n", s->spec.name, NAPI_BUDGET, (unsigned long long)burst,
		ifname, driver, held, held / n,
		strcmp(driver, "veth") ? "; raise the ring with ethtool -G" : "");
}

/* net.core.netdev_max_backlog: init-netns only, so unreadable from a container. */
static __u32 cpu_backlog(bool *known)
{
	char buf[32] = "";
	FILE *f = fopen("/proc/sys/net/core/netdev_max_backlog", "re");

	*known = f && fgets(buf, sizeof(buf), f);
	if (f)
		fclose(f);
	return *known ? strtoul(buf, NULL, 10) : 1000;	/* the kernel's default */
}

/*
 * Where a TC burst of copies waits for the device, how many it holds there,
 * and the command that raises it. The qdisc when there is one; with noqueue,
 * a veth hands each copy to its peer's receive backlog on this CPU (shared by
 * every device of the host), and a NIC to its transmit ring.
 */
static __u32 tc_egress_queue(int oif, const char *ifname, __u64 want, char *fix, size_t len)
{
	struct link_queue q;
	char driver[32];
	__u32 ring = egress_ring(oif, driver, sizeof(driver));
	bool known;
	__u32 held;

	if (!rtnl_link_queue(oif, &q) && q.qdisc[0] && strcmp(q.qdisc, "noqueue")) {
		snprintf(fix, len, "its %s qdisc holds %u (ip link set dev %s txqueuelen %llu)",
			 q.qdisc, q.txqlen, ifname, (unsigned long long)want);
		return q.txqlen;
	}
	if (!strcmp(driver, "veth")) {
		held = cpu_backlog(&known);
		snprintf(fix, len, "it has no qdisc, so they wait in the receiving CPU's backlog, "
			 "which holds %u%s (sysctl -w net.core.netdev_max_backlog=%llu, or a qdisc: "
			 "tc qdisc replace dev %s root pfifo limit %llu)", held,
			 known ? "" : " unless raised (not readable from this network namespace)",
			 (unsigned long long)want, ifname, (unsigned long long)want);
		return held;
	}
	snprintf(fix, len, "it has no qdisc and its transmit ring holds %u (ethtool -G %s tx %llu)",
		 ring, ifname, (unsigned long long)want);
	return ring;
}

/*
 * On TC, a poll's copies are queued at once: say so when the queue they wait
 * in is shorter than a NAPI batch of them. Checked at the first subscriber's
 * device, once per size class of the stream.
 */
static void check_tc_queue(struct agent *a, struct agent_stream *s, const struct bpfc_sub *ents,
			   int n)
{
	char ifname[IF_NAMESIZE] = "?", fix[320];
	__u64 burst = (__u64)n * NAPI_BUDGET;
	__u32 held;
	int oif;

	if (n < 8 || burst <= s->tc_queue_warned)
		return;
	oif = sub_oif(a, &ents[0]);
	if (oif <= 1)
		return;
	if_indextoname(oif, ifname);
	held = tc_egress_queue(oif, ifname, burst, fix, sizeof(fix));
	if (!held || held >= burst)
		return;
	s->tc_queue_warned = burst * 2;
	pr_warn("stream %s: a %d-packet NAPI batch makes %llu copies for %s, but %s; expect drops "
		"in bursts, counted and shed\n", s->spec.name, NAPI_BUDGET,
		(unsigned long long)burst, ifname, fix);
}

/* Called after the TC list is in place, with the same entries. */
int xdpfan_publish(struct agent *a, __u32 id, const struct bpfc_sub *ents, int n)
{
	struct agent_stream *s = &a->streams[id];
	struct bpfc_path cur = {}, next;
	char ifname[IF_NAMESIZE] = "?";
	const char *why;
	int oif = 0, err;

	bpf_map_lookup_elem(a->fd_path, &id, &cur);
	s->replan = false;
	why = xdp_ineligible(a, s, ents, n, &oif);
	if (!why) {
		next = (struct bpfc_path){ .kind = BPFC_PATH_XDP, .gen = cur.gen + 1,
					   .egress_ifindex = oif, .copies = n,
					   .burst_frames = burst_frames(oif, NULL, 0) };
		if (!next.gen)
			next.gen = 1;	/* 0 marks an invalid slot */
		err = egress_mac(oif, next.egress_mac);
		if (!err)
			err = slot_fill(a, id, next.gen, ents, n, oif);
		if (err) {
			pr_warn("stream %s: cannot build the XDP fan-out (%s); using TC\n",
				s->spec.name, strerror(-err));
			why = "its DEVMAP could not be built";
		}
	}
	if (why) {
		next = cur;
		next.kind = BPFC_PATH_TC;
		if (bpf_map_update_elem(a->fd_path, &id, &next, BPF_ANY))
			return -errno;
		if (n && (s->xdp_oif || (a->fanout == FANOUT_XDP && !s->tc_logged)))
			pr_info("stream %s: TC fan-out: %s\n", s->spec.name, why);
		if (n)
			check_tc_queue(a, s, ents, n);
		s->tc_logged = n > 0;
		if (!n)
			slots_clear(a, id);
		s->xdp_oif = 0;
		return 0;
	}
	if (bpf_map_update_elem(a->fd_path, &id, &next, BPF_ANY))
		return -errno;
	if (s->xdp_oif != oif) {
		if_indextoname(oif, ifname);
		pr_info("stream %s: XDP fan-out through %s\n", s->spec.name, ifname);
		check_burst(s, n, oif);
	}
	s->xdp_oif = oif;
	return 0;
}

void xdpfan_route_changed(struct agent *a, __u32 id)
{
	if (id < BPFC_MAX_STREAMS && a->streams[id].used && a->streams[id].xdp_oif)
		a->streams[id].replan = true;
}

/* Send streams whose egress refused XDP frames back to TC; re-plan moved routes. */
void xdpfan_tick(struct agent *a)
{
	char ifname[IF_NAMESIZE];
	const char *why;
	__u32 id;
	int i;

	for (id = 0; id < BPFC_MAX_STREAMS; id++) {
		struct agent_stream *s = &a->streams[id];

		if (!s->used || !s->xdp_oif)
			continue;
		if (egress_refuses_xdp(a, s->xdp_oif, &why)) {
			if (!if_indextoname(s->xdp_oif, ifname))
				snprintf(ifname, sizeof(ifname), "ifindex %d", s->xdp_oif);
			pr_warn("%s: %s: stream %s goes back to TC fan-out (a veth transmits XDP "
				"frames only while its peer has an XDP program or GRO)\n", ifname,
				why, s->spec.name);
		} else if (!s->replan) {
			continue;
		} else {
			for (i = 0; i < s->n_subs; i++)
				a->sub_oif[s->subs[i]] = 0;
		}
		state_republish(a, id);
	}
}

static int attach_pinned(struct agent *a, struct bpf_program *prog, const char *name)
{
	char path[PATH_MAX];
	struct bpf_link *link;
	int err;

	snprintf(path, sizeof(path), "%s/%s", a->pin_dir, name);
	link = bpf_program__attach(prog);
	if (!link)
		return -errno;
	unlink(path);
	err = bpf_link__pin(link, path);
	bpf_link__disconnect(link);
	bpf_link__destroy(link);
	return err;
}

/*
 * The XDP fan-out needs two tracing programs: the transmit monitor and the
 * end-of-poll hook that resets the burst budget. Their links are pinned so they
 * keep working while no agent runs. A fresh start re-learns refusals.
 */
int xdpfan_attach_monitor(struct agent *a)
{
	__u32 key;
	int err;

	while (!bpf_map_get_next_key(a->fd_egress, NULL, &key))
		if (bpf_map_delete_elem(a->fd_egress, &key))
			break;
	err = attach_pinned(a, a->skel->progs.bpfcast_xmit_result, BPFC_PIN_XMIT_LINK);
	if (!err)
		err = attach_pinned(a, a->skel->progs.bpfcast_poll_end, BPFC_PIN_POLL_LINK);
	if (err) {
		pr_warn("cannot attach the XDP fan-out's tracing programs (%s): streams stay on "
			"TC\n", strerror(-err));
		a->fanout = FANOUT_TC;
	}
	return 0;
}
