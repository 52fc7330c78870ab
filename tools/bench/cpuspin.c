// SPDX-License-Identifier: GPL-2.0
/*
 * cpuspin: how busy is one CPU? A SCHED_IDLE thread pinned to it spins and
 * counts; it runs only when nothing else wants the CPU, softirqs included
 * (which /proc/stat under-counts on these VMs). Busy = 1 - spins / idle spins.
 *   cpuspin CPU SECONDS  ->  prints spins per second
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sched_param sp = { 0 };
	volatile unsigned long spins = 0;
	double t0, secs;
	cpu_set_t set;

	if (argc != 3)
		return 2;
	CPU_ZERO(&set);
	CPU_SET(atoi(argv[1]), &set);
	secs = atof(argv[2]);
	if (sched_setaffinity(0, sizeof(set), &set) || sched_setscheduler(0, SCHED_IDLE, &sp)) {
		perror("cpuspin");
		return 1;
	}
	t0 = now();
	while (now() - t0 < secs)
		for (int i = 0; i < 1000; i++)
			spins++;
	printf("%.0f\n", spins / secs);
	return 0;
}
