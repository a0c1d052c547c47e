// SPDX-License-Identifier: GPL-2.0
/*
 * alloca: stack memory that lives until the function returns. In a loop it
 * piles up: N x S bytes of stack, each new page one fault. The stack keeps
 * its pages afterwards, so doing it again costs no faults.
 */
#include <alloca.h>
#include <sys/resource.h>

#include "common.h"

/* How much stack a workload may use: the limit less 1 MiB for everything else. */
size_t wl_stack_budget(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_STACK, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return 1UL << 30;
	return rl.rlim_cur > (1UL << 20) ? rl.rlim_cur - (1UL << 20) : 0;
}

static __attribute__((noinline)) void pile_up(long n, size_t s)
{
	long i;

	for (i = 0; i < n; i++) {
		char *p = alloca(s);

		wl_touch(p, s, 0x21);
	}
}

int wl_alloca(const struct wl_opts *o)
{
	size_t total;

	if (__builtin_mul_overflow((size_t)o->count, o->size, &total) || total > wl_stack_budget())
		wl_usage_error("--count x --size must fit the stack: at most %zu bytes here",
			       wl_stack_budget());

	wl_phase_begin("grow");
	pile_up(o->count, o->size);
	wl_phase_end();

	wl_phase_begin("again");
	pile_up(o->count, o->size);
	wl_phase_end();
	return 0;
}
