// SPDX-License-Identifier: GPL-2.0
/* bpfcast-agent: loads, pins and runs the relay data plane on this host. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <sys/signalfd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <systemd/sd-daemon.h>
#include "agent.h"
#include "http.h"
#include "log.h"
#include "tls.h"

static const char usage[] =
	"Usage: bpfcast-agent -i IFACE [-i IFACE ...] [options]\n"
	"       bpfcast-agent --detach [--pin-dir DIR]\n"
	"\n"
	"Loads the bpfcast data plane, attaches it to the interfaces, pins it, and\n"
	"serves the control socket. Forwarding goes on when the agent stops; a new\n"
	"agent adopts the pinned state.\n"
	"\n"
	"Options:\n"
	"  -i, --interface IFACE   ingest interface (repeatable)\n"
	"  -c, --config FILE       config file: interfaces, streams, subscribers, and any\n"
	"                          long option below as a setting (NAME VALUE)\n"
	"      --pin-dir DIR       bpffs directory for maps and programs\n"
	"                          (default " AGENT_DEFAULT_PIN_DIR ")\n"
	"      --socket PATH       control socket (default " AGENT_DEFAULT_SOCKET ")\n"
	"      --sample-ms N       counter sample interval, 10-60000 ms (default 100)\n"
	"      --xdp-generic       use generic XDP even where the driver has native XDP\n"
	"      --fanout PATH       how copies are made: tc (bpf_clone_redirect, any egress)\n"
	"                          or xdp (XDP broadcast where a stream is eligible, else\n"
	"                          tc; default tc)\n"
	"      --xdp-min-subs N    streams with fewer subscribers stay on tc (default 16)\n"
	"      --shed-us N         after an egress queue drops a copy, shed whole input\n"
	"                          packets for N microseconds (default 200; 0: never)\n"
	"      --route-cache-ms N  copies reuse a subscriber's route lookup this long, or\n"
	"                          until a route, neighbour or address changes\n"
	"                          (default 100; 0: look up every copy)\n"
	"      --detach            remove everything attached and pinned, then exit\n"
	"      --check             check the options and the config file, then exit\n"
	"      --manager ADDR:PORT connect to bpfcast-manager and follow it\n"
	"      --id RELAY_ID       this relay's id at the manager (with --manager)\n"
	"      --ca FILE           the fleet's CA, which issued the manager's certificate\n"
	"      --cert FILE         this relay's certificate (OU=agent, CN=RELAY_ID)\n"
	"      --key FILE          its key (mode 0600)\n"
	"      --insecure          plain TCP to the manager instead of TLS\n"
	"      --http ADDR:PORT    serve Prometheus metrics at /metrics\n"
	"      --max-subscribers N capacity reported to the manager (default 131072)\n"
	"      --max-mbps N        egress capacity reported to the manager (default 10000)\n"
	"      --deny PREFIX       refuse subscribers in PREFIX, on top of the defaults\n"
	"                          (repeatable)\n"
	"      --data-addr ADDR    address peers send streams to (repeatable, one per\n"
	"                          family; default: the first interface's)\n"
	"      --join-port PORT    UDP port devices JOIN on (default 5400; 0: off)\n"
	"      --join-key FILE     token key (mode 0600): devices with a token from it may\n"
	"                          join; without it only operator-authorised ones may\n"
	"      --join-rate N       JOIN packets/s per source address, dropped in XDP\n"
	"                          above it (default 20)\n"
	"      --consent-ttl SECS  a device's consent lasts this long past its last\n"
	"                          keepalive (default 30)\n"
	"  -v, --verbose           more messages (twice: libbpf's too)\n"
	"  -h, --help              this text\n";

enum {
	OPT_PIN_DIR = 256, OPT_SOCKET, OPT_SAMPLE_MS, OPT_XDP_GENERIC, OPT_DETACH, OPT_MANAGER,
	OPT_ID, OPT_MAX_SUBS, OPT_MAX_MBPS, OPT_DATA_ADDR, OPT_DENY, OPT_JOIN_PORT, OPT_JOIN_KEY,
	OPT_JOIN_RATE, OPT_CONSENT_TTL, OPT_CA, OPT_CERT, OPT_KEY, OPT_INSECURE, OPT_HTTP,
	OPT_CHECK, OPT_FANOUT, OPT_XDP_MIN_SUBS, OPT_SHED_US, OPT_ROUTE_CACHE_MS,
	OPT_MAX,
};

static const struct option options[] = {
	{ "interface", required_argument, NULL, 'i' },
	{ "config", required_argument, NULL, 'c' },
	{ "pin-dir", required_argument, NULL, OPT_PIN_DIR },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "sample-ms", required_argument, NULL, OPT_SAMPLE_MS },
	{ "xdp-generic", no_argument, NULL, OPT_XDP_GENERIC },
	{ "fanout", required_argument, NULL, OPT_FANOUT },
	{ "xdp-min-subs", required_argument, NULL, OPT_XDP_MIN_SUBS },
	{ "shed-us", required_argument, NULL, OPT_SHED_US },
	{ "route-cache-ms", required_argument, NULL, OPT_ROUTE_CACHE_MS },
	{ "detach", no_argument, NULL, OPT_DETACH },
	{ "manager", required_argument, NULL, OPT_MANAGER },
	{ "id", required_argument, NULL, OPT_ID },
	{ "max-subscribers", required_argument, NULL, OPT_MAX_SUBS },
	{ "max-mbps", required_argument, NULL, OPT_MAX_MBPS },
	{ "data-addr", required_argument, NULL, OPT_DATA_ADDR },
	{ "deny", required_argument, NULL, OPT_DENY },
	{ "join-port", required_argument, NULL, OPT_JOIN_PORT },
	{ "join-key", required_argument, NULL, OPT_JOIN_KEY },
	{ "join-rate", required_argument, NULL, OPT_JOIN_RATE },
	{ "consent-ttl", required_argument, NULL, OPT_CONSENT_TTL },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "http", required_argument, NULL, OPT_HTTP },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{}
};

static int add_iface(struct agent *a, const char *name)
{
	int i;

	for (i = 0; i < a->n_ifaces; i++)
		if (!strcmp(a->ifaces[i].name, name))
			return 0;
	if (a->n_ifaces == BPFC_MAX_IFACES) {
		pr_warn("more than %d interfaces\n", BPFC_MAX_IFACES);
		return -E2BIG;
	}
	if (strlen(name) >= IF_NAMESIZE || !(a->ifaces[a->n_ifaces].ifindex = if_nametoindex(name))) {
		pr_warn("unknown interface '%s': check the name with 'ip link'\n", name);
		return -ENODEV;
	}
	strcpy(a->ifaces[a->n_ifaces++].name, name);
	return 0;
}

/* CAP_NET_ADMIN, and CAP_BPF (or CAP_SYS_ADMIN before 5.8), in the effective set. */
static bool have_privileges(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	bool net_admin, bpf;

	if (syscall(SYS_capget, &hdr, data))
		return geteuid() == 0;
#define HAS(cap) (!!(data[(cap) / 32].effective & (1U << ((cap) % 32))))
	net_admin = HAS(CAP_NET_ADMIN);
	bpf = HAS(CAP_BPF) || HAS(CAP_SYS_ADMIN);
#undef HAS
	return net_admin && bpf;
}

