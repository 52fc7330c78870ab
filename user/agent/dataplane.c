// SPDX-License-Identifier: GPL-2.0
/* Loading, pinning, attaching and detaching the data plane. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "bpfcast.skel.h"
#include "agent.h"
#include "log.h"

#define MIN_KERNEL "6.1"

/* Refuse early and clearly on a kernel the data plane cannot run on. */
int dp_check_kernel(void)
{
	static const struct {
		enum bpf_func_id id;
		const char *name, *since;
	} helpers[] = {
		{ BPF_FUNC_loop, "bpf_loop", "5.17" },
		{ BPF_FUNC_map_lookup_percpu_elem, "bpf_map_lookup_percpu_elem", "6.0" },
		{ BPF_FUNC_fib_lookup, "bpf_fib_lookup", "4.18" },
	};
	size_t i;
	int ret;

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		pr_warn("kernel has no BTF (/sys/kernel/btf/vmlinux is missing): use a kernel built "
			"with CONFIG_DEBUG_INFO_BTF=y, Linux %s or newer\n", MIN_KERNEL);
		return -EOPNOTSUPP;
	}
	bpfc_log_libbpf_quiet(true);
	for (i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++) {
		ret = libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, helpers[i].id, NULL);
		if (ret == 0) {
			bpfc_log_libbpf_quiet(false);
			pr_warn("kernel lacks the %s BPF helper (Linux %s+); bpfcast needs Linux %s "
				"or newer\n", helpers[i].name, helpers[i].since, MIN_KERNEL);
			return -EOPNOTSUPP;
		}
		if (ret < 0 && (ret == -EPERM || errno == EPERM)) {
			bpfc_log_libbpf_quiet(false);
			pr_warn("permission denied using BPF: run as root, or with CAP_BPF, "
				"CAP_NET_ADMIN and CAP_PERFMON\n");
			return -EPERM;
		}
	}
	bpfc_log_libbpf_quiet(false);
	return 0;
}

static bool dir_has_pins(const char *dir)
{
	struct dirent *de;
	bool found = false;
	DIR *d = opendir(dir);

	if (!d)
		return false;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			found = true;
	closedir(d);
	return found;
}

static int pin_program(struct bpf_program *prog, const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	return bpf_program__pin(prog, path);
}

