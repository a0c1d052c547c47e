// SPDX-License-Identifier: GPL-2.0
/*
 * Unwinding and naming, without root: the CFI rows the in-kernel walk gets, built from this
 * test program's own .eh_frame (analyse/unwind.c), and the allocator wrappers a site is
 * named past (analyse/peralloc.c).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyse/peralloc_int.h"
#include "analyse/symbolize.h"
#include "analyse/unwind.h"
#include "check.h"

__attribute__((noinline)) int unwind_probe_target(int x)
{
	__asm__ volatile("" ::: "memory");
	return x * 3;
}

/* The symbolizer knowing this program's code mappings, as the collector would. */
static struct symbolizer *self_symbolizer(void)
{
	struct symbolizer *s = symbolize__new();
	char line[4096 + 256], exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *f = fopen("/proc/self/maps", "re");

	if (!s || n <= 0 || !f)
		return s;
	exe[n] = '\0';
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, off;
		char perms[8], file[4096] = "";

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*u %4095[^\n]", &start, &end, perms, &off,
			   file) == 5 &&
		    perms[2] == 'x' && !strcmp(file, exe))
			symbolize__add_mapping(s, start, end, off, file);
	}
	fclose(f);
	return s;
}

TEST(rows_from_eh_frame_are_sorted_and_right_at_a_function_entry)
{
	struct symbolizer *s = self_symbolizer();
	uint64_t fn = (uint64_t)(uintptr_t)&unwind_probe_target, bias = 0, a;
	Dwfl_Module *mod = symbolize__module(s, fn);
	struct ms_unwind_row *rows = NULL;
	uint32_t n = 0, i;

	CHECK(mod != NULL);
	CHECK(unwind_rows_of_module(mod, &rows, &n, &bias));
	CHECK(n > 20);
	for (i = 1; i < n; i++)
		CHECK(rows[i].addr > rows[i - 1].addr);
	/* the row in force at the function's first byte: CFA = rsp + 8, rbp untouched (the
	 * return address is all a call pushed) */
	a = fn - bias;
	for (i = 0; i + 1 < n && rows[i + 1].addr <= a; i++)
		;
	CHECK(rows[i].addr <= a);
	CHECK_U64(MS_UNW_KIND(rows[i].rule), MS_UNW_CFA_RSP);
	CHECK_U64(MS_UNW_CFA_OFF(rows[i].rule), 8);
	CHECK_U64(MS_UNW_RBP_SLOT(rows[i].rule), 0);
	free(rows);
	symbolize__free(s);
}

TEST(rules_pack_and_unpack)
{
	uint32_t r = MS_UNW_RULE(MS_UNW_CFA_RBP, 2, 16);

	CHECK_U64(MS_UNW_KIND(r), MS_UNW_CFA_RBP);
	CHECK_U64(MS_UNW_RBP_SLOT(r), 2);
	CHECK_U64(MS_UNW_CFA_OFF(r), 16);
	r = MS_UNW_RULE(MS_UNW_CFA_RSP, 31, MS_UNW_CFA_OFF_MAX);
	CHECK_U64(MS_UNW_RBP_SLOT(r), 31);
	CHECK_U64(MS_UNW_CFA_OFF(r), MS_UNW_CFA_OFF_MAX);
}

/* A site whose frames are these names, innermost first. */
static void site_of(struct pa_site *site, const char *const *names, int n)
{
	memset(site, 0, sizeof(*site));
	site->merged_into = PA_NIL;
	site->nframes = n;
	for (int i = 0; i < n; i++)
		site->sym[i].function = names[i];
}

TEST(a_site_is_named_past_the_allocators_wrappers)
{
	struct peralloc *pa = peralloc__new(1, false, NULL);
	const char *cpp[] = {"operator new(unsigned long)", "operator new[](unsigned long)",
			     "shop::make_orders(int)", "main"};
	const char *git[] = {"xmalloc", "xstrdup", "strbuf_detach", "cmd_main"};
	const char *own[] = {"my_pool_alloc", "my_alloc_checked", "parse_request", "main"};
	const char *only[] = {"g_malloc0"};
	struct pa_site site;

	site_of(&site, cpp, 4);
	CHECK_U64(peralloc__title_frame(pa, &site), 2);
	site_of(&site, git, 4);
	CHECK_U64(peralloc__title_frame(pa, &site), 2);
	/* a name that only starts like a wrapper is not one */
	git[0] = "xmallocate_table";
	site_of(&site, git, 4);
	CHECK_U64(peralloc__title_frame(pa, &site), 0);
	site_of(&site, own, 4);
	CHECK_U64(peralloc__title_frame(pa, &site), 0);
	peralloc__add_wrapper(pa, "my_pool_alloc");
	peralloc__add_wrapper(pa, "my_alloc_checked");
	CHECK_U64(peralloc__title_frame(pa, &site), 2);
	/* nothing but wrappers: the innermost frame names it */
	site_of(&site, only, 1);
	CHECK_U64(peralloc__title_frame(pa, &site), 0);
	peralloc__free(pa);
}

/* An allocation record whose stack the kernel walked: FRAMES, outermost reached. */
static void alloc_walked(struct peralloc *pa, uint64_t ptr, const uint64_t *frames, int n)
{
	struct ms_event_alloc_stack e = {0};

	e.a.type = MS_EV_ALLOC;
	e.a.tid = 7;
	e.a.ptr = ptr;
	e.a.size = 32;
	e.a.caller = frames[0];
	e.a.stack_id = MS_STACK_IN_RECORD;
	e.a.fn = MS_FN_MALLOC;
	e.nframes = n;
	e.end = MS_UNWIND_OUTERMOST;
	memcpy(e.frames, frames, n * sizeof(*frames));
	peralloc__event(pa, &e, offsetof(struct ms_event_alloc_stack, frames) + 8 * n);
}

/* Two stacks that differ only in the return address inside one function, at one line. */
static uint32_t sites_after(bool by_address)
{
	struct peralloc *pa = peralloc__new(getpid(), false, NULL);
	uint64_t fn = (uint64_t)(uintptr_t)&unwind_probe_target,
		 top = (uint64_t)(uintptr_t)&sites_after + 1, lost[MS_EV_TYPES] = {0};
	uint64_t a[2] = {fn + 2, top}, b[2] = {fn + 3, top};
	uint32_t live = 0;

	peralloc__set_sites_by_address(pa, by_address);
	peralloc__refresh_modules(pa, true); /* this program's code */
	alloc_walked(pa, 0x100000, a, 2);
	alloc_walked(pa, 0x200000, b, 2);
	peralloc__finish(pa, -1, 0, lost, 0);
	for (uint32_t i = 0; i < peralloc__nsites(pa); i++)
		live += peralloc__site(pa, i)->merged_into == PA_NIL;
	if (!by_address && live == 1)
		CHECK_U64(peralloc__site(pa, 0)->allocs, 2);
	peralloc__free(pa);
	return live;
}

TEST(stacks_that_read_the_same_are_one_site)
{
	struct symbolizer *s = self_symbolizer();
	uint64_t fn = (uint64_t)(uintptr_t)&unwind_probe_target;
	struct sym_info x, y;

	/* the premise: both addresses name the same function and line */
	symbolize__addr(s, fn + 2, true, &x);
	symbolize__addr(s, fn + 3, true, &y);
	CHECK(x.function && y.function && !strcmp(x.function, y.function));
	CHECK_U64(x.line, y.line);
	symbolize__free(s);
	CHECK_U64(sites_after(false), 1);
	CHECK_U64(sites_after(true), 2); /* --sites address */
}
