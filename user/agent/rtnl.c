// SPDX-License-Identifier: GPL-2.0
/* rtnetlink through libmnl: interface addresses, neighbours, multicast groups. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <linux/neighbour.h>
#include <linux/genetlink.h>
#include <libmnl/libmnl.h>
#include <bpf/bpf.h>
#include "agent.h"
#include "log.h"

#define MAX_IFINDEX_TRACKED 1024

/* Send one request and run cb over every answer until the ACK or DONE. */
static int nl_talk(int protocol, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	unsigned int portid;
	int ret;

	nl = mnl_socket_open(protocol);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_seq = time(NULL);
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	do {
		ret = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (ret <= 0) {
			ret = ret < 0 ? -errno : -EIO;
			break;
		}
		ret = mnl_cb_run(buf, ret, nlh->nlmsg_seq, portid, cb, data);
	} while (ret > MNL_CB_STOP);
	if (ret < 0)
		ret = -errno;
out:
	mnl_socket_close(nl);
	return ret;
}

static int rtnl_talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	return nl_talk(NETLINK_ROUTE, nlh, cb, data);
}

struct ifaddr_table {
	struct bpfc_ifaddr addr[MAX_IFINDEX_TRACKED];
	bool have4[MAX_IFINDEX_TRACKED];
	bool have6[MAX_IFINDEX_TRACKED];
};

static int ifaddr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ifaddr_table *t = data;
	struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	const void *addr = NULL;
	__u32 flags = ifa->ifa_flags;
	unsigned int idx = ifa->ifa_index;

	if (idx >= MAX_IFINDEX_TRACKED)
		return MNL_CB_OK;
	mnl_attr_for_each(attr, nlh, sizeof(*ifa)) {
		switch (mnl_attr_get_type(attr)) {
		case IFA_LOCAL:
			addr = mnl_attr_get_payload(attr);
			break;
		case IFA_ADDRESS:
			if (!addr)
				addr = mnl_attr_get_payload(attr);
			break;
		case IFA_FLAGS:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				flags = mnl_attr_get_u32(attr);
			break;
		}
	}
	if (!addr || (flags & (IFA_F_MCAUTOJOIN | IFA_F_SECONDARY | IFA_F_TENTATIVE |
			       IFA_F_DEPRECATED | IFA_F_DADFAILED)))
		return MNL_CB_OK;
	if (ifa->ifa_family == AF_INET && !t->have4[idx]) {
		const __u8 *b = addr;

		if (b[0] >= 224 || b[0] == 127)
			return MNL_CB_OK;
		memcpy(&t->addr[idx].v4, addr, 4);
		t->have4[idx] = true;
	} else if (ifa->ifa_family == AF_INET6 && !t->have6[idx] &&
		   ifa->ifa_scope == RT_SCOPE_UNIVERSE) {
		const __u8 *b = addr;

		if (b[0] == 0xFF)
			return MNL_CB_OK;
		memcpy(t->addr[idx].v6, addr, 16);
		t->have6[idx] = true;
	}
	return MNL_CB_OK;
}

/* bpfc_ifaddrs := the primary IPv4 and first global IPv6 address of each interface. */
int rtnl_sync_ifaddrs(struct agent *a)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddr_table *t = calloc(1, sizeof(*t));
	struct rtgenmsg *rt;
	__u32 key, next, i;
	int ret;

	if (!t)
		return -ENOMEM;
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_DUMP;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtgen_family = AF_UNSPEC;
	ret = rtnl_talk(nlh, ifaddr_cb, t);
	if (ret < 0) {
		pr_warn("cannot list interface addresses: %s\n", strerror(-ret));
		goto out;
	}
	for (i = 1; i < MAX_IFINDEX_TRACKED; i++)
		if (t->have4[i] || t->have6[i])
			bpf_map_update_elem(a->fd_ifaddrs, &i, &t->addr[i], BPF_ANY);
	for (ret = bpf_map_get_next_key(a->fd_ifaddrs, NULL, &key); !ret; key = next) {
		ret = bpf_map_get_next_key(a->fd_ifaddrs, &key, &next);
		if (key >= MAX_IFINDEX_TRACKED || (!t->have4[key] && !t->have6[key]))
			bpf_map_delete_elem(a->fd_ifaddrs, &key);
	}
	ret = 0;
out:
	free(t);
	return ret;
}