int dp_open_load(struct agent *a)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = a->pin_dir);
	struct btf *btf;
	bool had_pins;
	int err;

	/* Pins give full control of the data plane: root's only. */
	if ((mkdir(a->pin_dir, 0700) && errno != EEXIST) || chmod(a->pin_dir, 0700)) {
		err = -errno;
		pr_warn("cannot create pin directory %s: %s (is bpffs mounted at /sys/fs/bpf?)\n",
			a->pin_dir, strerror(errno));
		return err;
	}
	had_pins = dir_has_pins(a->pin_dir);

	a->skel = bpfcast__open_opts(&opts);
	if (!a->skel) {
		err = -errno;
		pr_warn("cannot open the BPF object: %s\n", strerror(errno));
		return err;
	}
	a->nr_cpus = libbpf_num_possible_cpus();
	if (a->nr_cpus > BPFC_MAX_CPUS) {
		pr_warn("%d possible CPUs: the data plane sums counters over at most %d\n",
			a->nr_cpus, BPFC_MAX_CPUS);
		return -E2BIG;
	}
	a->skel->rodata->sample_interval_ns = (__u64)a->sample_ms * 1000000;
	a->skel->rodata->nr_cpus = a->nr_cpus;
	{
		struct stat ns;

		if (!stat("/proc/self/ns/net", &ns))
			a->skel->rodata->netns_ino = ns.st_ino;
	}

	err = bpfcast__load(a->skel);
	if (err) {
		if (err == -EPERM)
			pr_warn("permission denied loading BPF: run as root, or with CAP_BPF, "
				"CAP_NET_ADMIN and CAP_PERFMON\n");
		else if (had_pins)
			pr_warn("cannot load the data plane over the maps pinned in %s (%s): are they "
				"from another bpfcast version? Run 'bpfcast-agent --detach --pin-dir "
				"%s' first (this stops forwarding)\n",
				a->pin_dir, strerror(-err), a->pin_dir);
		else
			pr_warn("the kernel refused the data plane (%s); run with -v for the "
				"verifier log\n", strerror(-err));
		return err;
	}

	a->fd_streams = bpf_map__fd(a->skel->maps.bpfc_streams);
	a->fd_fanout = bpf_map__fd(a->skel->maps.bpfc_fanout);
	a->fd_subs = bpf_map__fd(a->skel->maps.bpfc_subs);
	a->fd_strm_stats = bpf_map__fd(a->skel->maps.bpfc_strm_stats);
	a->fd_sub_stats = bpf_map__fd(a->skel->maps.bpfc_sub_stats);
	a->fd_strm_state = bpf_map__fd(a->skel->maps.bpfc_strm_state);
	a->fd_sub_evt = bpf_map__fd(a->skel->maps.bpfc_sub_evt);
	a->fd_global = bpf_map__fd(a->skel->maps.bpfc_global);
	a->fd_ifaddrs = bpf_map__fd(a->skel->maps.bpfc_ifaddrs);
	a->fd_attach = bpf_map__fd(a->skel->maps.bpfc_attach);
	a->fd_consent = bpf_map__fd(a->skel->maps.bpfc_consent);
	a->fd_settings = bpf_map__fd(a->skel->maps.bpfc_settings);
	{
		struct bpfc_settings old;
		__u32 zero = 0;

		/* Routes an earlier agent cached may predate changes it never saw. */
		if (!bpf_map_lookup_elem(a->fd_settings, &zero, &old))
			a->route_gen = old.route_gen + 1;
	}
	a->fd_path = bpf_map__fd(a->skel->maps.bpfc_path);
	a->fd_xdp_lists = bpf_map__fd(a->skel->maps.bpfc_xdp_lists);
	a->fd_xdp_ports = bpf_map__fd(a->skel->maps.bpfc_xdp_ports);
	a->fd_xdp_slot_gen = bpf_map__fd(a->skel->maps.bpfc_xdp_slot_gen);
	a->fd_egress = bpf_map__fd(a->skel->maps.bpfc_egress);
	a->fd_xdp_copy_prog = bpf_program__fd(a->skel->progs.bpfcast_xdp_copy);

	/* Fan-out lists are created at run time; give them BTF so bpftool shows fields. */
	btf = bpf_object__btf(a->skel->obj);
	a->btf_fd = btf ? btf__fd(btf) : -1;
	if (btf) {
		/* An INT, not the __u32 typedef: older kernels want the array key's BTF bare. */
		int u32_id = btf__find_by_name_kind(btf, "unsigned int", BTF_KIND_INT);
		int sub_id = btf__find_by_name_kind(btf, "bpfc_sub", BTF_KIND_STRUCT);

		a->btf_u32_id = u32_id > 0 ? u32_id : 0;
		a->btf_sub_id = sub_id > 0 ? sub_id : 0;
	}

	err = pin_program(a->skel->progs.bpfcast_xdp_ingest, a->pin_dir, BPFC_PIN_XDP_PROG);
	if (!err)
		err = pin_program(a->skel->progs.bpfcast_tc_fanout, a->pin_dir, BPFC_PIN_TC_PROG);
	if (!err)
		err = pin_program(a->skel->progs.bpfcast_xdp_copy, a->pin_dir,
				  BPFC_PIN_XDP_COPY_PROG);
	if (!err)
		err = xdpfan_attach_monitor(a);
	if (err) {
		pr_warn("cannot pin programs in %s: %s\n", a->pin_dir, strerror(-err));
		return err;
	}
	return 0;
}

/* Relay-wide settings, whole: the data plane reads them per packet. */
int settings_write(struct agent *a)
{
	struct bpfc_settings st = {
		.join_port = htons(a->join_port),
		.join_rate = a->join_rate,
		.shed_us = a->shed_us,
		.route_cache_us = a->route_cache_ms * 1000,
		.route_gen = a->route_gen,
	};
	__u32 zero = 0;

	return bpf_map_update_elem(a->fd_settings, &zero, &st, BPF_ANY) ? -errno : 0;
}