static int epoll_add(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int signals_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

static int run(struct agent *a)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), sig = signals_fd();
	struct epoll_event evs[16];
	__u64 last_sweep = 0;
	int n, i;

	if (ep < 0 || sig < 0 || epoll_add(ep, sig) || epoll_add(ep, a->ctl_fd) ||
	    epoll_add(ep, events_fd(a)) || epoll_add(ep, rtnl_events_fd(a)) || mgr_init(a, ep) ||
	    (a->join_fd >= 0 && epoll_add(ep, a->join_fd)) ||
	    (a->http && epoll_add(ep, bpfc_http_fd(a->http)))) {
		pr_warn("cannot set up the event loop: %s\n", strerror(errno));
		return -errno;
	}
	for (;;) {
		n = epoll_wait(ep, evs, 16, 250);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == sig) {
				sd_notify(0, "STOPPING=1");
				pr_info("stopping; the data plane keeps forwarding\n");
				close(ep);
				return 0;
			} else if (fd == a->ctl_fd) {
				int cfd;

				ctl_accept(a);
				/* New clients join the loop; closed ones leave it by themselves. */
				for (cfd = 0; cfd < 1024; cfd++)
					if (ctl_is_client(cfd))
						epoll_add(ep, cfd);
			} else if (fd == events_fd(a)) {
				events_poll(a);
			} else if (fd == rtnl_events_fd(a)) {
				rtnl_events_handle(a);
			} else if (fd == a->join_fd) {
				join_input(a);
			} else if (a->http && fd == bpfc_http_fd(a->http)) {
				bpfc_http_run(a->http);
			} else if (mgr_is_fd(a, fd)) {
				mgr_io(a, evs[i].events);
			} else {
				ctl_client_io(a, fd);
			}
		}
		events_poll(a);
		if (mono_ns() - last_sweep >= 200000000ULL) {
			join_sweep(a);
			xdpfan_tick(a);
			bpfc_http_run(a->http);	/* its timeouts */
			last_sweep = mono_ns();
		}
		mgr_tick(a);
	}
}

