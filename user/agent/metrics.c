// SPDX-License-Identifier: GPL-2.0
/*
 * The agent's Prometheus endpoint (--http ADDR:PORT, /metrics): relay-wide,
 * per-stream and, while their number stays bounded, per-subscriber counters
 * read straight from the BPF maps.
 */
#include <string.h>
#include "agent.h"
#include "http.h"

/* Past this many subscribers, per-subscriber series are left out (cardinality). */
#define METRICS_MAX_SUB_SERIES 1000

#define METRIC(b, name, type, help) \
	bpfc_buf_printf(b, "# HELP " name " " help "\n# TYPE " name " " type "\n")

static void relay_metrics(struct agent *a, struct bpfc_buf *b)
{
	struct bpfc_global_stats g = {};

	dp_read_global(a, &g);
	METRIC(b, "bpfcast_relay_rx_packets_total", "counter", "Packets XDP saw on ingest.");
	bpfc_buf_printf(b, "bpfcast_relay_rx_packets_total %llu\n", (unsigned long long)g.rx_packets);
	METRIC(b, "bpfcast_relay_malformed_packets_total", "counter",
	       "Packets that could not be parsed, by layer.");
	bpfc_buf_printf(b, "bpfcast_relay_malformed_packets_total{layer=\"l2\"} %llu\n"
			"bpfcast_relay_malformed_packets_total{layer=\"l3\"} %llu\n"
			"bpfcast_relay_malformed_packets_total{layer=\"l4\"} %llu\n",
			(unsigned long long)g.trunc_l2, (unsigned long long)(g.trunc_l3 + g.bad_l3),
			(unsigned long long)(g.trunc_l4 + g.bad_l4));
	METRIC(b, "bpfcast_relay_events_lost_total", "counter", "Ring-buffer records lost.");
	bpfc_buf_printf(b, "bpfcast_relay_events_lost_total %llu\n", (unsigned long long)g.events_lost);
	METRIC(b, "bpfcast_relay_join_rate_limited_total", "counter",
	       "JOIN-port packets dropped in XDP over a source's budget.");
	bpfc_buf_printf(b, "bpfcast_relay_join_rate_limited_total %llu\n",
			(unsigned long long)g.join_rate_limited);
	METRIC(b, "bpfcast_relay_subscribers", "gauge", "Subscribers in the data plane.");
	bpfc_buf_printf(b, "bpfcast_relay_subscribers %d\n", a->n_subs_total);
}

/* One counter family over all streams: name, help, and the value per stream. */
static void stream_family(struct agent *a, struct bpfc_buf *b, const char *name, const char *type,
			  const char *help, const struct bpfc_stream_stats *st, size_t field_off,
			  __u64 (*value)(const struct agent_stream *s))
{
	int id;

	bpfc_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	for (id = 0; id < BPFC_MAX_STREAMS; id++) {
		const struct agent_stream *s = &a->streams[id];
		__u64 v;

		if (!s->used)
			continue;
		v = value ? value(s) : *(const __u64 *)((const char *)&st[id] + field_off);
		bpfc_buf_printf(b, "%s{stream=\"%s\"} %llu\n", name, s->spec.name,
				(unsigned long long)v);
	}
}

#define S_FIELD(f) offsetof(struct bpfc_stream_stats, f)
#define ST_FN(fn, expr) static __u64 fn(const struct agent_stream *s) { return (expr); }
ST_FN(v_rx_bytes_ps, s->rate.bps / 8)
ST_FN(v_tx_bytes_ps, s->rate.tx_bps / 8)
ST_FN(v_joins, s->joins)
ST_FN(v_challenges, s->challenges)
ST_FN(v_refused, s->join_refused)
ST_FN(v_expiries, s->expiries)
ST_FN(v_leaves, s->leaves)
ST_FN(v_quota, s->quota_refused)