static __u32 prog_id_of(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

static int xdp_current(int ifindex, __u32 *prog_id, __u8 *mode)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int err = bpf_xdp_query(ifindex, 0, &q);

	if (err)
		return err;
	*prog_id = q.prog_id;
	*mode = q.attach_mode;
	return 0;
}

/* Attach or atomically replace our XDP program; never touch someone else's. */
static int attach_xdp(struct agent *a, const struct agent_iface *ifc, struct bpfc_attach *rec)
{
	int prog_fd = bpf_program__fd(a->skel->progs.bpfcast_xdp_ingest);
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	__u32 cur_id = 0;
	__u8 mode = 0;
	int err;

	err = xdp_current(ifc->ifindex, &cur_id, &mode);
	if (err) {
		pr_warn("%s: cannot query XDP: %s\n", ifc->name, strerror(-err));
		return err;
	}
	if (cur_id && cur_id != rec->xdp_prog_id) {
		pr_warn("%s already runs XDP program id %u, which is not bpfcast's: detach it "
			"first (ip link set dev %s xdp off)\n", ifc->name, cur_id, ifc->name);
		return -EBUSY;
	}
	if (cur_id) {
		__u32 flags = XDP_FLAGS_REPLACE |
			      (mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);

		opts.old_prog_fd = bpf_prog_get_fd_by_id(cur_id);
		if (opts.old_prog_fd < 0)
			return -errno;
		err = bpf_xdp_attach(ifc->ifindex, prog_fd, flags, &opts);
		close(opts.old_prog_fd);
		if (err) {
			pr_warn("%s: cannot replace the XDP program: %s\n", ifc->name,
				strerror(-err));
			return err;
		}
		rec->flags &= ~(BPFC_ATTACH_XDP_NATIVE | BPFC_ATTACH_XDP_GENERIC);
		rec->flags |= mode == XDP_ATTACHED_SKB ? BPFC_ATTACH_XDP_GENERIC :
							 BPFC_ATTACH_XDP_NATIVE;
	} else {
		err = -EOPNOTSUPP;
		bpfc_log_libbpf_quiet(true);
		if (!a->force_generic)
			err = bpf_xdp_attach(ifc->ifindex, prog_fd,
					     XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
		bpfc_log_libbpf_quiet(false);
		if (!err) {
			rec->flags |= BPFC_ATTACH_XDP_NATIVE;
		} else {
			if (!a->force_generic)
				pr_warn("warning: %s has no native XDP (%s); using generic XDP, "
					"which is slower\n", ifc->name, strerror(-err));
			err = bpf_xdp_attach(ifc->ifindex, prog_fd,
					     XDP_FLAGS_SKB_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
			if (err) {
				pr_warn("%s: cannot attach XDP: %s\n", ifc->name, strerror(-err));
				return err;
			}
			rec->flags |= BPFC_ATTACH_XDP_GENERIC;
		}
	}
	rec->xdp_prog_id = prog_id_of(prog_fd);
	return 0;
}

static int attach_tc(struct agent *a, const struct agent_iface *ifc, struct bpfc_attach *rec)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifc->ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BPFC_TC_HANDLE, .priority = BPFC_TC_PRIORITY,
		    .prog_fd = bpf_program__fd(a->skel->progs.bpfcast_tc_fanout),
		    .flags = BPF_TC_F_REPLACE);
	int err;

	bpfc_log_libbpf_quiet(true);
	err = bpf_tc_hook_create(&hook);
	bpfc_log_libbpf_quiet(false);
	if (!err)
		rec->flags |= BPFC_ATTACH_CLSACT_OURS;
	else if (err != -EEXIST) {
		pr_warn("%s: cannot create the clsact qdisc: %s\n", ifc->name, strerror(-err));
		return err;
	}
	err = bpf_tc_attach(&hook, &opts);
	if (err) {
		pr_warn("%s: cannot attach the TC program: %s\n", ifc->name, strerror(-err));
		return err;
	}
	rec->flags |= BPFC_ATTACH_TC;
	rec->tc_prog_id = opts.prog_id;
	return 0;
}