int rtnl_events_open(struct agent *a)
{
	a->rtnl_events = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!a->rtnl_events)
		return -errno;
	if (mnl_socket_bind(a->rtnl_events,
			    RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
			    RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_NEIGH,
			    MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	return 0;
}

int rtnl_events_fd(struct agent *a)
{
	return mnl_socket_get_fd(a->rtnl_events);
}

/*
 * Any link or address change: re-read all addresses. Simple and never stale.
 * Any change at all, route and neighbour ones too: the data plane's cached
 * routes are void. A lost event (ENOBUFS) may have been any of them.
 */
void rtnl_events_handle(struct agent *a)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	bool addrs = false, routes = false;
	const struct nlmsghdr *nlh;
	int len;

	while ((len = (int)mnl_socket_recvfrom(a->rtnl_events, buf, sizeof(buf))) != 0) {
		if (len < 0) {
			if (errno != ENOBUFS)
				break;		/* EAGAIN: all read */
			addrs = routes = true;	/* events were lost */
			continue;
		}
		routes = true;
		for (nlh = (void *)buf; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
			if (nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE &&
			    nlh->nlmsg_type != RTM_NEWNEIGH && nlh->nlmsg_type != RTM_DELNEIGH)
				addrs = true;
	}
	/* Addresses first: a route cached before the bump could hold an old source. */
	if (addrs)
		rtnl_sync_ifaddrs(a);
	if (routes) {
		int err;

		a->route_gen++;
		err = settings_write(a);
		if (err)
			pr_warn("cannot void the cached routes: %s\n", strerror(-err));
	}
}

struct route_answer {
	int oif;
	int gw_len;
	__u8 gw[16];
};

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct route_answer *r = data;
	const struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, sizeof(struct rtmsg)) {
		switch (mnl_attr_get_type(attr)) {
		case RTA_OIF:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				r->oif = mnl_attr_get_u32(attr);
			break;
		case RTA_GATEWAY:
			if (mnl_attr_get_payload_len(attr) == 4 ||
			    mnl_attr_get_payload_len(attr) == 16) {
				r->gw_len = mnl_attr_get_payload_len(attr);
				memcpy(r->gw, mnl_attr_get_payload(attr), r->gw_len);
			}
			break;
		}
	}
	return MNL_CB_OK;
}

/*
 * A subscriber's next hop has no neighbour entry: look up the route, then ask
 * the kernel to resolve the next hop (NTF_USE kicks ARP/ND).
 */
static int route_get(__u8 family, const union bpfc_addr *addr, struct route_answer *r)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int alen = family == BPFC_AF_INET ? 4 : 16;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int ret;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	rtm->rtm_dst_len = alen * 8;
	mnl_attr_put(nlh, RTA_DST, alen, addr);
	ret = rtnl_talk(nlh, route_cb, r);
	if (ret < 0)
		return ret;
	return r->oif ? 0 : -ENETUNREACH;
}

/* The device a packet to addr leaves by, or -errno. */
int rtnl_route_oif(__u8 family, const union bpfc_addr *addr)
{
	struct route_answer r = {};
	int ret = route_get(family, addr, &r);

	return ret ? ret : r.oif;
}

int rtnl_resolve_neigh(__u8 family, const union bpfc_addr *addr)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int alen = family == BPFC_AF_INET ? 4 : 16;
	struct route_answer r = {};
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;
	int ret, i;

	ret = route_get(family, addr, &r);
	if (ret)
		return ret;

	/* Thousands of subscribers behind one router share one next hop: ask once. */
	{
		static struct { int oif, len; __u8 hop[16]; time_t when; } last;
		const void *hop = r.gw_len == alen ? (const void *)r.gw : (const void *)addr;

		if (last.oif == r.oif && last.len == alen && !memcmp(last.hop, hop, alen) &&
		    time(NULL) - last.when < 2)
			return 0;
		last.oif = r.oif;
		last.len = alen;
		memcpy(last.hop, hop, alen);
		last.when = time(NULL);
	}
	/*
	 * A managed entry (5.16+) is kept resolved by the kernel, so a next hop
	 * that only BPF uses never ages out. Older kernels: a one-off NTF_USE.
	 */
	for (ret = -EINVAL, i = 0; i < 2 && ret; i++) {
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = RTM_NEWNEIGH;
		nlh->nlmsg_flags = NLM_F_CREATE | (i == 0 ? NLM_F_EXCL : NLM_F_REPLACE);
		ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
		ndm->ndm_family = family;
		ndm->ndm_ifindex = r.oif;
		ndm->ndm_state = NUD_NONE;
		ndm->ndm_flags = i == 0 ? 0 : NTF_USE;
		mnl_attr_put(nlh, NDA_DST, alen, r.gw_len == alen ? r.gw : (const void *)addr);
		if (i == 0)
			mnl_attr_put_u32(nlh, NDA_FLAGS_EXT, NTF_EXT_MANAGED);
		ret = rtnl_talk(nlh, NULL, NULL);
	}
	return ret;
}

