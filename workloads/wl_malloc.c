// SPDX-License-Identifier: GPL-2.0
/*
 * malloc: memory comes without its pages (they fault in on first write),
 * and a block malloc'ed after a free is recycled memory, not zeroed.
 */
#include "common.h"

int wl_malloc_fn(const struct wl_opts *o)
{
	long n = o->count, i, dirty = 0;
	void **blk = wl_scratch(n * sizeof(*blk));
	void *pin;

	wl_phase_begin("alloc");
	for (i = 0; i < n; i++)
		if (!(blk[i] = wl_malloc(o->size)))
			wl_die("malloc(%zu) failed", o->size);
	/* A live block above the others keeps free() from giving the heap top back. */
	if (!(pin = wl_malloc(16)))
		wl_die("malloc(16) failed");
	wl_phase_end();

	wl_phase_begin("touch");
	for (i = 0; i < n; i++)
		wl_touch(blk[i], o->size, 0xab);
	wl_phase_end();

	wl_phase_begin("free");
	for (i = 0; i < n; i++)
		wl_free(blk[i], o->size);
	wl_phase_end();

	wl_phase_begin("alloc_again");
	for (i = 0; i < n; i++)
		if (!(blk[i] = wl_malloc(o->size)))
			wl_die("malloc(%zu) failed", o->size);
	wl_phase_end();

	/* Checked outside the phases: reading is not what is measured. */
	for (i = 0; i < n; i++)
		dirty += !wl_all_bytes(blk[i], o->size, 0);
	wl_result("dirty_blocks", dirty);

	wl_phase_begin("free_again");
	for (i = 0; i < n; i++)
		wl_free(blk[i], o->size);
	wl_free(pin, 16);
	wl_phase_end();
	return 0;
}
