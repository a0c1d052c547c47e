// SPDX-License-Identifier: GPL-2.0
/*
 * calloc: recycled small blocks must be cleared by calloc (CPU time, no
 * faults); a large block is a fresh mapping that the kernel zeroes, so
 * calloc writes nothing and the pages fault in only when touched.
 */
#include "common.h"

/* glibc's chunk header: bit 1 of the size word marks an mmapped chunk. */
static int is_mmapped(void *p)
{
	return (((size_t *)p)[-1] & 2) != 0;
}

int wl_calloc_fn(const struct wl_opts *o)
{
	long n = o->count, i, nonzero = 0;
	void **blk = wl_scratch(n * sizeof(*blk));
	size_t large;
	void *pin, *big;

	if (__builtin_mul_overflow((size_t)n, o->size, &large))
		wl_usage_error("--count x --size overflows");

	wl_phase_begin("dirty");
	for (i = 0; i < n; i++) {
		if (!(blk[i] = wl_malloc(o->size)))
			wl_die("malloc(%zu) failed", o->size);
		wl_touch(blk[i], o->size, 0xff);
	}
	/* The pin keeps the freed blocks from merging into the top chunk. */
	pin = wl_malloc(16);
	for (i = 0; i < n; i++)
		wl_free(blk[i], o->size);
	wl_phase_end();

	wl_phase_begin("calloc_small");
	for (i = 0; i < n; i++)
		if (!(blk[i] = wl_calloc(1, o->size)))
			wl_die("calloc(1, %zu) failed", o->size);
	wl_phase_end();
	for (i = 0; i < n; i++)
		nonzero += !wl_all_bytes(blk[i], o->size, 0);
	wl_result("small_nonzero_blocks", nonzero);

	wl_phase_begin("calloc_large");
	big = wl_calloc(n, o->size);
	if (!big && large)
		wl_die("calloc(%ld, %zu) failed", n, o->size);
	wl_phase_end();
	wl_result("large_mmapped", big ? is_mmapped(big) : 0);

	wl_phase_begin("touch_large");
	wl_touch(big, large, 0x11);
	wl_phase_end();

	wl_phase_begin("free");
	wl_free(big, large);
	for (i = 0; i < n; i++)
		wl_free(blk[i], o->size);
	wl_free(pin, 16);
	wl_phase_end();
	return 0;
}