/*
 * Join a multicast group as a kernel-owned address (IFA_F_MCAUTOJOIN): the
 * membership outlives the agent, so restarts do not make the switch prune us.
 */
int rtnl_mcast_join(int ifindex, __u8 family, const union bpfc_addr *group, bool join)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int alen = family == BPFC_AF_INET ? 4 : 16;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	int ret;

	nlh->nlmsg_type = join ? RTM_NEWADDR : RTM_DELADDR;
	nlh->nlmsg_flags = join ? NLM_F_CREATE | NLM_F_EXCL : 0;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = family;
	ifa->ifa_prefixlen = alen * 8;
	ifa->ifa_index = ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	if (family == BPFC_AF_INET)
		mnl_attr_put(nlh, IFA_LOCAL, alen, group);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, group);
	mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_MCAUTOJOIN);
	ret = rtnl_talk(nlh, NULL, NULL);
	if (ret == -EADDRNOTAVAIL && !join)
		ret = 0;
	return ret;
}

static int link_queue_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_queue *q = data;
	const struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, sizeof(struct ifinfomsg)) {
		switch (mnl_attr_get_type(attr)) {
		case IFLA_QDISC:
			if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
				snprintf(q->qdisc, sizeof(q->qdisc), "%s", mnl_attr_get_str(attr));
			break;
		case IFLA_TXQLEN:
			if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
				q->txqlen = mnl_attr_get_u32(attr);
			break;
		}
	}
	return MNL_CB_OK;
}

/* The root qdisc of a device ("noqueue" when it has none) and its txqueuelen. */
int rtnl_link_queue(int ifindex, struct link_queue *q)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct ifinfomsg *ifi;
	struct nlmsghdr *nlh;

	*q = (struct link_queue){};
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return rtnl_talk(nlh, link_queue_cb, q);
}

static int write_sysctl(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/*
 * bpf_fib_lookup requires forwarding on the interface the lookup pretends the
 * packet came in on. The data plane uses loopback for that, so only lo needs
 * it: the host does not become a router for anything else.
 */
int rtnl_enable_lo_forwarding(void)
{
	int ret = write_sysctl("/proc/sys/net/ipv4/conf/lo/forwarding", "1");

	if (ret) {
		pr_warn("cannot enable net.ipv4.conf.lo.forwarding: %s\n", strerror(-ret));
		return ret;
	}
	ret = write_sysctl("/proc/sys/net/ipv6/conf/lo/forwarding", "1");
	if (ret && ret != -ENOENT) {
		pr_warn("cannot enable net.ipv6.conf.lo.forwarding: %s\n", strerror(-ret));
		return ret;
	}
	return 0;
}

/* The generic netlink "netdev" family (Linux 6.3+): which XDP actions a device supports. */
#define NETDEV_FAMILY_NAME		"netdev"
#define NETDEV_CMD_DEV_GET		1
#define NETDEV_A_DEV_IFINDEX		1
#define NETDEV_A_DEV_XDP_FEATURES	3

static int family_id_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr))
		if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_ID &&
		    mnl_attr_validate(attr, MNL_TYPE_U16) == 0)
			*(int *)data = mnl_attr_get_u16(attr);
	return MNL_CB_OK;
}

static int xdp_features_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, sizeof(struct genlmsghdr))
		if (mnl_attr_get_type(attr) == NETDEV_A_DEV_XDP_FEATURES &&
		    mnl_attr_validate(attr, MNL_TYPE_U64) == 0)
			*(__u64 *)data = mnl_attr_get_u64(attr);
	return MNL_CB_OK;
}

static struct nlmsghdr *genl_header(char *buf, __u16 type, __u8 cmd, __u8 version)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

/* The device's NETDEV_XDP_ACT_* bits; -EOPNOTSUPP before Linux 6.3. */
int netdev_xdp_features(int ifindex, __u64 *features)
{
	static int family = -1;
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int ret;

	if (family < 0) {
		nlh = genl_header(buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1);
		mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, NETDEV_FAMILY_NAME);
		family = 0;
		ret = nl_talk(NETLINK_GENERIC, nlh, family_id_cb, &family);
		if (ret < 0 || !family) {
			family = 0;
			return -EOPNOTSUPP;
		}
	}
	if (!family)
		return -EOPNOTSUPP;
	nlh = genl_header(buf, family, NETDEV_CMD_DEV_GET, 1);
	mnl_attr_put_u32(nlh, NETDEV_A_DEV_IFINDEX, ifindex);
	*features = 0;
	ret = nl_talk(NETLINK_GENERIC, nlh, xdp_features_cb, features);
	return ret < 0 ? ret : 0;
}
