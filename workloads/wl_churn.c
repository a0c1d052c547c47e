// SPDX-License-Identifier: GPL-2.0
/*
 * churn: the founding notes' mem_test. N blocks of S bytes are malloc'ed,
 * written, then all freed; the free phase is where the notes saw time go.
 */
#include "common.h"

int wl_churn(const struct wl_opts *o)
{
	long n = o->count, i;
	/* Pointers and the free order live in scratch mappings, not on the heap. */
	void **blk = wl_scratch(n * sizeof(*blk));
	long *idx = wl_scratch(n * sizeof(*idx));
	uint64_t h = 1469598103934665603ULL;

	wl_order_indices(idx, n, o->order);
	/* FNV-1a of the free order: lets a test check --order and --seed from outside */
	for (i = 0; i < n; i++)
		h = (h ^ (uint64_t)idx[i]) * 1099511628211ULL;
	wl_result("free_order_hash", (long long)(h >> 1));

	wl_phase_begin("alloc");
	for (i = 0; i < n; i++) {
		blk[i] = wl_malloc(o->size);
		if (!blk[i])
			wl_die("malloc(%zu) failed at block %ld", o->size, i);
	}
	wl_phase_end();

	if (o->touch) {
		wl_phase_begin("touch");
		for (i = 0; i < n; i++)
			wl_touch(blk[i], o->size, 0x5a);
		wl_phase_end();
	}

	wl_phase_begin("free");
	for (i = 0; i < n; i++)
		wl_free(blk[idx[i]], o->size);
	wl_phase_end();
	return 0;
}
