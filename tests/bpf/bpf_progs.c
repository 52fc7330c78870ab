// SPDX-License-Identifier: GPL-2.0
/*
 * BPF program tests: crafted packets through bpfcast_xdp_ingest and
 * bpfcast_tc_fanout with BPF_PROG_TEST_RUN. Each case checks the verdict,
 * the counters and, for TC, every copy on the wire: headers, checksums and
 * an untouched payload. Runs in a private network namespace it creates.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpfcast.skel.h"
#include "spec.h"

#define VETH_OUT "bct-out"	/* the copies leave here ... */
#define VETH_CAP "bct-cap"	/* ... and are captured here */
#define SUB_MAC "\x02\x00\x00\x00\x00\x02"

static struct bpfcast *skel;
static int xdp_fd, tc_fd, cap_fd, nr_cpus, passed, failed;
static unsigned char out_mac[6];
static __u32 next_stream_id, next_sub_id;

#define CHECK(cond, fmt, ...)                                                       \
	({                                                                          \
		bool __ok = (cond);                                                 \
		if (!__ok)                                                          \
			fprintf(stderr, "    %s:%d: " fmt "\n", __func__, __LINE__, \
				##__VA_ARGS__);                                     \
		__ok;                                                               \
	})

static void report(const char *name, bool ok)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", name);
	if (ok)
		passed++;
	else
		failed++;
}

/* ---- packets ------------------------------------------------------------ */

struct spec {
	int family;
	bool vlan;
	int ip_opts;		/* IPv4 option bytes, multiple of 4 */
	int ext_hdrs;		/* IPv6: number of 8-byte destination-options headers */
	const char *src, *dst;
	__u16 sport, dport;
	__u8 ttl;
	__u16 frag;		/* IPv4 frag_off (host order) / IPv6: offset<<3 | M */
	bool v6_frag;
	int payload;
	bool no_csum;
	__u8 proto;
	int truncate;		/* keep only this many bytes (0: all) */
	bool bad_udp_len;
};

static __u32 csum_add(__u32 sum, const void *data, size_t len)
{
	const __u8 *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	return sum;
}

static __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return ~sum & 0xFFFF;
}

static __u16 udp_csum(int family, const void *src, const void *dst, const void *udp, size_t len)
{
	int alen = family == AF_INET ? 4 : 16;
	__u32 sum = 0;

	sum = csum_add(sum, src, alen);
	sum = csum_add(sum, dst, alen);
	sum += IPPROTO_UDP + len;
	sum = csum_add(sum, udp, len);
	return csum_fold(sum);
}

static void payload_bytes(__u8 *p, int len)
{
	int i;

	for (i = 0; i < len; i++)
		p[i] = (__u8)(i * 7 + 3);
}