/* Remove what a record says we attached to ifindex. */
static void detach_iface(int ifindex, const struct bpfc_attach *rec)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = BPFC_TC_HANDLE, .priority = BPFC_TC_PRIORITY);
	__u32 cur_id = 0;
	__u8 mode = 0;

	bpfc_log_libbpf_quiet(true);
	if (rec->flags & (BPFC_ATTACH_XDP_NATIVE | BPFC_ATTACH_XDP_GENERIC) &&
	    !xdp_current(ifindex, &cur_id, &mode) && cur_id && cur_id == rec->xdp_prog_id) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, xo);
		__u32 flags = XDP_FLAGS_REPLACE | (rec->flags & BPFC_ATTACH_XDP_GENERIC ?
						   XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);

		xo.old_prog_fd = bpf_prog_get_fd_by_id(cur_id);
		if (xo.old_prog_fd >= 0) {
			bpf_xdp_attach(ifindex, -1, flags, &xo);
			close(xo.old_prog_fd);
		}
	}
	if (rec->flags & BPFC_ATTACH_TC)
		bpf_tc_detach(&hook, &opts);
	if (rec->flags & BPFC_ATTACH_CLSACT_OURS) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
	bpfc_log_libbpf_quiet(false);
}

static bool iface_wanted(const struct agent *a, int ifindex)
{
	int i;

	for (i = 0; i < a->n_ifaces; i++)
		if (a->ifaces[i].ifindex == ifindex)
			return true;
	return false;
}

int dp_attach_all(struct agent *a)
{
	bool fresh[BPFC_MAX_IFACES] = {};
	struct bpfc_attach rec;
	__u32 key, next;
	int i, err = 0;

	/* Interfaces dropped from the command line since the last run. */
	for (err = bpf_map_get_next_key(a->fd_attach, NULL, &key); !err;
	     err = bpf_map_get_next_key(a->fd_attach, &key, &next), key = next) {
		if (iface_wanted(a, key) || bpf_map_lookup_elem(a->fd_attach, &key, &rec))
			continue;
		pr_info("detaching from ifindex %u, no longer given with -i\n", key);
		detach_iface(key, &rec);
		bpf_map_delete_elem(a->fd_attach, &key);
	}

	for (i = 0; i < a->n_ifaces; i++) {
		struct agent_iface *ifc = &a->ifaces[i];

		memset(&rec, 0, sizeof(rec));
		fresh[i] = bpf_map_lookup_elem(a->fd_attach, &ifc->ifindex, &rec) != 0;
		err = attach_xdp(a, ifc, &rec);
		if (!err)
			err = attach_tc(a, ifc, &rec);
		if (!err)
			err = bpf_map_update_elem(a->fd_attach, &ifc->ifindex, &rec, BPF_ANY);
		if (err) {
			if (fresh[i])
				detach_iface(ifc->ifindex, &rec);
			goto undo;
		}
		pr_info("%s: XDP (%s) and TC attached\n", ifc->name,
			rec.flags & BPFC_ATTACH_XDP_NATIVE ? "native" : "generic");
		if (!(rec.flags & BPFC_ATTACH_XDP_NATIVE))
			a->xdp_generic = true;
	}
	return 0;

undo:
	/* Leave no interface half-attached: undo what this run attached fresh. */
	while (--i >= 0) {
		if (!fresh[i] || bpf_map_lookup_elem(a->fd_attach, &a->ifaces[i].ifindex, &rec))
			continue;
		detach_iface(a->ifaces[i].ifindex, &rec);
		bpf_map_delete_elem(a->fd_attach, &a->ifaces[i].ifindex);
	}
	return err;
}

static int pinned_map(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return bpf_obj_get(path);
}

