/* SPDX-License-Identifier: GPL-2.0 */
/* Logging: one format-checked entry point, gated by verbosity. */
#ifndef BPFCAST_LOG_H
#define BPFCAST_LOG_H

#include <stdbool.h>

enum bpfc_log_level {
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

void bpfc_log_init(const char *prog, enum bpfc_log_level level);
void bpfc_log(enum bpfc_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Route libbpf's messages through bpfc_log; silence them while `quiet`. */
void bpfc_log_libbpf(void);
void bpfc_log_libbpf_quiet(bool quiet);

#define pr_warn(fmt, ...)  bpfc_log(LOG_LVL_WARN, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)  bpfc_log(LOG_LVL_INFO, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) bpfc_log(LOG_LVL_DEBUG, fmt, ##__VA_ARGS__)

#endif
