// SPDX-License-Identifier: GPL-2.0
/* The study's rules and plan on recorded numbers (user/study/rules.c, plan.c). */
#include <math.h>

#include "check.h"
#include "study/study.h"

/* A churn case as a traced run saw it: F frees of SIZE-byte blocks. */
static void churn(struct st_case *c, const char *order, size_t size, long n)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->workload, sizeof(c->workload), "churn");
	snprintf(c->order, sizeof(c->order), "%s", order);
	c->size = size;
	c->count = n;
	c->free_fn.calls = n;
	c->free_fn.sum = 1e6;
	c->untraced[PH_FREE].wall = 0.5;
	c->untraced[PH_FREE].user = 0.2;
	c->untraced[PH_FREE].sys = 0.2;
	c->untraced[PH_ALLOC].wall = 0.25;
}

TEST(every_free_a_munmap)
{
	struct st_case c;

	churn(&c, "fwd", 200000, 1000);
	c.free_kernel.munmap = 1000;
	c.free_kernel.munmap_bytes = 1000 * 204800LL;
	c.free_kernel.munmap_ns = 5e5;
	analyse_case(&c);
	CHECK_STR(c.mechanism, "one munmap per free");
	CHECK_STR(c.dominant, "munmap");
	CHECK_CONTAINS(c.verdict, "every free was a munmap: 1000 munmaps for 1000 frees");
	CHECK_CONTAINS(c.verdict, "above the mmap threshold");
	CHECK_DBL(c.kshare_untraced, 0.5, 1e-9);
	CHECK_DBL(c.kshare_traced, 0, 1e-9);
}

TEST(a_brk_shrink_per_page)
{
	struct st_case c;

	churn(&c, "rev", 1040, 100000);
	c.free_kernel.brk = 25773;
	c.free_kernel.brk_shrink_bytes = 25773LL * 4096;
	c.free_kernel.brk_ns = 1.7e8;
	c.free_kernel.syscall_ns = 1.7e8;
	c.free_fn.sum = 3.3e8;
	analyse_case(&c);
	CHECK_STR(c.mechanism, "one brk shrink per page");
	CHECK_STR(c.dominant, "brk");
	CHECK_CONTAINS(c.verdict, "25773 brk shrinks for 100000 frees");
	CHECK_DBL(c.kshare_traced, 1.7e8 / 3.3e8, 1e-9);
}

TEST(few_large_shrinks)
{
	struct st_case c;

	churn(&c, "fwd", 1040, 100000);
	c.free_kernel.brk = 3;
	c.free_kernel.brk_shrink_bytes = 100 << 20;
	analyse_case(&c);
	CHECK_STR(c.mechanism, "few large brk shrinks");
	CHECK_CONTAINS(c.verdict, "3 brk shrinks for 100000 frees released 100.0 MiB");
}

TEST(nothing_returned_for_fastbin_blocks)
{
	struct st_case c;

	churn(&c, "random", 64, 100000);
	c.untraced[PH_FREE].rss_before = 9000;
	c.untraced[PH_FREE].rss_after = 9000;
	analyse_case(&c);
	CHECK_STR(c.mechanism, "nothing returned");
	CHECK_STR(c.dominant, "none");
	CHECK_CONTAINS(c.verdict, "64-byte blocks are fastbin-sized");
	CHECK_CONTAINS(c.verdict, "resident size 9000 KiB before free, 9000 KiB after");
}

TEST(scaling_exponent)
{
	double x[] = {1e3, 1e4, 1e5, 1e6}, y2[4], y1[4], e;

	for (int i = 0; i < 4; i++) {
		y2[i] = 3e-9 * x[i] * x[i];
		y1[i] = 2e-7 * x[i];
	}
	CHECK(loglog_slope(x, y2, 4, &e));
	CHECK_DBL(e, 2, 1e-9);
	CHECK(loglog_slope(x, y1, 4, &e));
	CHECK_DBL(e, 1, 1e-9);
	CHECK(!loglog_slope(x, y1, 1, &e)); /* one point: no slope */
	CHECK_STR(growth_word(1.0), "linear");
	CHECK_STR(growth_word(2.0), "close to quadratic or worse");
	CHECK_STR(growth_word(0.3), "nearly constant");
	CHECK_STR(growth_word(1.3), "superlinear");
}

TEST(case_names_round_trip)
{
	struct st_case c;
	char n[32];

	CHECK(st_parse_case("churn-rev-1040-1e5", &c));
	CHECK_STR(c.workload, "churn");
	CHECK_STR(c.order, "rev");
	CHECK_U64(c.size, 1040);
	CHECK_U64(c.count, 100000);
	CHECK_STR(c.name, "churn-rev-1040-1e5");
	CHECK(st_parse_case("array-1040-1e6", &c));
	CHECK_STR(c.workload, "array");
	CHECK_U64(c.count, 1000000);
	CHECK(st_parse_case("churn-fwd-64K-1000", &c));
	CHECK_U64(c.size, 65536);
	CHECK_STR(c.name, "churn-fwd-65536-1e3");
	CHECK(!st_parse_case("churn-up-1040-1e5", &c));
	CHECK(!st_parse_case("churn-rev-1040-1.5", &c));
	CHECK(!st_parse_case("churn-rev-nan-1e3", &c));
	CHECK(!st_parse_case("array-1040", &c));
	CHECK(!st_parse_case("churn-rev-1040-1e5-x", &c));
	st_format_count(10000000, n, sizeof(n));
	CHECK_STR(n, "1e7");
	st_format_count(2500, n, sizeof(n));
	CHECK_STR(n, "2500");
}

TEST(tunables_in_glibc_names)
{
	char out[128];

	CHECK(st_tunable("M_TRIM_THRESHOLD=64M", out, sizeof(out)));
	CHECK_STR(out, "glibc.malloc.trim_threshold=67108864");
	CHECK(st_tunable("MALLOC_ARENA_MAX=2", out, sizeof(out)));
	CHECK_STR(out, "glibc.malloc.arena_max=2");
	CHECK(st_tunable("glibc.malloc.tcache_count=0", out, sizeof(out)));
	CHECK_STR(out, "glibc.malloc.tcache_count=0");
	CHECK(!st_tunable("M_TRIM_THRESHOLD=lots", out, sizeof(out)));
	CHECK(!st_tunable("M_BOGUS=1", out, sizeof(out)));
	CHECK(!st_tunable("M_TOP_PAD", out, sizeof(out)));
}

TEST(memory_a_case_needs)
{
	struct st_case c;

	CHECK(st_parse_case("churn-fwd-1040-1e6", &c));
	/* 1040 + 8 rounded to 16: 1056-byte chunks, plus 16 bytes of arrays per block */
	CHECK_DBL(st_case_bytes(&c), 1e6 * 1056 + 16e6, 0);
	CHECK(st_parse_case("churn-fwd-200000-1e3", &c));
	/* above the mmap threshold: whole pages with the header */
	CHECK_DBL(st_case_bytes(&c), 1e3 * 200704 + 16e3, 0);
	CHECK(st_parse_case("array-1040-1e3", &c));
	CHECK_DBL(st_case_bytes(&c), 1040e3 + 4096, 0);
}