/* Without --data-addr: the first interface's own addresses. */
static void default_data_addrs(struct agent *a)
{
	struct bpfc_ifaddr ifa;
	__u32 key = a->ifaces[0].ifindex;

	if (bpf_map_lookup_elem(a->fd_ifaddrs, &key, &ifa))
		return;
	if (!a->has_data4 && ifa.v4) {
		a->data4.v4 = ifa.v4;
		a->has_data4 = true;
	}
	if (!a->has_data6 && (ifa.v6[0] || ifa.v6[1] || ifa.v6[2] || ifa.v6[3])) {
		memcpy(a->data6.v6, ifa.v6, 16);
		a->has_data6 = true;
	}
}

/* What options set besides struct agent, and which options the command line gave. */
struct opts {
	bool detach, sample_set, check;
	int verbose;
	struct bpfc_denylist deny;
	struct bpfc_tls_files tls;
	bool given[OPT_MAX];
};

/* One option, from the command line or a config setting. 0, or 1 after saying why not. */
static int apply_option(struct agent *a, struct opts *o, int opt, const char *arg)
{
	union bpfc_addr addr;
	struct bpfc_endpoint ep;
	__u8 fam;
	__u32 v;

	switch (opt) {
	case 'i':
		return add_iface(a, arg) ? 1 : 0;
	case 'c':
		a->config_path = arg;
		return 0;
	case OPT_PIN_DIR:
		a->pin_dir = arg;
		return 0;
	case OPT_SOCKET:
		a->sock_path = arg;
		return 0;
	case OPT_SAMPLE_MS:
		if (bpfc_parse_u32(arg, 10, 60000, &v)) {
			pr_warn("--sample-ms '%s': want a number of ms from 10 to 60000\n", arg);
			return 1;
		}
		a->sample_ms = v;
		o->sample_set = true;
		return 0;
	case OPT_XDP_GENERIC:
		a->force_generic = true;
		return 0;
	case OPT_DETACH:
		o->detach = true;
		return 0;
	case OPT_CHECK:
		o->check = true;
		return 0;
	case OPT_MANAGER:
		if (bpfc_parse_endpoint(arg, &ep)) {
			pr_warn("--manager '%s': want ADDR:PORT or [IPV6]:PORT\n", arg);
			return 1;
		}
		a->manager = arg;
		return 0;
	case OPT_ID:
		if (bpfc_stream_name_invalid(arg)) {
			pr_warn("--id '%s': 1-31 letters, digits, '-', '_' or '.'\n", arg);
			return 1;
		}
		a->relay_id = arg;
		return 0;
	case OPT_MAX_SUBS:
	case OPT_MAX_MBPS:
		if (bpfc_parse_u32(arg, 1, opt == OPT_MAX_SUBS ? BPFC_MAX_SUBS : 10000000, &v)) {
			pr_warn("--%s '%s': want a positive number\n",
				opt == OPT_MAX_SUBS ? "max-subscribers" : "max-mbps", arg);
			return 1;
		}
		*(opt == OPT_MAX_SUBS ? &a->max_subs : &a->max_mbps) = v;
		return 0;
	case OPT_DENY:
		if (bpfc_denylist_add(&o->deny, arg, "--deny")) {
			pr_warn("--deny '%s': want ADDR or ADDR/PLEN\n", arg);
			return 1;
		}
		return 0;
	case OPT_DATA_ADDR:
		if (bpfc_parse_addr(arg, &fam, &addr)) {
			pr_warn("--data-addr '%s' is not an IPv4 or IPv6 address\n", arg);
			return 1;
		}
		if (fam == BPFC_AF_INET) {
			a->data4 = addr;
			a->has_data4 = true;
		} else {
			a->data6 = addr;
			a->has_data6 = true;
		}
		return 0;
	case OPT_JOIN_PORT:
		if (bpfc_parse_u32(arg, 0, 65535, &v)) {
			pr_warn("--join-port '%s': want a UDP port, or 0 for none\n", arg);
			return 1;
		}
		a->join_port = v;
		return 0;
	case OPT_JOIN_KEY:
		a->join_key_path = arg;
		return 0;
	case OPT_JOIN_RATE:
		if (bpfc_parse_u32(arg, 1, 1000000, &v)) {
			pr_warn("--join-rate '%s': want packets per second, 1 to 1000000\n", arg);
			return 1;
		}
		a->join_rate = v;
		return 0;
	case OPT_FANOUT:
		if (!strcmp(arg, "tc") || !strcmp(arg, "xdp")) {
			a->fanout = !strcmp(arg, "xdp") ? FANOUT_XDP : FANOUT_TC;
			return 0;
		}
		pr_warn("--fanout '%s': want tc or xdp\n", arg);
		return 1;
	case OPT_XDP_MIN_SUBS:
		if (bpfc_parse_u32(arg, 1, BPFC_MAX_SUBS, &v)) {
			pr_warn("--xdp-min-subs '%s': want 1 to %u\n", arg, BPFC_MAX_SUBS);
			return 1;
		}
		a->xdp_min_subs = v;
		return 0;
	case OPT_SHED_US:
		if (bpfc_parse_u32(arg, 0, 1000000, &v)) {
			pr_warn("--shed-us '%s': want microseconds, 0 to 1000000\n", arg);
			return 1;
		}
		a->shed_us = v;
		return 0;
	case OPT_ROUTE_CACHE_MS:
		if (bpfc_parse_u32(arg, 0, 10000, &v)) {
			pr_warn("--route-cache-ms '%s': want milliseconds, 0 to 10000\n", arg);
			return 1;
		}
		a->route_cache_ms = v;
		return 0;
	case OPT_CONSENT_TTL:
		if (bpfc_parse_u32(arg, 1, 86400, &v)) {
			pr_warn("--consent-ttl '%s': want seconds, 1 to 86400\n", arg);
			return 1;
		}
		a->consent_ttl_ms = v * 1000;
		return 0;
	case OPT_CA:
		o->tls.ca = arg;
		return 0;
	case OPT_CERT:
		o->tls.cert = arg;
		return 0;
	case OPT_KEY:
		o->tls.key = arg;
		return 0;
	case OPT_INSECURE:
		o->tls.insecure = true;
		return 0;
	case OPT_HTTP:
		if (bpfc_parse_endpoint(arg, &ep)) {
			pr_warn("--http '%s': want ADDR:PORT or [IPV6]:PORT\n", arg);
			return 1;
		}
		a->http_addr = arg;
		return 0;
	case 'v':
		o->verbose++;
		return 0;
	default:
		fputs(usage, stderr);
		return 1;
	}
}