static size_t build(const struct spec *s, __u8 *buf)
{
	__u8 *p = buf, *l4;
	__u8 saddr[16], daddr[16];
	int fam = s->family ? s->family : AF_INET;
	int plen = s->payload ? s->payload : 1316;
	__u16 udp_len = 8 + plen;
	struct udphdr *uh;

	inet_pton(fam, s->src, saddr);
	inet_pton(fam, s->dst, daddr);
	memcpy(p, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(p + 6, "\x02\x00\x00\x00\x00\x09", 6);
	p += 12;
	if (s->vlan) {
		*p++ = 0x81, *p++ = 0x00, *p++ = 0x00, *p++ = 0x2A;
	}
	*p++ = fam == AF_INET ? 0x08 : 0x86;
	*p++ = fam == AF_INET ? 0x00 : 0xDD;
	if (fam == AF_INET) {
		struct iphdr *ih = (struct iphdr *)p;

		memset(ih, 0, 20 + s->ip_opts);
		ih->version = 4;
		ih->ihl = 5 + s->ip_opts / 4;
		ih->tos = 0xB8;	/* DSCP EF: must survive */
		ih->tot_len = htons(ih->ihl * 4 + udp_len);
		ih->id = htons(0x1234);
		ih->frag_off = htons(s->frag);
		ih->ttl = s->ttl ? s->ttl : 64;
		ih->protocol = s->proto ? s->proto : IPPROTO_UDP;
		memcpy(&ih->saddr, saddr, 4);
		memcpy(&ih->daddr, daddr, 4);
		if (s->ip_opts)
			memset(p + 20, 1, s->ip_opts);	/* NOPs */
		ih->check = htons(csum_fold(csum_add(0, ih, ih->ihl * 4)));
		p += ih->ihl * 4;
	} else {
		struct ipv6hdr *ih = (struct ipv6hdr *)p;
		int ext_len = s->ext_hdrs * 8 + (s->v6_frag ? 8 : 0), i;
		__u8 *e;

		memset(ih, 0, 40 + ext_len);
		ih->version = 6;
		ih->priority = 0xB;
		ih->flow_lbl[0] = 0x80;
		ih->flow_lbl[2] = 0x42;
		ih->payload_len = htons(ext_len + udp_len);
		ih->hop_limit = s->ttl ? s->ttl : 64;
		memcpy(&ih->saddr, saddr, 16);
		memcpy(&ih->daddr, daddr, 16);
		e = p + 40;
		ih->nexthdr = s->ext_hdrs ? 60 : s->v6_frag ? 44 : (s->proto ? s->proto : 17);
		for (i = 0; i < s->ext_hdrs; i++, e += 8)
			e[0] = i + 1 < s->ext_hdrs ? 60 : s->v6_frag ? 44 : 17;
		if (s->v6_frag) {
			e[0] = 17;
			e[2] = s->frag >> 8;
			e[3] = s->frag & 0xFF;
		}
		p += 40 + ext_len;
	}
	l4 = p;
	uh = (struct udphdr *)p;
	uh->source = htons(s->sport ? s->sport : 40000);
	uh->dest = htons(s->dport);
	uh->len = htons(s->bad_udp_len ? udp_len + 100 : udp_len);
	uh->check = 0;
	payload_bytes(p + 8, plen);
	if (!s->no_csum) {
		__u16 c = udp_csum(fam, saddr, daddr, l4, udp_len);

		uh->check = htons(c ? c : 0xFFFF);
	}
	p += udp_len;
	return s->truncate ? (size_t)s->truncate : (size_t)(p - buf);
}

/* ---- maps --------------------------------------------------------------- */

static __u32 add_stream(const char *name, const char *ingest, const char *source)
{
	struct bpfc_stream_spec spec = {};
	struct bpfc_stream_key key;
	struct bpfc_stream val;
	__u32 id = next_stream_id++;

	snprintf(spec.name, sizeof(spec.name), "%s", name);
	bpfc_parse_endpoint(ingest, &spec.ingest);
	if (source) {
		bpfc_parse_prefix(source, &spec.source);
		spec.has_source = true;
	}
	spec.egress_port = 5555;
	bpfc_stream_key_build(&spec.ingest, &key);
	bpfc_stream_build(&spec, id, &val);
	bpf_map__update_elem(skel->maps.bpfc_streams, &key, sizeof(key), &val, sizeof(val), 0);
	return id;
}

/* Consent each new subscriber gets from set_subs; static unless a case says otherwise. */
static struct bpfc_consent next_consent = { .flags = BPFC_CONSENT_F_STATIC };

/* Publish a fan-out list of the given subscriber endpoints. */
static void set_subs(__u32 stream_id, const char *const *eps, int n)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_INNER_MAP);
	int fd, i;

	if (!n) {
		bpf_map__delete_elem(skel->maps.bpfc_fanout, &stream_id, 4, 0);
		return;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bct_list", 4, sizeof(struct bpfc_sub), n, &o);
	for (i = 0; i < n; i++) {
		struct bpfc_endpoint ep;
		struct bpfc_sub sub;
		__u32 k = i;

		bpfc_parse_endpoint(eps[i], &ep);
		bpfc_sub_build(&ep, BPFC_SUB_DEVICE, next_sub_id++, stream_id, &sub);
		bpf_map_update_elem(fd, &k, &sub, 0);
		bpf_map__update_elem(skel->maps.bpfc_consent, &sub.id, 4, &next_consent,
				     sizeof(next_consent), 0);
	}
	bpf_map__update_elem(skel->maps.bpfc_fanout, &stream_id, 4, &fd, 4, 0);
	close(fd);
}

static __u64 sum_percpu(struct bpf_map *map, __u32 key, size_t off)
{
	size_t vsz = bpf_map__value_size(map);
	__u8 *vals = calloc(nr_cpus, vsz);
	__u64 sum = 0;
	int c;

	if (!bpf_map__lookup_elem(map, &key, 4, vals, vsz * nr_cpus, 0))
		for (c = 0; c < nr_cpus; c++)
			sum += *(__u64 *)(vals + c * vsz + off);
	free(vals);
	return sum;
}

#define STREAM_STAT(id, field) \
	sum_percpu(skel->maps.bpfc_strm_stats, id, offsetof(struct bpfc_stream_stats, field))
#define GLOBAL_STAT(field) \
	sum_percpu(skel->maps.bpfc_global, 0, offsetof(struct bpfc_global_stats, field))
#define SUB_STAT(id, field) \
	sum_percpu(skel->maps.bpfc_sub_stats, id, offsetof(struct bpfc_sub_stats, field))

static int run_prog(int fd, const __u8 *pkt, size_t len, __u8 *out, __u32 *out_len)
{
	static __u8 scratch[16384];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = len,
		    .data_out = out ? out : scratch, .data_size_out = sizeof(scratch), .repeat = 1);
	int err = bpf_prog_test_run_opts(fd, &o);

	if (out_len)
		*out_len = o.data_size_out;
	return err ? -1000 + err : (int)o.retval;
}

/* ---- XDP cases ---------------------------------------------------------- */

struct xdp_case {
	const char *name;
	struct spec s;
	int verdict;
	size_t global_off;		/* counter that must grow by one, or -1 */
	size_t stream_off;		/* likewise, in the stream's counters */
};

#define G(f) offsetof(struct bpfc_global_stats, f)
#define S(f) offsetof(struct bpfc_stream_stats, f)
#define NONE ((size_t)-1)

