// SPDX-License-Identifier: GPL-2.0
/*
 * The worst case for the probes on glibc's internal steps (bench/steps.py): every malloc
 * maps a 256 KiB chunk (sysmalloc) and every free unmaps it (munmap_chunk, whose probe is
 * single-stepped), N times. Prints the mean ns per malloc+free pair by its own clock.
 * Usage: steps_target N
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void *volatile sink;

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	struct timespec a, b;

	mallopt(M_MMAP_THRESHOLD, 128 << 10); /* fixed: every 256 KiB block is mmapped */
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		sink = malloc(256 << 10);
		free(sink);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}
