// SPDX-License-Identifier: GPL-2.0
/* The data plane's ring buffer: counter samples and notable events. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "bpfcast.skel.h"
#include "agent.h"
#include "log.h"

#define RATE_WINDOW_NS 1000000000ULL

static void on_sample(struct agent *a, const struct bpfc_event *ev)
{
	struct stream_rate *r;
	__u64 dt;

	if (ev->stream_id >= BPFC_MAX_STREAMS || !a->streams[ev->stream_id].used)
		return;
	r = &a->streams[ev->stream_id].rate;
	r->last_sample_ns = ev->ts_ns;
	if (!r->anchor_ns || ev->stats.rx_packets < r->anchor_packets) {
		r->anchor_ns = ev->ts_ns;
		r->anchor_packets = ev->stats.rx_packets;
		r->anchor_bytes = ev->stats.rx_bytes;
		r->anchor_tx_bytes = ev->stats.tx_bytes;
		return;
	}
	dt = ev->ts_ns - r->anchor_ns;
	if (dt < RATE_WINDOW_NS)
		return;
	r->pps = (ev->stats.rx_packets - r->anchor_packets) * 1000000000ULL / dt;
	r->bps = (ev->stats.rx_bytes - r->anchor_bytes) * 8 * 1000000000ULL / dt;
	r->tx_bps = (ev->stats.tx_bytes - r->anchor_tx_bytes) * 8 * 1000000000ULL / dt;
	r->anchor_tx_bytes = ev->stats.tx_bytes;
	r->anchor_ns = ev->ts_ns;
	r->anchor_packets = ev->stats.rx_packets;
	r->anchor_bytes = ev->stats.rx_bytes;
}

static const char *stream_name(struct agent *a, __u32 id)
{
	return id < BPFC_MAX_STREAMS && a->streams[id].used ? a->streams[id].spec.name : "?";
}

static int on_event(void *ctx, void *data, size_t size)
{
	const struct bpfc_event *ev = data;
	struct agent *a = ctx;
	char addr[64];
	int ret;

	if (size < sizeof(*ev))
		return 0;
	switch (ev->type) {
	case BPFC_EV_SAMPLE:
		on_sample(a, ev);
		break;
	case BPFC_EV_NEW_SOURCE:
		pr_info("stream %s: sender is now %s\n", stream_name(a, ev->stream_id),
			bpfc_addr_str(ev->family, &ev->addr, addr, sizeof(addr)));
		break;
	case BPFC_EV_NO_NEIGH:
		bpfc_addr_str(ev->family, &ev->addr, addr, sizeof(addr));
		ret = rtnl_resolve_neigh(ev->family, &ev->addr);
		if (ret)
			pr_warn("stream %s: cannot resolve the next hop to %s: %s\n",
				stream_name(a, ev->stream_id), addr, strerror(-ret));
		else
			pr_debug("stream %s: resolving the next hop to %s\n",
				 stream_name(a, ev->stream_id), addr);
		break;
	case BPFC_EV_TX_ERROR:
		if (ev->ifindex == BPFC_TXERR_ROUTE_CHANGED)
			xdpfan_route_changed(a, ev->stream_id);
		pr_debug("stream %s: copy to %s failed (reason %u)\n",
			 stream_name(a, ev->stream_id),
			 bpfc_addr_str(ev->family, &ev->addr, addr, sizeof(addr)), ev->ifindex);
		break;
	}
	return 0;
}

int events_open(struct agent *a)
{
	a->events = ring_buffer__new(bpf_map__fd(a->skel->maps.bpfc_events), on_event, a, NULL);
	return a->events ? 0 : -errno;
}

int events_fd(struct agent *a)
{
	return ring_buffer__epoll_fd(a->events);
}

void events_poll(struct agent *a)
{
	ring_buffer__consume(a->events);
}
