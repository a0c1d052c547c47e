// SPDX-License-Identifier: GPL-2.0
/*
 * vla: a variable-length array is freed when its scope ends, so one in a
 * loop body reuses the same S bytes of stack each time (compare alloca).
 */
#include "common.h"

size_t wl_stack_budget(void);

static __attribute__((noinline)) void loop(long n, size_t s)
{
	long i;

	for (i = 0; i < n; i++) {
		char a[s];

		wl_touch(a, s, 0x21);
	}
}

int wl_vla(const struct wl_opts *o)
{
	if (o->size > wl_stack_budget())
		wl_usage_error("--size must fit the stack: at most %zu bytes here",
			       wl_stack_budget());

	wl_phase_begin("grow");
	loop(o->count, o->size);
	wl_phase_end();

	wl_phase_begin("again");
	loop(o->count, o->size);
	wl_phase_end();
	return 0;
}