static __u32 sid_v4, sid_v6, sid_mc, sid_empty;

static void run_xdp_cases(void)
{
	static const struct xdp_case cases[] = {
		{ "xdp: IPv4 stream packet passes to TC and is counted",
		  { .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5000 }, XDP_PASS, NONE,
		  S(rx_packets) },
		{ "xdp: IPv6 stream packet passes and is counted",
		  { .family = AF_INET6, .src = "2001:2::1", .dst = "2001:2::2", .dport = 5000 },
		  XDP_PASS, NONE, S(rx_packets) },
		{ "xdp: 802.1Q-tagged stream packet passes and is counted",
		  { .vlan = true, .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5000 },
		  XDP_PASS, NONE, S(rx_packets) },
		{ "xdp: multicast-group stream packet passes and is counted",
		  { .src = "198.18.0.7", .dst = "239.255.0.1", .dport = 5002 }, XDP_PASS, NONE,
		  S(rx_packets) },
		{ "xdp: IPv4 with options is parsed and counted",
		  { .ip_opts = 8, .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5000 },
		  XDP_PASS, NONE, S(rx_packets) },
		{ "xdp: IPv6 with extension headers is parsed and counted",
		  { .family = AF_INET6, .ext_hdrs = 2, .src = "2001:2::1", .dst = "2001:2::2",
		    .dport = 5000 }, XDP_PASS, NONE, S(rx_packets) },
		{ "xdp: wrong source is dropped and counted",
		  { .src = "198.18.9.9", .dst = "198.18.0.2", .dport = 5000 }, XDP_DROP, NONE,
		  S(drop_bad_source) },
		{ "xdp: stream with no subscribers drops and counts",
		  { .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5003 }, XDP_DROP, NONE,
		  S(drop_no_subscribers) },
		{ "xdp: UDP length disagreeing with IP is dropped as malformed",
		  { .bad_udp_len = true, .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5000 },
		  XDP_DROP, NONE, S(drop_malformed) },
		{ "xdp: TTL 1 cannot be relayed: dropped and counted",
		  { .ttl = 1, .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5000 }, XDP_DROP,
		  NONE, S(drop_ttl) },
		{ "xdp: first IPv4 fragment of a stream is dropped and counted",
		  { .frag = 0x2000, .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5000 },
		  XDP_DROP, NONE, S(drop_fragment) },
		{ "xdp: non-first IPv4 fragment passes untouched, counted",
		  { .frag = 0x0010, .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5000 },
		  XDP_PASS, G(frag_passed), NONE },
		{ "xdp: non-first IPv6 fragment passes untouched, counted",
		  { .family = AF_INET6, .v6_frag = true, .frag = 0x0100, .src = "2001:2::1",
		    .dst = "2001:2::2", .dport = 5000 }, XDP_PASS, G(frag_passed), NONE },
		{ "xdp: non-UDP to the ingest address passes",
		  { .proto = 6, .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5000 },
		  XDP_PASS, G(passed), NONE },
		{ "xdp: UDP to another port passes",
		  { .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5999 }, XDP_PASS,
		  G(passed), NONE },
		{ "xdp: Ethernet header and nothing else passes, counted",
		  { .truncate = 14, .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5000 },
		  XDP_PASS, G(trunc_l3), NONE },
		{ "xdp: truncated VLAN tag passes, counted",
		  { .vlan = true, .truncate = 16, .src = "198.18.0.1", .dst = "198.18.0.2",
		    .dport = 5000 }, XDP_PASS, G(trunc_l2), NONE },
		{ "xdp: truncated IPv4 header passes, counted",
		  { .truncate = 14 + 12, .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5000 },
		  XDP_PASS, G(trunc_l3), NONE },
		{ "xdp: IPv4 shorter than its total length passes, counted",
		  { .truncate = 14 + 20 + 8 + 100, .src = "198.18.0.1", .dst = "198.18.0.2",
		    .dport = 5000 }, XDP_PASS, G(trunc_l3), NONE },
		{ "xdp: truncated IPv6 header passes, counted",
		  { .family = AF_INET6, .truncate = 14 + 30, .src = "2001:2::1", .dst = "2001:2::2",
		    .dport = 5000 }, XDP_PASS, G(trunc_l3), NONE },
		{ "xdp: IPv4 options cut short pass, counted",
		  { .ip_opts = 8, .truncate = 14 + 24, .src = "198.18.0.1", .dst = "198.18.0.2",
		    .dport = 5000 }, XDP_PASS, G(trunc_l3), NONE },
	};
	__u8 pkt[2048];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct xdp_case *c = &cases[i];
		__u32 sid = c->s.family == AF_INET6 ? sid_v6 :
			    c->s.dport == 5002 ? sid_mc : c->s.dport == 5003 ? sid_empty : sid_v4;
		__u64 g0 = 0, s0 = 0, g1, s1;
		size_t len = build(&c->s, pkt);
		bool ok;
		int v;

		if (c->global_off != NONE)
			g0 = sum_percpu(skel->maps.bpfc_global, 0, c->global_off);
		if (c->stream_off != NONE)
			s0 = sum_percpu(skel->maps.bpfc_strm_stats, sid, c->stream_off);
		v = run_prog(xdp_fd, pkt, len, NULL, NULL);
		ok = CHECK(v == c->verdict, "verdict %d, want %d", v, c->verdict);
		if (c->global_off != NONE) {
			g1 = sum_percpu(skel->maps.bpfc_global, 0, c->global_off);
			ok &= CHECK(g1 == g0 + 1, "global counter %llu -> %llu", g0, g1);
		}
		if (c->stream_off != NONE) {
			s1 = sum_percpu(skel->maps.bpfc_strm_stats, sid, c->stream_off);
			ok &= CHECK(s1 == s0 + 1, "stream counter %llu -> %llu", s0, s1);
		}
		report(c->name, ok);
	}
}

