// SPDX-License-Identifier: GPL-2.0
/*
 * array: the founding notes' mem_test_arr. The same N x S bytes as churn,
 * but as one block: one malloc, one free, whatever the count.
 */
#include "common.h"

int wl_array(const struct wl_opts *o)
{
	size_t bytes;
	void *p;

	if (__builtin_mul_overflow((size_t)o->count, o->size, &bytes))
		wl_usage_error("--count x --size overflows");

	wl_phase_begin("alloc");
	p = wl_malloc(bytes);
	if (!p && bytes)
		wl_die("malloc(%zu) failed", bytes);
	wl_phase_end();

	if (o->touch) {
		wl_phase_begin("touch");
		wl_touch(p, bytes, 0x5a);
		wl_phase_end();
	}

	wl_phase_begin("free");
	wl_free(p, bytes);
	wl_phase_end();
	return 0;
}
