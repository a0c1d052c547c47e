// SPDX-License-Identifier: GPL-2.0
/*
 * trim: free() gives memory back only from the top of the heap. With one
 * live block at the top, everything below stays resident after free;
 * malloc_trim(0) returns the whole free pages inside the heap with
 * MADV_DONTNEED, though the heap end does not move.
 */
#include <malloc.h>

#include "common.h"

int wl_trim(const struct wl_opts *o)
{
	long n = o->count, i;
	size_t s = o->size;
	void **blk = wl_scratch(n * sizeof(*blk));
	void *pin;

	wl_phase_begin("alloc");
	for (i = 0; i < n; i++) {
		if (!(blk[i] = wl_malloc(s)))
			wl_die("malloc(%zu) failed", s);
		wl_touch(blk[i], s, 0x41);
	}
	pin = wl_malloc(16);
	if (!pin)
		wl_die("malloc(16) failed");
	wl_touch(pin, 16, 0x41);
	wl_phase_end();

	wl_phase_begin("free");
	for (i = 0; i < n; i++)
		wl_free(blk[i], s);
	wl_phase_end();

	wl_phase_begin("trim");
	wl_result("trim_returned", malloc_trim(0));
	wl_phase_end();

	wl_phase_begin("free_pin");
	wl_free(pin, 16);
	wl_phase_end();
	return 0;
}