/* ---- TC cases ----------------------------------------------------------- */

static int capture(__u8 frames[][2048], int *lens, int max)
{
	int n = 0;
	ssize_t r;

	/* Only our copies: the kernel's own IPv6 neighbour discovery goes by too. */
	while (n < max && (r = recv(cap_fd, frames[n], 2048, MSG_DONTWAIT)) > 0)
		if (r > 14 && !memcmp(frames[n] + 6, out_mac, 6) &&
		    ((frames[n][12] == 0x08 && frames[n][23] == IPPROTO_UDP) ||
		     (frames[n][12] == 0x86 && frames[n][20] == IPPROTO_UDP)))
			lens[n++] = r;
	return n;
}

static void drain_capture(void)
{
	__u8 buf[2048];

	usleep(20000);
	while (recv(cap_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

struct want {
	int family;
	const char *src, *dst;
	__u16 dport;
	__u8 ttl;
	int payload;
};

/* One copy as a receiver would judge it. */
static bool check_copy(const __u8 *f, int len, const struct want *w)
{
	int fam = w->family, l3 = 14, alen = fam == AF_INET ? 4 : 16;
	__u8 src[16], dst[16], expect[2048];
	const __u8 *saddr, *daddr;
	const struct udphdr *uh;
	__u16 ulen;
	bool ok = true;

	inet_pton(fam, w->src, src);
	inet_pton(fam, w->dst, dst);
	ok &= CHECK(!memcmp(f, SUB_MAC, 6), "destination MAC is not the neighbour's");
	ok &= CHECK(!memcmp(f + 6, out_mac, 6), "source MAC is not the egress interface's");
	ok &= CHECK(f[12] == (fam == AF_INET ? 0x08 : 0x86), "ethertype %02x%02x", f[12], f[13]);
	if (!ok)
		return false;
	if (fam == AF_INET) {
		const struct iphdr *ih = (const void *)(f + l3);

		ok &= CHECK(ih->ihl == 5, "IHL %d: options must be stripped", ih->ihl);
		ok &= CHECK(csum_fold(csum_add(0, ih, 20)) == 0, "bad IPv4 header checksum");
		ok &= CHECK(ih->ttl == w->ttl, "TTL %d, want %d", ih->ttl, w->ttl);
		ok &= CHECK(ih->tos == 0xB8, "TOS %#x not kept", ih->tos);
		ok &= CHECK(ntohs(ih->tot_len) == len - 14, "total length %d of %d", ntohs(ih->tot_len),
			    len - 14);
		saddr = (const __u8 *)&ih->saddr;
		daddr = (const __u8 *)&ih->daddr;
		uh = (const void *)(f + l3 + 20);
	} else {
		const struct ipv6hdr *ih = (const void *)(f + l3);

		ok &= CHECK(ih->nexthdr == IPPROTO_UDP, "next header %d", ih->nexthdr);
		ok &= CHECK(ih->hop_limit == w->ttl, "hop limit %d, want %d", ih->hop_limit, w->ttl);
		ok &= CHECK(ntohs(ih->payload_len) == len - 54, "payload length");
		saddr = (const __u8 *)&ih->saddr;
		daddr = (const __u8 *)&ih->daddr;
		uh = (const void *)(f + l3 + 40);
	}
	ok &= CHECK(!memcmp(saddr, src, alen), "source address is not the egress interface's");
	ok &= CHECK(!memcmp(daddr, dst, alen), "destination address is not the subscriber's");
	ok &= CHECK(ntohs(uh->source) == 5555, "source port %d, want the egress port",
		    ntohs(uh->source));
	ok &= CHECK(ntohs(uh->dest) == w->dport, "destination port %d, want %d", ntohs(uh->dest),
		    w->dport);
	ulen = ntohs(uh->len);
	ok &= CHECK(ulen == 8 + w->payload, "UDP length %d", ulen);
	ok &= CHECK(uh->check != 0, "UDP checksum missing");
	ok &= CHECK(udp_csum(fam, saddr, daddr, uh, ulen) == 0, "bad UDP checksum");
	payload_bytes(expect, w->payload);
	ok &= CHECK(!memcmp((const __u8 *)uh + 8, expect, w->payload), "payload modified");
	return ok;
}

struct tc_case {
	const char *name;
	struct spec s;
	__u32 *sid;
	int n_subs;
	const char *subs[4];
	struct want want[4];
};

static void run_tc_cases(void)
{
	static const struct tc_case cases[] = {
		{ "tc: IPv4 stream to IPv4, IPv6 and IPv4 subscribers, every copy valid",
		  { .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5000 }, &sid_v4, 3,
		  { "198.18.4.10:6000", "[2001:2:4::10]:6001", "198.18.4.11:6002" },
		  { { AF_INET, "198.18.4.1", "198.18.4.10", 6000, 63, 1316 },
		    { AF_INET6, "2001:2:4::1", "2001:2:4::10", 6001, 63, 1316 },
		    { AF_INET, "198.18.4.1", "198.18.4.11", 6002, 63, 1316 } } },
		{ "tc: IPv6 stream with extension headers to IPv6 and IPv4 subscribers",
		  { .family = AF_INET6, .ext_hdrs = 2, .src = "2001:2::1", .dst = "2001:2::2",
		    .dport = 5000, .ttl = 9, .payload = 200 }, &sid_v6, 2,
		  { "[2001:2:4::10]:7000", "198.18.4.10:7001" },
		  { { AF_INET6, "2001:2:4::1", "2001:2:4::10", 7000, 8, 200 },
		    { AF_INET, "198.18.4.1", "198.18.4.10", 7001, 8, 200 } } },
		{ "tc: VLAN-tagged ingest leaves untagged",
		  { .vlan = true, .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5000 },
		  &sid_v4, 3, { "198.18.4.10:6000", "[2001:2:4::10]:6001", "198.18.4.11:6002" },
		  { { AF_INET, "198.18.4.1", "198.18.4.10", 6000, 63, 1316 },
		    { AF_INET6, "2001:2:4::1", "2001:2:4::10", 6001, 63, 1316 },
		    { AF_INET, "198.18.4.1", "198.18.4.11", 6002, 63, 1316 } } },
		{ "tc: IPv4 options are stripped from the copies",
		  { .ip_opts = 12, .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5000 },
		  &sid_v4, 3, { "198.18.4.10:6000", "[2001:2:4::10]:6001", "198.18.4.11:6002" },
		  { { AF_INET, "198.18.4.1", "198.18.4.10", 6000, 63, 1316 },
		    { AF_INET6, "2001:2:4::1", "2001:2:4::10", 6001, 63, 1316 },
		    { AF_INET, "198.18.4.1", "198.18.4.11", 6002, 63, 1316 } } },
		{ "tc: IPv4 checksum 0 (none) gets a real checksum, odd length",
		  { .no_csum = true, .payload = 1317, .src = "198.18.0.1", .dst = "198.18.0.2",
		    .dport = 5000 }, &sid_v4, 3,
		  { "198.18.4.10:6000", "[2001:2:4::10]:6001", "198.18.4.11:6002" },
		  { { AF_INET, "198.18.4.1", "198.18.4.10", 6000, 63, 1317 },
		    { AF_INET6, "2001:2:4::1", "2001:2:4::10", 6001, 63, 1317 },
		    { AF_INET, "198.18.4.1", "198.18.4.11", 6002, 63, 1317 } } },
		{ "tc: multicast-group stream fans out",
		  { .src = "198.18.0.7", .dst = "239.255.0.1", .dport = 5002, .payload = 188 },
		  &sid_mc, 1, { "198.18.4.12:6100" },
		  { { AF_INET, "198.18.4.1", "198.18.4.12", 6100, 63, 188 } } },
	};
	static __u8 frames[8][2048];
	__u8 pkt[4096], out[16384];
	int lens[8];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tc_case *c = &cases[i];
		__u64 tx0 = STREAM_STAT(*c->sid, tx_packets), tx1;
		__u32 out_len, first_sub = next_sub_id;
		size_t len = build(&c->s, pkt);
		bool ok = true;
		int v, n, k;

		set_subs(*c->sid, c->subs, c->n_subs);
		drain_capture();
		v = run_prog(tc_fd, pkt, len, out, &out_len);
		ok &= CHECK(v == TC_ACT_REDIRECT, "verdict %d, want TC_ACT_REDIRECT", v);
		usleep(20000);
		n = capture(frames, lens, 8);
		/* Clones went out on the wire; the last copy is the program's output. */
		ok &= CHECK(n == c->n_subs - 1, "%d copies captured, want %d", n, c->n_subs - 1);
		for (k = 0; k < n && k < c->n_subs - 1; k++)
			ok &= check_copy(frames[k], lens[k], &c->want[k]);
		if (v == TC_ACT_REDIRECT)
			ok &= check_copy(out, out_len, &c->want[c->n_subs - 1]);
		tx1 = STREAM_STAT(*c->sid, tx_packets);
		ok &= CHECK(tx1 == tx0 + c->n_subs, "stream tx %llu -> %llu", tx0, tx1);
		for (k = 0; k < c->n_subs; k++)
			ok &= CHECK(SUB_STAT(first_sub + k, packets) == 1, "subscriber %d not counted",
				    k);
		report(c->name, ok);
	}
}

static void run_tc_negative_cases(void)
{
	static const struct {
		const char *name;
		struct spec s;
		int verdict;
	} cases[] = {
		{ "tc: non-stream packet is left alone (TC_ACT_OK)",
		  { .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5999 }, TC_ACT_OK },
		{ "tc: wrong source is never copied",
		  { .src = "198.18.9.9", .dst = "198.18.0.2", .dport = 5000 }, TC_ACT_SHOT },
		{ "tc: stream without subscribers is never copied",
		  { .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5003 }, TC_ACT_SHOT },
		{ "tc: malformed stream packet is never copied",
		  { .bad_udp_len = true, .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5000 },
		  TC_ACT_SHOT },
		{ "tc: truncated packet is left to the stack",
		  { .truncate = 14 + 20 + 4, .src = "198.18.0.1", .dst = "198.18.0.2",
		    .dport = 5000 }, TC_ACT_OK },
	};
	static __u8 frames[4][2048];
	__u8 pkt[4096];
	int lens[4];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = build(&cases[i].s, pkt);
		int v, n;
		bool ok;

		drain_capture();
		v = run_prog(tc_fd, pkt, len, NULL, NULL);
		usleep(20000);
		n = capture(frames, lens, 4);
		ok = CHECK(v == cases[i].verdict, "verdict %d, want %d", v, cases[i].verdict);
		ok &= CHECK(n == 0, "%d copies went out", n);
		report(cases[i].name, ok);
	}
}

/* A subscriber without a route is counted per subscriber; the others still get theirs. */
static void run_tc_error_case(void)
{
	const char *subs[] = { "198.18.200.1:6000", "198.18.4.10:6001" };
	__u8 pkt[4096], out[16384];
	struct spec s = { .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5000 };
	struct want w = { AF_INET, "198.18.4.1", "198.18.4.10", 6001, 63, 1316 };
	__u32 first = next_sub_id, out_len;
	size_t len = build(&s, pkt);
	bool ok;
	int v;

	set_subs(sid_v4, subs, 2);
	v = run_prog(tc_fd, pkt, len, out, &out_len);
	ok = CHECK(v == TC_ACT_REDIRECT, "verdict %d", v);
	ok &= CHECK(SUB_STAT(first, err_no_route) == 1, "unroutable subscriber not counted");
	ok &= CHECK(SUB_STAT(first + 1, packets) == 1, "routable subscriber missed its copy");
	ok &= v == TC_ACT_REDIRECT && check_copy(out, out_len, &w);
	report("tc: an unroutable subscriber is counted and skipped; the rest are served", ok);
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * Consent in the data plane: a device never JOINed (pending) or silent past
 * its deadline gets nothing, counted; one with fresh consent gets its copy.
 */
static void run_tc_consent_case(void)
{
	const char *pending[] = { "198.18.4.10:6001" }, *expired[] = { "198.18.4.10:6002" };
	const char *fresh[] = { "198.18.4.10:6003" };
	__u8 pkt[4096], out[16384];
	struct spec s = { .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5000 };
	struct want w = { AF_INET, "198.18.4.1", "198.18.4.10", 6003, 63, 1316 };
	__u32 id = next_sub_id, out_len;
	size_t len = build(&s, pkt);
	bool ok;
	int v;

	next_consent = (struct bpfc_consent){ 0 };
	set_subs(sid_v4, pending, 1);
	v = run_prog(tc_fd, pkt, len, out, &out_len);
	ok = CHECK(v == TC_ACT_SHOT && SUB_STAT(id, packets) == 0 && SUB_STAT(id, no_consent) == 1,
		   "pending subscriber: verdict %d", v);
	next_consent.expires_ns = mono_ns() - 1;
	set_subs(sid_v4, expired, 1);
	v = run_prog(tc_fd, pkt, len, out, &out_len);
	ok &= CHECK(v == TC_ACT_SHOT && SUB_STAT(id + 1, packets) == 0 &&
		    SUB_STAT(id + 1, no_consent) == 1, "expired subscriber: verdict %d", v);
	next_consent.expires_ns = mono_ns() + 60ULL * 1000000000;
	set_subs(sid_v4, fresh, 1);
	v = run_prog(tc_fd, pkt, len, out, &out_len);
	ok &= CHECK(v == TC_ACT_REDIRECT && SUB_STAT(id + 2, packets) == 1,
		    "fresh subscriber: verdict %d", v);
	ok &= v == TC_ACT_REDIRECT && check_copy(out, out_len, &w);
	next_consent = (struct bpfc_consent){ .flags = BPFC_CONSENT_F_STATIC };
	report("tc: only subscribers with fresh consent get copies; the rest are counted", ok);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The destination MAC of the one copy a single-subscriber stream makes. */
static bool copy_dmac(const struct spec *s, __u8 mac[6])
{
	__u8 pkt[4096], out[16384];
	__u32 out_len = 0;
	int v = run_prog(tc_fd, pkt, build(s, pkt), out, &out_len);

	if (v != TC_ACT_REDIRECT || out_len < 14)
		return false;
	memcpy(mac, out, 6);
	return true;
}

static void set_route_cache(__u32 cache_us, __u32 gen)
{
	struct bpfc_settings st = { .route_cache_us = cache_us, .route_gen = gen };
	__u32 zero = 0;

	bpf_map__update_elem(skel->maps.bpfc_settings, &zero, 4, &st, sizeof(st), 0);
}

/*
 * Copies reuse a subscriber's route answer until the agent bumps route_gen
 * (it does on every rtnetlink change) or the answer ages out; with the cache
 * off, every copy looks up.
 */
static void run_tc_route_cache_case(void)
{
	static const __u8 old_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const __u8 new_mac[6] = { 0x02, 0, 0, 0, 0, 0x03 };
	const char *sub[] = { "198.18.4.10:6000" };
	struct spec s = { .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5000 };
	__u8 mac[6];
	bool ok = true;

	set_subs(sid_v4, sub, 1);
	set_route_cache(1000000, 1);
	ok &= CHECK(copy_dmac(&s, mac) && !memcmp(mac, old_mac, 6), "first copy: wrong MAC");
	sh("ip neigh replace 198.18.4.10 lladdr 02:00:00:00:00:03 dev " VETH_OUT);
	ok &= CHECK(copy_dmac(&s, mac) && !memcmp(mac, old_mac, 6),
		    "same generation: the cached answer was not used");
	set_route_cache(1000000, 2);
	ok &= CHECK(copy_dmac(&s, mac) && !memcmp(mac, new_mac, 6),
		    "new generation: the stale answer was used");
	sh("ip neigh replace 198.18.4.10 lladdr 02:00:00:00:00:02 dev " VETH_OUT);
	set_route_cache(1000, 2);	/* 1 ms */
	usleep(5000);
	ok &= CHECK(copy_dmac(&s, mac) && !memcmp(mac, old_mac, 6),
		    "an expired answer was used");
	sh("ip neigh replace 198.18.4.10 lladdr 02:00:00:00:00:03 dev " VETH_OUT);
	set_route_cache(0, 2);
	ok &= CHECK(copy_dmac(&s, mac) && !memcmp(mac, new_mac, 6),
		    "cache off: an answer was reused");
	sh("ip neigh replace 198.18.4.10 lladdr 02:00:00:00:00:02 dev " VETH_OUT);
	ok &= CHECK(copy_dmac(&s, mac) && !memcmp(mac, old_mac, 6), "cache off: stale MAC");
	set_route_cache(0, 0);
	report("tc: a cached route serves copies until its generation changes or it expires", ok);
}

/*
 * A route entry is used only while its sequence is even (no writer in it):
 * an entry caught mid-update, here a forged one, never reaches a copy.
 */
static void run_tc_route_seq_case(void)
{
	static const __u8 good_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const __u8 forged_mac[6] = { 0x02, 0, 0, 0, 0, 0xee };
	const char *sub[] = { "198.18.4.10:6000" };
	struct spec s = { .src = "198.18.0.1", .dst = "198.18.0.2", .dport = 5000 };
	struct bpfc_route rt;
	__u32 id;
	__u8 mac[6];
	bool ok = true;

	set_subs(sid_v4, sub, 1);
	id = next_sub_id - 1;
	set_route_cache(1000000, 1);
	ok &= CHECK(copy_dmac(&s, mac) && !memcmp(mac, good_mac, 6), "first copy: wrong MAC");
	ok &= CHECK(!bpf_map__lookup_elem(skel->maps.bpfc_routes, &id, 4, &rt, sizeof(rt), 0) &&
		    rt.filled_ns && !(rt.seq & 1), "the answer was not cached");
	memcpy(rt.dmac, forged_mac, 6);
	rt.seq++;	/* odd: a writer is in it */
	bpf_map__update_elem(skel->maps.bpfc_routes, &id, 4, &rt, sizeof(rt), 0);
	ok &= CHECK(copy_dmac(&s, mac) && !memcmp(mac, good_mac, 6),
		    "an entry under update was used");
	rt.seq++;	/* even again: now it is whole, and used */
	bpf_map__update_elem(skel->maps.bpfc_routes, &id, 4, &rt, sizeof(rt), 0);
	ok &= CHECK(copy_dmac(&s, mac) && !memcmp(mac, forged_mac, 6),
		    "a whole entry was not used (the test proves nothing)");
	set_route_cache(0, 0);
	report("tc: a route entry under update is never used", ok);
}

/* JOINs over a source's budget are dropped in XDP and counted; other sources pass. */
static void run_xdp_join_budget_case(void)
{
	struct bpfc_settings st = { .join_port = htons(5400), .join_rate = 3 };
	struct spec a = { .src = "198.18.7.1", .dst = "198.18.0.2", .dport = 5400, .payload = 64 };
	struct spec b = { .src = "198.18.7.2", .dst = "198.18.0.2", .dport = 5400, .payload = 64 };
	__u64 before = sum_percpu(skel->maps.bpfc_global, 0, G(join_rate_limited));
	__u8 pkt[4096], out[4096];
	__u32 zero = 0, out_len;
	int i, passed_a = 0, v;
	bool ok;

	bpf_map__update_elem(skel->maps.bpfc_settings, &zero, 4, &st, sizeof(st), 0);
	for (i = 0; i < 5; i++)
		passed_a += run_prog(xdp_fd, pkt, build(&a, pkt), out, &out_len) == XDP_PASS;
	v = run_prog(xdp_fd, pkt, build(&b, pkt), out, &out_len);
	ok = CHECK(passed_a == 3, "%d of 5 JOINs from one source passed, want 3", passed_a);
	ok &= CHECK(v == XDP_PASS, "another source was dropped");
	ok &= CHECK(sum_percpu(skel->maps.bpfc_global, 0, G(join_rate_limited)) - before == 2,
		    "drops not counted");
	st.join_port = 0;
	bpf_map__update_elem(skel->maps.bpfc_settings, &zero, 4, &st, sizeof(st), 0);
	report("xdp: JOINs over a source's budget are dropped and counted", ok);
}

/* Verifier complexity, which make vmtest tabulates per kernel. */
static void print_verifier_stats(void)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (!bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
			printf("verifier: %s %u insns processed\n", bpf_program__name(prog),
			       info.verified_insns);
	}
}

/* ---- setup -------------------------------------------------------------- */

static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int setup_netns(void)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct ifreq ifr = {};
	struct bpfc_ifaddr ifa = {};
	__u32 ifindex;
	int fd;

	if (unshare(CLONE_NEWNET)) {
		perror("unshare(CLONE_NEWNET)");
		return -1;
	}
	if (sh("ip link set lo up && ip link add " VETH_OUT " type veth peer name " VETH_CAP
	       " && ip link set " VETH_OUT " up && ip link set " VETH_CAP " up"
	       " && ip addr add 198.18.4.1/24 dev " VETH_OUT
	       " && ip addr add 2001:2:4::1/64 dev " VETH_OUT " nodad"
	       " && ip neigh add 198.18.4.10 lladdr 02:00:00:00:00:02 dev " VETH_OUT
	       " && ip neigh add 198.18.4.11 lladdr 02:00:00:00:00:02 dev " VETH_OUT
	       " && ip neigh add 198.18.4.12 lladdr 02:00:00:00:00:02 dev " VETH_OUT
	       " && ip neigh add 2001:2:4::10 lladdr 02:00:00:00:00:02 dev " VETH_OUT
	       " && sysctl -qw net.ipv4.conf.lo.forwarding=1 net.ipv6.conf.lo.forwarding=1"))
		return -1;
	ifindex = if_nametoindex(VETH_OUT);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	strcpy(ifr.ifr_name, VETH_OUT);
	ioctl(fd, SIOCGIFHWADDR, &ifr);
	memcpy(out_mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	inet_pton(AF_INET, "198.18.4.1", &ifa.v4);
	inet_pton(AF_INET6, "2001:2:4::1", ifa.v6);
	bpf_map__update_elem(skel->maps.bpfc_ifaddrs, &ifindex, 4, &ifa, sizeof(ifa), 0);

	cap_fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	sll.sll_ifindex = if_nametoindex(VETH_CAP);
	if (cap_fd < 0 || bind(cap_fd, (struct sockaddr *)&sll, sizeof(sll))) {
		perror("capture socket");
		return -1;
	}
	return 0;
}

int main(void)
{
	struct bpf_map *map;

	if (geteuid() != 0) {
		printf("SKIP: BPF program tests need root\n");
		return 77;
	}
	skel = bpfcast__open();
	if (!skel) {
		perror("bpfcast__open");
		return 1;
	}
	bpf_object__for_each_map(map, skel->obj)
		bpf_map__set_pin_path(map, NULL);	/* private maps, nothing pinned */
	nr_cpus = libbpf_num_possible_cpus();
	skel->rodata->nr_cpus = nr_cpus;
	if (bpfcast__load(skel)) {
		fprintf(stderr, "cannot load the BPF object: %s\n", strerror(errno));
		return 1;
	}
	xdp_fd = bpf_program__fd(skel->progs.bpfcast_xdp_ingest);
	tc_fd = bpf_program__fd(skel->progs.bpfcast_tc_fanout);
	if (setup_netns())
		return 1;

	sid_v4 = add_stream("v4", "198.18.0.2:5000", "198.18.0.0/24");
	sid_v6 = add_stream("v6", "[2001:2::2]:5000", NULL);
	sid_mc = add_stream("mc", "239.255.0.1:5002", NULL);
	sid_empty = add_stream("empty", "198.18.0.2:5003", NULL);
	{
		const char *one4[] = { "198.18.4.10:6000" }, *one6[] = { "[2001:2:4::10]:6000" };

		set_subs(sid_v4, one4, 1);
		set_subs(sid_v6, one6, 1);
		set_subs(sid_mc, one4, 1);
	}

	print_verifier_stats();
	run_xdp_cases();
	run_tc_cases();
	run_tc_negative_cases();
	run_tc_error_case();
	run_tc_consent_case();
	run_tc_route_cache_case();
	run_tc_route_seq_case();
	run_xdp_join_budget_case();

	printf("%d passed, %d failed\n", passed, failed);
	bpfcast__destroy(skel);
	return failed ? 1 : 0;
}
