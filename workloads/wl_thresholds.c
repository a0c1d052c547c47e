// SPDX-License-Identifier: GPL-2.0
/*
 * thresholds: glibc picks where a block comes from by its size. Each phase
 * allocates N blocks of the two sizes either side of one limit:
 *   tcache  1032 | 1033 bytes   largest usable size kept in the per-thread cache
 *   fastbin  120 | 121          largest fastbin chunk is 128 bytes
 *   mmap     128K-32 | 128K     chunk size against the 128 KiB mmap threshold
 *   rise     a freed 1 MiB mmapped block lifts the threshold: 512 KiB then
 *            comes from the heap
 */
#include <malloc.h>
#include <stdio.h>

#include "common.h"

static void **blk;

static int is_mmapped(void *p)
{
	return (((size_t *)p)[-1] & 2) != 0;
}

/* N blocks of one size: allocated, written, noted, freed. */
static void both_ways(const char *label, size_t size, long n)
{
	char key[48];
	long i, mm = 0;

	for (i = 0; i < n; i++) {
		if (!(blk[i] = wl_malloc(size)))
			wl_die("malloc(%zu) failed", size);
		wl_touch(blk[i], size, 0x61);
	}
	for (i = 0; i < n; i++) {
		mm += is_mmapped(blk[i]);
		wl_free(blk[i], size);
	}
	/* snprintf into a stack buffer does not allocate */
	snprintf(key, sizeof(key), "%s_mmapped", label);
	wl_result(key, mm);
}

int wl_thresholds(const struct wl_opts *o)
{
	long n = o->count;
	void *big;

	blk = wl_scratch(n * sizeof(*blk));

	wl_phase_begin("tcache");
	both_ways("tcache_1032", 1032, n);
	both_ways("tcache_1033", 1033, n);
	wl_phase_end();

	wl_phase_begin("fastbin");
	both_ways("fastbin_120", 120, n);
	both_ways("fastbin_121", 121, n);
	wl_phase_end();

	wl_phase_begin("mmap");
	both_ways("mmap_131040", 128 * 1024 - 32, n);
	both_ways("mmap_131072", 128 * 1024, n);
	wl_phase_end();

	wl_phase_begin("rise");
	big = wl_malloc(1 << 20);
	if (!big)
		wl_die("malloc(1 MiB) failed");
	wl_touch(big, 1 << 20, 0x62);
	wl_result("rise_1048576_mmapped", is_mmapped(big));
	wl_free(big, 1 << 20);
	both_ways("rise_524288", 512 * 1024, n);
	wl_phase_end();
	return 0;
}