/* Leave every multicast group a stream joined, on every attached interface. */
static void leave_groups(int fd_streams, int fd_attach)
{
	struct bpfc_stream_key key, next;
	struct bpfc_stream st;
	__u32 ifk, ifn;
	int err;

	for (err = bpf_map_get_next_key(fd_streams, NULL, &key); !err;
	     err = bpf_map_get_next_key(fd_streams, &key, &next), key = next) {
		if (bpf_map_lookup_elem(fd_streams, &key, &st) || !(st.flags & BPFC_STREAM_F_MCAST))
			continue;
		for (err = bpf_map_get_next_key(fd_attach, NULL, &ifk); !err;
		     err = bpf_map_get_next_key(fd_attach, &ifk, &ifn), ifk = ifn)
			rtnl_mcast_join(ifk, key.family, &key.addr, false);
	}
}

int dp_detach_all(const char *pin_dir)
{
	int fd_attach = pinned_map(pin_dir, "bpfc_attach");
	int fd_streams = pinned_map(pin_dir, "bpfc_streams");
	struct bpfc_attach rec;
	char path[PATH_MAX];
	struct dirent *de;
	__u32 key, next;
	DIR *d;
	int err;

	if (fd_attach < 0) {
		if (errno == ENOENT) {
			pr_info("nothing pinned in %s: nothing to detach\n", pin_dir);
			return 0;
		}
		pr_warn("cannot open %s/bpfc_attach: %s\n", pin_dir, strerror(errno));
		return -errno;
	}
	if (fd_streams >= 0) {
		leave_groups(fd_streams, fd_attach);
		close(fd_streams);
	}
	for (err = bpf_map_get_next_key(fd_attach, NULL, &key); !err;
	     err = bpf_map_get_next_key(fd_attach, &key, &next), key = next) {
		if (!bpf_map_lookup_elem(fd_attach, &key, &rec)) {
			char name[IF_NAMESIZE] = "?";

			if_indextoname(key, name);
			detach_iface(key, &rec);
			pr_info("detached from %s\n", name);
		}
	}
	close(fd_attach);

	d = opendir(pin_dir);
	if (d) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", pin_dir, de->d_name);
			if (unlink(path))
				pr_warn("cannot unpin %s: %s\n", path, strerror(errno));
		}
		closedir(d);
	}
	if (rmdir(pin_dir) && errno != ENOENT) {
		pr_warn("cannot remove %s: %s\n", pin_dir, strerror(errno));
		return -errno;
	}
	return 0;
}

void dp_close(struct agent *a)
{
	bpfcast__destroy(a->skel);
	a->skel = NULL;
}

int dp_percpu_zero(struct agent *a, int fd, __u32 key, size_t value_size)
{
	void *zero = calloc(a->nr_cpus, (value_size + 7) & ~7UL);
	int err;

	if (!zero)
		return -ENOMEM;
	err = bpf_map_update_elem(fd, &key, zero, BPF_ANY);
	free(zero);
	return err;
}

/* Sum a per-CPU value of n u64 counters. */
static int read_percpu_u64s(struct agent *a, int fd, __u32 key, __u64 *out, size_t n)
{
	__u64 *vals = calloc(a->nr_cpus, n * sizeof(__u64));
	size_t i;
	int cpu, err;

	if (!vals)
		return -ENOMEM;
	memset(out, 0, n * sizeof(__u64));
	err = bpf_map_lookup_elem(fd, &key, vals);
	if (!err)
		for (cpu = 0; cpu < a->nr_cpus; cpu++)
			for (i = 0; i < n; i++)
				out[i] += vals[cpu * n + i];
	free(vals);
	return err;
}

int dp_read_stream_stats(struct agent *a, __u32 id, struct bpfc_stream_stats *out)
{
	return read_percpu_u64s(a, a->fd_strm_stats, id, (__u64 *)out, sizeof(*out) / 8);
}

int dp_read_sub_stats(struct agent *a, __u32 id, struct bpfc_sub_stats *out)
{
	return read_percpu_u64s(a, a->fd_sub_stats, id, (__u64 *)out, sizeof(*out) / 8);
}

int dp_read_global(struct agent *a, struct bpfc_global_stats *out)
{
	return read_percpu_u64s(a, a->fd_global, 0, (__u64 *)out, sizeof(*out) / 8);
}