/* The config's settings, where the command line did not say otherwise. */
static int apply_settings(struct agent *a, struct opts *o, const struct bpfc_config *cfg)
{
	int i;

	for (i = 0; i < cfg->n_settings; i++) {
		const struct bpfc_setting *st = &cfg->settings[i];

		if (st->opt == 'c' || st->opt == OPT_DETACH || st->opt == 'h' || st->opt == OPT_CHECK) {
			pr_warn("%s: line %d: '%s' belongs on the command line\n", a->config_path,
				st->line, st->name);
			return 1;
		}
		if (st->opt < OPT_MAX && o->given[st->opt])
			continue;
		if (apply_option(a, o, st->opt, st->value)) {
			pr_warn("%s: line %d: the '%s' setting is not valid (see above)\n",
				a->config_path, st->line, st->name);
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct agent agent = {
		.pin_dir = AGENT_DEFAULT_PIN_DIR,
		.sock_path = AGENT_DEFAULT_SOCKET,
		.sample_ms = 100,
		.ctl_fd = -1,
		.max_subs = BPFC_MAX_SUBS,
		.max_mbps = 10000,
		.join_port = BPFC_JOIN_PORT,
		.join_rate = BPFC_JOIN_RATE,
		.consent_ttl_ms = BPFC_CONSENT_TTL_MS,
		.join_fd = -1,
		.xdp_min_subs = 16,
		.shed_us = 200,
		.route_cache_ms = 100,
	};
	struct agent *a = &agent;
	struct bpfc_config cfg = {};
	static struct opts o;
	int opt, i, err;
	char errbuf[256];

	bpfc_log_init("bpfcast-agent", LOG_LVL_INFO);
	/* OpenSSL writes with write(): a manager gone mid-write must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt_long(argc, argv, "i:c:vh", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		if (apply_option(a, &o, opt, optarg))
			return 1;
		if (opt >= 0 && opt < OPT_MAX)
			o.given[opt] = true;
	}
	if (optind < argc) {
		pr_warn("unexpected argument '%s'; see --help\n", argv[optind]);
		return 1;
	}
	bpfc_log_init("bpfcast-agent", LOG_LVL_INFO + o.verbose);
	bpfc_log_libbpf();
	if (o.detach)
		return dp_detach_all(a->pin_dir) ? 1 : 0;

	if (a->config_path) {
		if (bpfc_config_load_ex(a->config_path, options, true, &cfg, errbuf, sizeof(errbuf))) {
			pr_warn("%s: %s\n", a->config_path, errbuf);
			return 1;
		}
		if (apply_settings(a, &o, &cfg))
			return 1;
		bpfc_log_init("bpfcast-agent", LOG_LVL_INFO + o.verbose);
		/* A check is about the file, not this host's interfaces. */
		for (i = 0; i < cfg.n_ifaces && !o.check; i++)
			if (add_iface(a, cfg.ifaces[i]))
				return 1;
		if (cfg.sample_ms && !o.sample_set)
			a->sample_ms = cfg.sample_ms;
	}
	/* Destination policy: the defaults, the config's deny lines, then --deny. */
	if (a->config_path)
		a->deny = cfg.deny;
	else
		bpfc_denylist_defaults(&a->deny);
	for (i = 0; i < o.deny.n && a->deny.n < BPFC_DENY_MAX; i++)
		a->deny.rule[a->deny.n++] = o.deny.rule[i];
	if (a->join_key_path) {
		if (bpfc_key_load(a->join_key_path, &a->join_key, errbuf, sizeof(errbuf))) {
			pr_warn("--join-key: %s\n", errbuf);
			return 1;
		}
		a->has_join_key = true;
	}
	if (!!a->manager != !!a->relay_id) {
		pr_warn("--manager and --id go together\n");
		return 1;
	}
	if (a->manager) {
		if (bpfc_tls_files_invalid(&o.tls)) {
			pr_warn("--manager: %s\n", bpfc_tls_files_invalid(&o.tls));
			return 1;
		}
		if (o.tls.insecure)
			pr_warn("--insecure: plain TCP to the manager; whoever sits between can "
				"steer this relay\n");
		else if (!(a->tls_ctx = bpfc_tls_ctx(&o.tls, false, errbuf, sizeof(errbuf)))) {
			pr_warn("TLS: %s\n", errbuf);
			return 1;
		}
	} else if (o.tls.ca || o.tls.cert || o.tls.key || o.tls.insecure) {
		pr_warn("--ca, --cert, --key and --insecure are for --manager\n");
		return 1;
	}
	if (o.check) {
		printf("%s: ok\n", a->config_path ? a->config_path : "options");
		return 0;
	}
	if (!a->n_ifaces) {
		pr_warn("no interface: give one with -i IFACE or 'interface' in the config\n");
		return 1;
	}
	if (!have_privileges()) {
		pr_warn("missing privileges: run as root, or with CAP_BPF, CAP_NET_ADMIN and "
			"CAP_PERFMON\n");
		return 1;
	}

	a->subs = calloc(BPFC_MAX_SUBS, sizeof(*a->subs));
	a->sub_used = calloc(BPFC_MAX_SUBS, sizeof(*a->sub_used));
	a->consent = calloc(BPFC_MAX_SUBS, sizeof(*a->consent));
	a->consent_dirty = calloc(BPFC_MAX_SUBS, sizeof(*a->consent_dirty));
	a->sub_oif = calloc(BPFC_MAX_SUBS, sizeof(*a->sub_oif));
	if (!a->subs || !a->sub_used || !a->consent || !a->consent_dirty || !a->sub_oif) {
		pr_warn("out of memory\n");
		return 1;
	}

	err = dp_check_kernel();
	if (!err)
		err = rtnl_enable_lo_forwarding();
	if (!err)
		err = dp_open_load(a);
	if (!err)
		err = rtnl_sync_ifaddrs(a);
	if (!err)
		err = dp_attach_all(a);
	if (!err)
		err = state_adopt(a);
	if (!err)
		err = state_apply_config(a, &cfg);
	if (!err)
		err = events_open(a);
	if (!err)
		err = rtnl_events_open(a);
	if (!err)
		err = ctl_listen(a);
	if (!err)
		err = join_open(a);
	if (!err && a->http_addr) {
		a->http = bpfc_http_start(a->http_addr, metrics_http, a, errbuf, sizeof(errbuf));
		if (!a->http) {
			pr_warn("--http: %s\n", errbuf);
			err = -EADDRINUSE;
		}
	}
	if (!err)
		default_data_addrs(a);
	if (!err) {
		int n = 0;

		for (i = 0; i < BPFC_MAX_STREAMS; i++)
			n += a->streams[i].used;
		pr_info("relaying %d streams to %d subscribers; control socket %s\n", n,
			a->n_subs_total, a->sock_path);
		sd_notify(0, "READY=1");
		err = run(a);
	}
	bpfc_config_free(&cfg);
	bpfc_http_stop(a->http);
	ring_buffer__free(a->events);
	dp_close(a);
	state_free(a);
	return err ? 1 : 0;
}
