// SPDX-License-Identifier: GPL-2.0
/* The study's rules, plan and wording on recorded numbers (user/study/). */
#include <ftw.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "lib/outfile.h"
#include "lib/util.h"
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

TEST(exponent_worded_by_its_points)
{
	char b[96];

	st_fmt_exponent(1.0234, 4, b, sizeof(b));
	CHECK_STR(b, "1.02 (fit on 4 N)");
	st_fmt_exponent(0.98, 2, b, sizeof(b));
	CHECK_STR(b, "0.98 (slope between two points, not a fit)");
	st_fmt_exponent(NAN, 1, b, sizeof(b));
	CHECK_STR(b, "- (one point)");
	st_fmt_exponent(NAN, 0, b, sizeof(b));
	CHECK_STR(b, "- (no points)");
	st_plot_exponent(1.5, 3, b, sizeof(b));
	CHECK_STR(b, "N^{1.50}, fit on 3 N");
	st_plot_exponent(1.5, 2, b, sizeof(b));
	CHECK_STR(b, "slope 1.50 between 2 N, not a fit");
}

TEST(fit_counts_the_points_it_used)
{
	double x[] = {1e3, 1e4, 1e5, 1e6}, y[] = {0, 1e-2, 1e-1, 1}, e;

	/* a zero time (below the clock) is left out: three points remain */
	CHECK_U64(loglog_fit(x, y, 4, &e), 3);
	CHECK_DBL(e, 1, 1e-9);
	CHECK_U64(loglog_fit(x + 2, y + 2, 2, &e), 2);
	CHECK_U64(loglog_fit(x, y, 2, &e), 0);
}

TEST(runs_worded_by_their_number)
{
	char b[96];

	st_fmt_runs(1, b, sizeof(b));
	CHECK_STR(b, "1 run, no median");
	st_fmt_runs(2, b, sizeof(b));
	CHECK_CONTAINS(b, "no median of two");
	st_fmt_runs(3, b, sizeof(b));
	CHECK_STR(b, "median of 3 runs");
	st_fmt_runs(4, b, sizeof(b));
	CHECK_STR(b, "upper median of 4 runs");
}

TEST(kernel_time_per_fault)
{
	struct st_wl_phase p = {.present = true, .sys = 25.8, .minflt = 2580000};
	char b[64];

	/* the alloc phase of 1e7 x 1040 B: 2.58M first-touch faults */
	CHECK_DBL(st_sys_per_fault_us(&p), 10, 1e-9);
	st_fmt_per_fault(&p, b, sizeof(b));
	CHECK_STR(b, "10.00 µs");
	p.sys = 0.004;
	p.minflt = 250;
	p.majflt = 750;
	CHECK_DBL(st_sys_per_fault_us(&p), 4, 1e-9);
	st_fmt_per_fault(&p, b, sizeof(b));
	CHECK_STR(b, "4.00 µs (coarse)"); /* one tick of sys time */
	p.minflt = p.majflt = 0;
	CHECK(st_sys_per_fault_us(&p) < 0);
	st_fmt_per_fault(&p, b, sizeof(b));
	CHECK_STR(b, "-");
}

TEST(verdict_says_how_each_share_was_measured)
{
	struct st_case c;

	churn(&c, "rev", 1040, 100000);
	c.repeats = 1;
	c.free_kernel.brk = 25773;
	c.free_kernel.brk_shrink_bytes = 25773LL * 4096;
	c.free_kernel.brk_ns = 1.7e8;
	c.free_kernel.syscall_ns = 1.7e8;
	analyse_case(&c);
	CHECK_CONTAINS(c.verdict, "Untraced (1 run, no median), the free phase took");
	CHECK_CONTAINS(c.verdict, "in the kernel by getrusage's tick-based user/sys split");
	CHECK_CONTAINS(c.verdict, "of the time inside free by the tracepoints' timestamps");
	c.repeats = 3;
	analyse_case(&c);
	CHECK_CONTAINS(c.verdict, "Untraced (median of 3 runs)");

	/* one free (array): no "median" of a single call */
	memset(&c, 0, sizeof(c));
	snprintf(c.workload, sizeof(c.workload), "array");
	c.size = 1040;
	c.count = 1000000;
	c.free_fn.calls = 1;
	c.free_fn.p50 = c.free_fn.p99 = c.free_fn.max = c.free_fn.sum = 6.1e7;
	c.free_kernel.munmap = 1;
	analyse_case(&c);
	CHECK_CONTAINS(c.verdict, "Traced, the one free took 61.0 ms");
	CHECK(!strstr(c.verdict, "median"));
}

/* A study of one group at N = 1e6 and 1e7 (two points, one run each), as recorded. */
static struct study fake;
static struct st_opts fake_o;