static void stream_metrics(struct agent *a, struct bpfc_buf *b, struct bpfc_stream_stats *st)
{
	int id;

	for (id = 0; id < BPFC_MAX_STREAMS; id++)
		if (a->streams[id].used)
			dp_read_stream_stats(a, id, &st[id]);
	stream_family(a, b, "bpfcast_stream_rx_packets_total", "counter",
		      "Packets of a stream received.", st, S_FIELD(rx_packets), NULL);
	stream_family(a, b, "bpfcast_stream_rx_bytes_total", "counter",
		      "Bytes of a stream received.", st, S_FIELD(rx_bytes), NULL);
	stream_family(a, b, "bpfcast_stream_tx_packets_total", "counter",
		      "Copies of a stream sent.", st, S_FIELD(tx_packets), NULL);
	stream_family(a, b, "bpfcast_stream_tx_bytes_total", "counter",
		      "Bytes of copies of a stream sent.", st, S_FIELD(tx_bytes), NULL);
	stream_family(a, b, "bpfcast_stream_tx_errors_total", "counter",
		      "Copies that could not be delivered.", st, S_FIELD(tx_errors), NULL);
	stream_family(a, b, "bpfcast_stream_rx_bytes_per_second", "gauge",
		      "A stream's input rate over the last second.", st, 0, v_rx_bytes_ps);
	stream_family(a, b, "bpfcast_stream_tx_bytes_per_second", "gauge",
		      "A stream's output rate over the last second.", st, 0, v_tx_bytes_ps);
	stream_family(a, b, "bpfcast_stream_joins_total", "counter",
		      "Devices that completed the JOIN handshake.", st, 0, v_joins);
	stream_family(a, b, "bpfcast_stream_challenges_total", "counter",
		      "CHALLENGEs sent to JOINs.", st, 0, v_challenges);
	stream_family(a, b, "bpfcast_stream_join_refused_total", "counter",
		      "JOINs refused: token, nonce, quota or policy.", st, 0, v_refused);
	stream_family(a, b, "bpfcast_stream_consent_expiries_total", "counter",
		      "Devices removed because their consent expired.", st, 0, v_expiries);
	stream_family(a, b, "bpfcast_stream_leaves_total", "counter",
		      "Devices that sent LEAVE.", st, 0, v_leaves);
	stream_family(a, b, "bpfcast_stream_quota_refused_total", "counter",
		      "Subscriptions refused over a stream or relay quota.", st, 0, v_quota);
	METRIC(b, "bpfcast_stream_drops_total", "counter", "Packets of a stream dropped, by reason.");
	for (id = 0; id < BPFC_MAX_STREAMS; id++) {
		if (!a->streams[id].used)
			continue;
#define DROP_LINE(reason, field)								\
		bpfc_buf_printf(b, "bpfcast_stream_drops_total{stream=\"%s\",reason=\"" #reason	\
				"\"} %llu\n", a->streams[id].spec.name,				\
				(unsigned long long)st[id].field);
		BPFC_DROP_REASONS(DROP_LINE)
#undef DROP_LINE
	}
	METRIC(b, "bpfcast_stream_subscribers", "gauge", "Subscribers of a stream, by kind.");
	for (id = 0; id < BPFC_MAX_STREAMS; id++) {
		const struct agent_stream *s = &a->streams[id];
		int i, peers = 0;

		if (!s->used)
			continue;
		for (i = 0; i < s->n_subs; i++)
			peers += a->subs[s->subs[i]].kind == BPFC_SUB_PEER;
		bpfc_buf_printf(b, "bpfcast_stream_subscribers{stream=\"%s\",kind=\"device\"} %d\n"
				"bpfcast_stream_subscribers{stream=\"%s\",kind=\"peer\"} %d\n",
				s->spec.name, s->n_subs - peers, s->spec.name, peers);
	}
}

static void sub_metrics(struct agent *a, struct bpfc_buf *b)
{
	static const char *const names[] = { "bpfcast_subscriber_tx_packets_total",
					     "bpfcast_subscriber_tx_bytes_total",
					     "bpfcast_subscriber_errors_total",
					     "bpfcast_subscriber_no_consent_total" };
	static const char *const helps[] = { "Copies sent to a subscriber.",
					     "Bytes sent to a subscriber.",
					     "Copies to a subscriber that could not be delivered.",
					     "Copies withheld for want of consent." };
	unsigned int m;
	__u32 id;

	METRIC(b, "bpfcast_subscriber_series_omitted", "gauge",
	       "1 when there are too many subscribers for per-subscriber series.");
	bpfc_buf_printf(b, "bpfcast_subscriber_series_omitted %d\n",
			a->n_subs_total > METRICS_MAX_SUB_SERIES);
	if (a->n_subs_total > METRICS_MAX_SUB_SERIES)
		return;
	for (m = 0; m < 4; m++) {
		bpfc_buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n", names[m], helps[m], names[m]);
		for (id = 0; id < BPFC_MAX_SUBS; id++) {
			struct bpfc_sub_stats st = {};
			char ep[BPFC_ENDPOINT_STRLEN];
			struct bpfc_endpoint e;
			__u64 v;

			if (!a->sub_used[id])
				continue;
			dp_read_sub_stats(a, id, &st);
			v = m == 0 ? st.packets : m == 1 ? st.bytes : m == 3 ? st.no_consent :
			    st.err_no_route + st.err_no_neigh + st.err_mtu + st.err_no_ifaddr +
			    st.err_redirect + st.err_route_changed;
			bpfc_sub_endpoint(&a->subs[id], &e);
			bpfc_buf_printf(b, "%s{stream=\"%s\",subscriber=\"%s\"} %llu\n", names[m],
					a->streams[a->subs[id].stream_id].spec.name,
					bpfc_endpoint_str(&e, ep, sizeof(ep)), (unsigned long long)v);
		}
	}
}

unsigned int metrics_http(void *ctx, const char *url, struct bpfc_buf *body, const char **type)
{
	static struct bpfc_stream_stats st[BPFC_MAX_STREAMS];
	struct agent *a = ctx;

	if (strcmp(url, "/metrics")) {
		bpfc_buf_printf(body, "not found: try /metrics\n");
		return 404;
	}
	relay_metrics(a, body);
	stream_metrics(a, body, st);
	sub_metrics(a, body);
	*type = "text/plain; version=0.0.4; charset=utf-8";
	return 200;
}
