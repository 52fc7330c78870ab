// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "log.h"

static const char *log_prog = "bpfcast";
static enum bpfc_log_level log_level = LOG_LVL_INFO;
static bool libbpf_quiet;

void bpfc_log_init(const char *prog, enum bpfc_log_level level)
{
	log_prog = prog;
	log_level = level;
}

static void vlog(enum bpfc_log_level level, const char *fmt, va_list ap)
{
	if (level > log_level)
		return;
	fprintf(stderr, "%s: ", log_prog);
	vfprintf(stderr, fmt, ap);
}

void bpfc_log(enum bpfc_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (libbpf_quiet)
		return 0;
	/* libbpf's own warnings are detail; our callers print the one clear line. */
	vlog(level == LIBBPF_WARN ? LOG_LVL_DEBUG : LOG_LVL_DEBUG + 1, fmt, ap);
	return 0;
}

void bpfc_log_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}

void bpfc_log_libbpf_quiet(bool quiet)
{
	libbpf_quiet = quiet;
}
