// SPDX-License-Identifier: GPL-2.0
/*
 * brk: move the end of the heap by hand. sbrk(+S) only reserves address
 * space; the pages come on first write and go back when the end moves down.
 * Nothing calls malloc between up and down, so glibc's heap is left as is.
 */
#include <errno.h>
#include <string.h>

#include "common.h"

int wl_brk(const struct wl_opts *o)
{
	long n = o->count, i;
	char *base = NULL, *p;
	size_t total;

	if (__builtin_mul_overflow((size_t)n, o->size, &total) || total > (1UL << 40))
		wl_usage_error("--count x --size is too large");

	wl_phase_begin("up");
	for (i = 0; i < n; i++) {
		p = wl_sbrk((intptr_t)o->size);
		if (p == (void *)-1)
			wl_die("sbrk(+%zu) failed at step %ld: %s", o->size, i, strerror(errno));
		if (!base)
			base = p;
	}
	wl_phase_end();

	wl_phase_begin("touch");
	if (base)
		wl_touch(base, total, 0x77);
	wl_phase_end();

	wl_phase_begin("down");
	for (i = 0; i < n; i++)
		if (wl_sbrk(-(intptr_t)o->size) == (void *)-1)
			wl_die("sbrk(-%zu) failed at step %ld: %s", o->size, i, strerror(errno));
	wl_phase_end();
	return 0;
}