static void fake_case(struct st_case *c, long n, double alloc_sys, long faults, double free_s)
{
	churn(c, "rev", 1040, n);
	snprintf(c->name, sizeof(c->name), "churn-rev-1040-1e%d", n == 1000000 ? 6 : 7);
	snprintf(c->variant, sizeof(c->variant), "default");
	c->done = true;
	c->repeats = 1;
	c->untraced[PH_ALLOC].present = c->untraced[PH_TOUCH].present = true;
	c->untraced[PH_FREE].present = true;
	c->untraced[PH_ALLOC].wall = alloc_sys * 1.1;
	c->untraced[PH_ALLOC].sys = alloc_sys;
	c->untraced[PH_ALLOC].minflt = faults;
	c->untraced[PH_FREE].wall = free_s;
	c->untraced[PH_FREE].user = free_s * 0.1;
	c->untraced[PH_FREE].sys = free_s * 0.9;
	c->free_kernel.brk = n / 4;
	c->free_kernel.brk_shrink_bytes = n / 4 * 4096LL;
	c->free_kernel.brk_ns = c->free_kernel.syscall_ns = free_s * 1e9;
	c->free_fn.sum = 2 * free_s * 1e9;
	analyse_case(c);
}

static char *slurp(const char *dir, const char *name)
{
	static char buf[1 << 17];
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return read_file(path, buf, sizeof(buf)) > 0 ? buf : NULL;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

TEST(report_words_runs_points_shares_and_fault_cost)
{
	static struct group g[4];
	char dir[] = "/tmp/memstudy-unit-study-XXXXXX", made[256], *t;
	int ng;

	CHECK(mkdtemp(dir));
	memset(&fake, 0, sizeof(fake));
	memset(&fake_o, 0, sizeof(fake_o));
	fake.o = &fake_o;
	fake_o.repeat = 1;
	snprintf(fake_o.cmdline, sizeof(fake_o.cmdline), "memstudy study --repeat 1");
	snprintf(fake.dir, sizeof(fake.dir), "%s", dir);
	fake.dirfd = out_dir_open(dir);
	fake.rawfd = out_subdir_open(fake.dirfd, "raw", "raw");
	fake.plotsfd = out_subdir_open(fake.dirfd, "plots", "plots");
	CHECK(fake.plotsfd >= 0);
	/* measured here: 4.3 us a first-touch fault at 1e6, 10 us at 1e7; free linear */
	fake_case(&fake.cases[0], 1000000, 1.1, 258000, 1.2);
	fake_case(&fake.cases[1], 10000000, 25.8, 2580000, 12);
	fake.ncases = 2;
	ng = build_groups(&fake, g, 4);
	CHECK_U64(ng, 1);
	CHECK_U64(g[0].pts_free, 2);
	write_csv(&fake);
	write_plots(&fake, g, ng, made, sizeof(made));
	write_report(&fake, g, ng, made, "", 1, 0);
	CHECK(!fake.write_failed);

	t = slurp(dir, "report.md");
	CHECK(t);
	CHECK_CONTAINS(t, "| untraced runs per case | 1 run, no median |");
	CHECK_CONTAINS(t, "| churn-rev-1040-1e7 | 1e7 | 1 run, no median |");
	CHECK_CONTAINS(t, "1.00 (slope between two points, not a fit)");
	CHECK_CONTAINS(t, "Between N=1e6 and N=1e7 free time grows as N^1.00 (linear): the slope "
			  "between two points, not a fit.");
	CHECK(!strstr(t, "(fit on 2 N)"));
	/* the shares, each named; never a bare "untraced / traced" pair */
	CHECK_CONTAINS(t, "kernel share of free CPU, untraced (getrusage ticks)");
	CHECK_CONTAINS(t, "syscall share of time in free, traced (tracepoints)");
	CHECK(!strstr(t, "(untraced / traced)"));
	CHECK_CONTAINS(t, "*Two different measures, not one quantity twice.");
	/* the fault cost, per phase and as a rule on the two largest N */
	CHECK_CONTAINS(t, "## Kernel time per page fault, by phase");
	CHECK_CONTAINS(t, "| churn-rev-1040-1e7 | 1e7 | 2580000 | 25.80 s | 10.00 µs |");
	CHECK_CONTAINS(t, "4.26 µs at N=1e6 (258000 faults), 10.00 µs at N=1e7 (2580000 faults)");
	CHECK_CONTAINS(t, "each fault cost 2.3x as much at N=1e7 as at N=1e6, while free time "
			  "grew as N^1.00 (linear)");
	/* the notes' 1e7 row beside ours */
	CHECK_CONTAINS(t, "| 1e7 | churn-rev-1040-1e7 |");
	CHECK_CONTAINS(t, "| mem_test | 253.46 s | 14796.63 s |");

	t = slurp(dir, "plots.gp");
	CHECK(t);
	CHECK_CONTAINS(t, "untraced from getrusage's tick-based user/sys split, traced from the "
			  "tracepoints");
	CHECK_CONTAINS(t, "t 'untraced, getrusage: sys / (user+sys)");
	CHECK_CONTAINS(t, "t 'traced, tracepoints: syscall time inside free");
	CHECK_CONTAINS(t, "churn rev 1040 B: slope 1.00 between 2 N, not a fit");
	CHECK_CONTAINS(t, "set output 'fault-cost.png'");

	t = slurp(dir, "cases.csv");
	CHECK(t);
	CHECK_CONTAINS(t, ",alloc_us_per_fault,touch_us_per_fault,free_us_per_fault\n");
	CHECK_CONTAINS(t, ",10.0000,,\n"); /* touch and free took no fault */
	close(fake.plotsfd);
	close(fake.rawfd);
	close(fake.dirfd);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}
