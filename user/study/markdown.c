// SPDX-License-Identifier: GPL-2.0
/*
 * memstudy study: report.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <gnu/libc-version.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <json-c/json.h>

#include "lib/fmt.h"
#include "lib/util.h"
#include "study/study.h"

#define PAGE 4096.0
#define MiB  (1024.0 * 1024.0)

/* ---- report.md --------------------------------------------------------------------- */

/* The founding notes' own mem_test / mem_test_arr free times, to fit like ours. */
static const double notes_n[] = {1e3, 1e4, 1e5, 1e6, 1e7};
static const double notes_churn_free[] = {0.002626, 0.025406, 1.276450, 118.067533, 14796.629380};
static const double notes_array_free[] = {0.000125, 0.001055, 0.007477, 0.061360, 0.530337};
static const double notes_churn_alloc[] = {0.001283, 0.006924, 0.060725, 0.550875, 253.464095};
static const double notes_array_alloc[] = {0.001333, 0.007027, 0.062675, 0.561959, 372.078745};

static const char *const phase_names[PH_N] = {"alloc", "touch", "free"};

/* ---- wording by what a number rests on ---------------------------------------------- */

double st_sys_per_fault_us(const struct st_wl_phase *p)
{
	long faults = p->minflt + p->majflt;

	if (!p->present || faults <= 0)
		return -1;
	return p->sys * 1e6 / faults;
}

void st_fmt_per_fault(const struct st_wl_phase *p, char *buf, size_t len)
{
	double us = st_sys_per_fault_us(p);

	if (us < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.2f µs%s", us, p->sys < 0.05 ? " (coarse)" : "");
}

void st_fmt_exponent(double e, int pts, char *buf, size_t len)
{
	if (pts < 2 || isnan(e))
		snprintf(buf, len, "- (%s)", pts == 1 ? "one point" : "no points");
	else if (pts == 2)
		snprintf(buf, len, "%.2f (slope between two points, not a fit)", e);
	else
		snprintf(buf, len, "%.2f (fit on %d N)", e, pts);
}

void st_fmt_runs(int runs, char *buf, size_t len)
{
	if (runs <= 0)
		snprintf(buf, len, "no run");
	else if (runs == 1)
		snprintf(buf, len, "1 run, no median");
	else if (runs == 2)
		snprintf(buf, len, "2 runs, the slower kept (no median of two)");
	else if (runs % 2)
		snprintf(buf, len, "median of %d runs", runs);
	else
		snprintf(buf, len, "upper median of %d runs", runs);
}

/* The phase whose page faults are the first touches: alloc for churn, touch for array. */
static int fault_phase(const struct st_case *c)
{
	const struct st_wl_phase *u = c->untraced;

	if (u[PH_TOUCH].present &&
	    u[PH_TOUCH].minflt + u[PH_TOUCH].majflt > u[PH_ALLOC].minflt + u[PH_ALLOC].majflt)
		return PH_TOUCH;
	return PH_ALLOC;
}

static void md_case_table(FILE *f, struct st_case **cs, int n)
{
	char a[32], b[32], c1[32], d[32], e[32], g1[32], h[32], i1[32], nb[32], runs[64];
	int i;

	fprintf(f, "| case | N | untraced runs | alloc | touch | free | free user / sys | free "
		   "traced | malloc p50 / p99 | free p50 / p99 / max | brk shrinks in free (MiB) "
		   "| munmaps in free | madvise | faults in free (major) | RSS before → after free "
		   "(KiB) | heap end change | dominant |\n"
		   "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
	for (i = 0; i < n; i++) {
		struct st_case *c = cs[i];
		const struct st_wl_phase *u = c->untraced;

		st_format_count(c->count, nb, sizeof(nb));
		if (!c->done) {
			fprintf(f, "| %s | %s | not run: %s |\n", c->name, nb, c->failed);
			continue;
		}
		st_fmt_runs(c->repeats, runs, sizeof(runs));
		fprintf(
		    f, "| %s | %s%s | %s | %s | %s | %s | %s / %s | %s | %s / %s | ", c->name, nb,
		    c->reduced ? "*" : "", runs, fmt_secs(a, sizeof(a), u[PH_ALLOC].wall),
		    fmt_secs(b, sizeof(b), u[PH_TOUCH].present ? u[PH_TOUCH].wall : -1),
		    fmt_secs(c1, sizeof(c1), u[PH_FREE].wall),
		    fmt_secs(d, sizeof(d), u[PH_FREE].user), fmt_secs(e, sizeof(e), u[PH_FREE].sys),
		    fmt_ns(g1, sizeof(g1), c->free_fn.sum), fmt_ns(h, sizeof(h), c->malloc_fn.p50),
		    fmt_ns(i1, sizeof(i1), c->malloc_fn.p99));
		fprintf(f,
			"%s / %s / %s | %ld (%.1f) | %ld | %ld | %ld (%ld) | %ld → %ld | %+.1f MiB "
			"| %s |\n",
			fmt_ns(a, sizeof(a), c->free_fn.p50), fmt_ns(b, sizeof(b), c->free_fn.p99),
			fmt_ns(c1, sizeof(c1), c->free_fn.max), c->free_kernel.brk,
			c->free_kernel.brk_shrink_bytes / MiB, c->free_kernel.munmap,
			c->free_kernel.madvise, c->free_kernel.faults, c->free_kernel.major,
			u[PH_FREE].rss_before, u[PH_FREE].rss_after,
			((double)u[PH_FREE].brk_after - (double)u[PH_FREE].brk_before) / MiB,
			c->dominant);
	}
}

static void md_header(FILE *f, struct study *s, double elapsed)
{
	struct utsname u;
	char date[64], runs[64];
	time_t t = time(NULL);

	st_fmt_runs(s->o->repeat, runs, sizeof(runs));
	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", localtime(&t));
	fprintf(f, "Written by `%s` on %s.\n\n", s->o->cmdline, date);
	fprintf(f,
		"| machine | |\n|---|---|\n| kernel | %s %s |\n| glibc | %s |\n| CPUs | %ld |\n"
		"| MemAvailable at start | %.1f GiB |\n| swap | %s |\n| study took | %.0f s |\n"
		"| untraced runs per case | %s%s |\n\n",
		u.release, u.machine, gnu_get_libc_version(), sysconf(_SC_NPROCESSORS_ONLN),
		s->mem_available / (1 << 30),
		s->swap_total > 0 ? "configured" : "none (no major faults from swap-in possible)",
		elapsed, runs,
		s->o->repeat >= 3 ? " (the run with the median free time is kept whole)" : "");
}

static void md_method(FILE *f)
{
	fprintf(
	    f, "## How to read this\n\n"
	       "Each case ran twice. **Untraced**, `memstudy-workload` measured its own phases "
	       "(wall time, user and sys time from getrusage, faults, resident size, heap end): "
	       "these are the **times** in this report. **Traced** under `memstudy run`, the "
	       "same workload showed the **mechanism**: per-call latency of malloc and free and "
	       "the kernel work charged to free (brk shrinks and the bytes they released, "
	       "munmaps, madvise, page faults). Tracing costs about 2 us per call (entry and "
	       "return probe traps; see docs/performance.md), so traced times are inflated; the "
	       "column *free traced* (the "
	       "sum of free's latencies) shows by how much. A case's untraced time is the median "
	       "of its runs when it had three or more; with one run there is no median (column "
	       "*untraced runs*).\n\n"
	       "The **scaling exponent** is the least-squares slope of log(free time) against "
	       "log(N): 1 means free time grows like N (constant cost per free), 2 like N². "
	       "With three or more N it is a fit (\"fit on 4 N\"); with two it is only the slope "
	       "between two points, not a fit, and says nothing about curvature; with one there "
	       "is none. "
	       "Small N are dominated by fixed costs, so exponents from 1e3 up are lower bounds "
	       "of the large-N behaviour. The **dominant kernel event** is the syscall that took "
	       "most time in the free phase (traced). Verdicts are assembled by rules from the "
	       "counts (one munmap per free; brk shrinks of at most two pages each; few large "
	       "shrinks; nothing returned) - see `analyse_case` in `user/study/rules.c`.\n\n"
	       "**Two kernel shares, measured differently.** The *untraced* share is getrusage's "
	       "sys / (user + sys) of the free phase. The kernel measures the phase's CPU time "
	       "exactly but splits it into user and sys by scheduler-tick samples, so below a few "
	       "tens of milliseconds of CPU it can read 0 %% or 100 %%; it includes page-fault "
	       "time. The *traced* share is the time inside free's syscalls over the time inside "
	       "free, both from the tracer's timestamps (syscall tracepoints, uprobes): exact, but "
	       "it counts only syscalls, not page faults, and the probes' cost is in its "
	       "denominator. They are two different measures, not one quantity measured twice: "
	       "where the report shows both, it names each.\n\n"
	       "**Kernel time per page fault** of a phase is its getrusage sys time over its page "
	       "faults (minor + major), untraced. It is an upper bound of what one fault costs: "
	       "sys time also holds the phase's syscalls (the alloc phase's brk growth). Values "
	       "marked *(coarse)* rest on less than 50 ms of sys time, a handful of ticks.\n\n");
}

static void md_groups(FILE *f, struct group *g, int ng)
{
	char a[32], b[32], n1[32], n2[32], e1[80];
	int j, k;

	fprintf(f, "## Scaling of free time with N\n\n"
		   "| case | N range | free exponent (untraced) | growth | free exponent (traced) "
		   "| alloc exponent | mechanism at largest N | dominant kernel event | kernel "
		   "share of free CPU, untraced (getrusage ticks) | syscall share of time in free, "
		   "traced (tracepoints) | kernel time per first-touch fault, by N |\n"
		   "|---|---|--:|---|--:|--:|---|---|--:|--:|---|\n");
	for (j = 0; j < ng; j++) {
		struct st_case *c = group_largest(&g[j]);

		st_format_count(g[j].c[0]->count, n1, sizeof(n1));
		st_format_count(c->count, n2, sizeof(n2));
		fprintf(f, "| %s | %s - %s | ", g[j].label, n1, n2);
		st_fmt_exponent(g[j].exp_free, g[j].pts_free, e1, sizeof(e1));
		fprintf(f, "%s | %s | ", e1, g[j].has_exp ? growth_word(g[j].exp_free) : "-");
		st_fmt_exponent(g[j].exp_traced, g[j].pts_traced, e1, sizeof(e1));
		fprintf(f, "%s | ", e1);
		st_fmt_exponent(g[j].exp_alloc, g[j].pts_alloc, e1, sizeof(e1));
		fprintf(f, "%s | ", e1);
		fprintf(f, "%s | %s | %s | %s | ", c->mechanism, c->dominant,
			fmt_pct(a, sizeof(a), c->kshare_untraced),
			fmt_pct(b, sizeof(b), c->kshare_traced));
		for (k = 0; k < g[j].n; k++) {
			struct st_case *ck = g[j].c[k];

			st_format_count(ck->count, n1, sizeof(n1));
			st_fmt_per_fault(&ck->untraced[fault_phase(c)], e1, sizeof(e1));
			fprintf(f, "%s%s: %s", k ? ", " : "", n1, e1);
		}
		fprintf(f, " (%s) |\n", phase_names[fault_phase(c)]);
	}
	fprintf(f,
		"\nThe two kernel-share columns are different measures (see *How to read this*): "
		"the untraced one is getrusage's tick-based user/sys split of the free phase and "
		"includes fault time; the traced one is syscall time inside free over time inside "
		"free from the tracepoints' timestamps, without fault time. Read each on its own, "
		"not as a pair.\n\n");
}

/* Why a group's exponent is what it is: rules on the first and last case. */
static void md_group_why(FILE *f, struct group *g)
{
	struct st_case *lo = g->c[0], *hi = group_largest(g);
	char a[32], b[32], c[32], n1[32], n2[32];
	int k;

	st_format_count(lo->count, n1, sizeof(n1));
	st_format_count(hi->count, n2, sizeof(n2));
	for (k = 1; k < g->n; k++)
		if (strcmp(g->c[k]->mechanism, g->c[k - 1]->mechanism)) {
			fprintf(f,
				" The mechanism changes with N (%s at N=%s, %s at N=%s), so the "
				"exponent mixes two regimes.",
				lo->mechanism, n1, hi->mechanism, n2);
			return;
		}
	if (!g->has_exp || g->exp_free < 1.15 || g->n < 2)
		return;
	if (hi->kshare_untraced >= 0 && hi->kshare_untraced < 0.5)
		fprintf(
		    f,
		    " The extra growth is in user space: at N=%s only %s of the free phase's "
		    "CPU time was in the kernel (getrusage's tick-based split), while the traced "
		    "median cost of one free rose from %s (N=%s) to %s (N=%s); the frees walk "
		    "chunk "
		    "headers spread over a larger heap, so caches and TLB miss more.",
		    n2, fmt_pct(a, sizeof(a), hi->kshare_untraced),
		    fmt_ns(b, sizeof(b), lo->free_fn.p50), n1,
		    fmt_ns(c, sizeof(c), hi->free_fn.p50), n2);
	else
		fprintf(f,
			" The extra growth is in the kernel: %s of the free phase's CPU time "
			"at N=%s (getrusage's tick-based split).",
			fmt_pct(a, sizeof(a), hi->kshare_untraced), n2);
}

/*
 * First-touch faults: the kernel time per fault of the phase that takes them, at every N,
 * and whether it grew between the two largest N (a rule on the numbers, not prose).
 */
static void md_group_faults(FILE *f, struct group *g)
{
	struct st_case *hi = group_largest(g), *prev = g->n > 1 ? g->c[g->n - 2] : NULL;
	int ph = fault_phase(hi), k;
	double a, b;
	char e1[64], n1[32], n2[32];

	if (st_sys_per_fault_us(&hi->untraced[ph]) < 0)
		return;
	fprintf(f,
		" First-touch page faults (%s phase; kernel time per fault = getrusage sys / "
		"faults):",
		phase_names[ph]);
	for (k = 0; k < g->n; k++) {
		st_format_count(g->c[k]->count, n1, sizeof(n1));
		st_fmt_per_fault(&g->c[k]->untraced[ph], e1, sizeof(e1));
		fprintf(f, "%s %s at N=%s (%ld faults", k ? "," : "", e1, n1,
			g->c[k]->untraced[ph].minflt + g->c[k]->untraced[ph].majflt);
		if (g->c[k]->repeats > 1 && g->c[k]->per_fault_min[ph] >= 0)
			fprintf(f, "; %.2f–%.2f µs over %d runs", g->c[k]->per_fault_min[ph],
				g->c[k]->per_fault_max[ph], g->c[k]->repeats);
		fprintf(f, ")");
	}
	if (!prev)
		goto out;
	a = st_sys_per_fault_us(&prev->untraced[ph]);
	b = st_sys_per_fault_us(&hi->untraced[ph]);
	st_format_count(prev->count, n1, sizeof(n1));
	st_format_count(hi->count, n2, sizeof(n2));
	if (a <= 0 || prev->untraced[ph].sys < 0.05 || hi->untraced[ph].sys < 0.05)
		fprintf(f, "; too little sys time to compare N=%s with N=%s", n1, n2);
	else if (b / a >= 1.5)
		fprintf(f, ": each fault cost %.1fx as much at N=%s as at N=%s", b / a, n2, n1);
	else if (b / a <= 1 / 1.5)
		fprintf(f, ": each fault cost %.1fx less at N=%s than at N=%s", a / b, n2, n1);
	else
		fprintf(f, ": about the same cost per fault at N=%s as at N=%s (within 1.5x)", n2,
			n1);
	if (a > 0 && (b / a >= 1.5 || b / a <= 1 / 1.5) && prev->repeats > 1 && hi->repeats > 1 &&
	    prev->per_fault_min[ph] >= 0 && hi->per_fault_min[ph] >= 0) {
		if (hi->per_fault_min[ph] > prev->per_fault_max[ph] ||
		    hi->per_fault_max[ph] < prev->per_fault_min[ph])
			fprintf(f, " (in every run)");
		else
			fprintf(f, " (in the kept runs; the runs' ranges overlap: within this "
				   "machine's run-to-run noise)");
	}
out:
	if (g->has_exp && g->pts_alloc >= 2)
		fprintf(f, ", while free time grew as N^%.2f (%s) and the alloc phase as N^%.2f",
			g->exp_free, growth_word(g->exp_free), g->exp_alloc);
	fprintf(f, ".");
}

static void md_verdicts(FILE *f, struct group *g, int ng)
{
	char n1[32], n2[32];
	int j, k;

	fprintf(f, "## Verdicts\n\nOne per case (order and size), at its largest N, then every "
		   "N. Numbers are the traced counts (raw/NAME.memstudy.json) and untraced times "
		   "(raw/NAME.untraced-R.json).\n\n");
	for (j = 0; j < ng; j++) {
		struct st_case *c = group_largest(&g[j]);

		st_format_count(g[j].c[0]->count, n1, sizeof(n1));
		st_format_count(c->count, n2, sizeof(n2));
		fprintf(f, "### %s\n\n", g[j].label);
		if (g[j].pts_free == 2)
			fprintf(f,
				"Between N=%s and N=%s free time grows as N^%.2f (%s): the slope "
				"between two points, not a fit.",
				n1, n2, g[j].exp_free, growth_word(g[j].exp_free));
		else if (g[j].has_exp)
			fprintf(f,
				"Free time grows as N^%.2f (%s) from N=%s to N=%s, a least-squares "
				"fit on %d N.",
				g[j].exp_free, growth_word(g[j].exp_free), n1, n2, g[j].pts_free);
		if (!isnan(g[j].exp_brk) && g[j].exp_brk > 0.5)
			fprintf(f, " The kernel calls inside free (brk + munmap) grow as N^%.2f%s.",
				g[j].exp_brk,
				g[j].pts_brk == 2 ? " (slope between two points, not a fit)" : "");
		md_group_why(f, &g[j]);
		md_group_faults(f, &g[j]);
		fprintf(f, "\n\n");
		for (k = g[j].n - 1; k >= 0; k--)
			fprintf(f, "- **%s**: %s\n", g[j].c[k]->name, g[j].c[k]->verdict);
		fprintf(f, "\n");
	}
}

/* Every case's kernel time per page fault, phase by phase. */
static void md_faults(FILE *f, struct study *s)
{
	char nb[32], a[32], pf[64];
	int i, p;

	fprintf(f, "## Kernel time per page fault, by phase\n\n"
		   "Untraced (the kept run): each phase's page faults, its getrusage sys time, and "
		   "sys time per fault, with the lowest and highest per-fault time over all of the "
		   "case's untraced runs where it had more than one. The sys time also holds the "
		   "phase's syscalls, so this is an upper bound of a fault's cost; *(coarse)*: "
		   "under 50 ms of sys time.\n\n"
		   "| case | N | alloc faults | alloc sys | alloc sys / fault | touch faults | "
		   "touch sys | touch sys / fault | free faults | free sys | free sys / fault |\n"
		   "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
	for (i = 0; i < s->ncases; i++) {
		struct st_case *c = &s->cases[i];

		if (!c->done)
			continue;
		st_format_count(c->count, nb, sizeof(nb));
		fprintf(f, "| %s%s%s | %s |", c->name, strcmp(c->variant, "default") ? " " : "",
			strcmp(c->variant, "default") ? c->variant : "", nb);
		for (p = 0; p < PH_N; p++) {
			const struct st_wl_phase *u = &c->untraced[p];

			if (!u->present) {
				fprintf(f, " - | - | - |");
				continue;
			}
			st_fmt_per_fault(u, pf, sizeof(pf));
			fprintf(f, " %ld | %s | %s", u->minflt + u->majflt,
				fmt_secs(a, sizeof(a), u->sys), pf);
			if (c->repeats > 1 && c->per_fault_min[p] >= 0)
				fprintf(f, " (runs: %.2f–%.2f)", c->per_fault_min[p],
					c->per_fault_max[p]);
			fprintf(f, " |");
		}
		fprintf(f, "\n");
	}
	fprintf(f, "\n");
}

/* The notes' own number at N, or -1. */
static double notes_at(const double *v, long n)
{
	for (size_t i = 0; i < ARRAY_SIZE(notes_n); i++)
		if (notes_n[i] == (double)n)
			return v[i];
	return -1;
}

static void md_notes(FILE *f, struct study *s, struct group *g, int ng)
{
	double e_notes_churn, e_notes_arr;
	char a[32], b[32], c1[32], d[32], e1[80], nb[32];
	bool any = false;
	int j, i;

	loglog_slope(notes_n, notes_churn_free, 5, &e_notes_churn);
	loglog_slope(notes_n, notes_array_free, 5, &e_notes_arr);
	fprintf(f,
		"## Against the founding notes\n\n"
		"The notes' mem_test (1040-byte blocks, freed in an order the notes do not give) "
		"took 0.0026 s, 0.025 s, 1.28 s, 118 s and 14,797 s to free at N = 1e3 ... 1e7: "
		"fitted the same way (a least-squares fit on 5 N), an exponent of **%.2f**; "
		"mem_test_arr's single free: **%.2f**. Here:\n\n",
		e_notes_churn, e_notes_arr);
	for (j = 0; j < ng; j++)
		if (g[j].size == 1040 && g[j].has_exp) {
			st_fmt_exponent(g[j].exp_free, g[j].pts_free, e1, sizeof(e1));
			fprintf(f, "- %s: %s\n", g[j].label, e1);
		}
	fprintf(f, "\n");
	/* side by side at the N both have: the notes' alloc wrote the blocks too */
	for (i = 0; i < s->ncases; i++) {
		struct st_case *c = &s->cases[i];
		bool arr = !strcmp(c->workload, "array");
		const struct st_wl_phase *u = c->untraced;
		double nf = notes_at(arr ? notes_array_free : notes_churn_free, c->count);
		double na = notes_at(arr ? notes_array_alloc : notes_churn_alloc, c->count);

		if (!c->done || c->size != 1040 || strcmp(c->variant, "default") || nf < 0)
			continue;
		if (!any)
			fprintf(f, "| N | here | alloc + touch | free | the notes' | alloc (with "
				   "writing) | free |\n|--:|---|--:|--:|---|--:|--:|\n");
		any = true;
		st_format_count(c->count, nb, sizeof(nb));
		fprintf(f, "| %s | %s | %s | %s | %s | %s | %s |\n", nb, c->name,
			fmt_secs(a, sizeof(a),
				 u[PH_ALLOC].wall + (u[PH_TOUCH].present ? u[PH_TOUCH].wall : 0)),
			fmt_secs(b, sizeof(b), u[PH_FREE].wall), arr ? "mem_test_arr" : "mem_test",
			fmt_secs(c1, sizeof(c1), na), fmt_secs(d, sizeof(d), nf));
	}
	if (any)
		fprintf(f, "\nHere: untraced, this machine; the notes: their machine (its "
			   "resident peak at N=1e7, 6925628 KiB for 10.4 GB, shows it was "
			   "swapping).\n\n");
}

static void md_tunables(FILE *f, struct study *s)
{
	struct st_case *base = &s->cases[0];
	char a[32], b[32], pf[64];
	int i;

	fprintf(f, "## %s: glibc defaults vs tunables\n\n", base->name);
	fprintf(f,
		"Each variant ran the same workload with GLIBC_TUNABLES set (shown), untraced "
		"for times and traced for counts.\n\n"
		"| variant | GLIBC_TUNABLES | alloc | free | free sys | brk shrinks in free "
		"(MiB) | munmaps in free | madvise | alloc faults | alloc sys / fault | RSS after "
		"free (KiB) | heap end change | mechanism |\n"
		"|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
	for (i = 0; i < s->ncases; i++) {
		struct st_case *c = &s->cases[i];

		if (!c->done) {
			fprintf(f, "| %s | %s | not run: %s |\n", c->variant, c->tunables,
				c->failed);
			continue;
		}
		fprintf(f, "| %s | %s%s%s | %s | %s | ", c->variant, c->tunables[0] ? "`" : "",
			c->tunables[0] ? c->tunables : "(none)", c->tunables[0] ? "`" : "",
			fmt_secs(a, sizeof(a), c->untraced[PH_ALLOC].wall),
			fmt_secs(b, sizeof(b), c->untraced[PH_FREE].wall));
		st_fmt_per_fault(&c->untraced[PH_ALLOC], pf, sizeof(pf));
		fprintf(f, "%s | %ld (%.1f) | %ld | %ld | %ld | %s | %ld | %+.1f MiB | %s |\n",
			fmt_secs(a, sizeof(a), c->untraced[PH_FREE].sys), c->free_kernel.brk,
			c->free_kernel.brk_shrink_bytes / MiB, c->free_kernel.munmap,
			c->free_kernel.madvise, c->untraced[PH_ALLOC].minflt, pf,
			c->untraced[PH_FREE].rss_after,
			((double)c->untraced[PH_FREE].brk_after -
			 (double)c->untraced[PH_FREE].brk_before) /
			    MiB,
			c->mechanism);
	}
	fprintf(f, "\n### What changed\n\n");
	for (i = 1; i < s->ncases; i++) {
		struct st_case *c = &s->cases[i];
		double r;

		if (!c->done || !base->done)
			continue;
		fprintf(f, "- **%s**:", c->variant);
		if (strcmp(c->mechanism, base->mechanism))
			fprintf(f, " mechanism %s → %s;", base->mechanism, c->mechanism);
		if (c->free_kernel.brk != base->free_kernel.brk)
			fprintf(f, " brk shrinks in free %ld → %ld;", base->free_kernel.brk,
				c->free_kernel.brk);
		if (c->free_kernel.munmap != base->free_kernel.munmap)
			fprintf(f, " munmaps in free %ld → %ld;", base->free_kernel.munmap,
				c->free_kernel.munmap);
		if (c->free_kernel.madvise != base->free_kernel.madvise)
			fprintf(f, " madvise in free %ld → %ld;", base->free_kernel.madvise,
				c->free_kernel.madvise);
		if (labs(c->untraced[PH_ALLOC].minflt - base->untraced[PH_ALLOC].minflt) >
		    base->untraced[PH_ALLOC].minflt / 10)
			fprintf(f, " alloc faults %ld → %ld;", base->untraced[PH_ALLOC].minflt,
				c->untraced[PH_ALLOC].minflt);
		if (labs(c->untraced[PH_FREE].rss_after - base->untraced[PH_FREE].rss_after) > 256)
			fprintf(f, " resident after free %ld → %ld KiB;",
				base->untraced[PH_FREE].rss_after, c->untraced[PH_FREE].rss_after);
		r = base->untraced[PH_FREE].wall > 0
			? c->untraced[PH_FREE].wall / base->untraced[PH_FREE].wall
			: 0;
		fprintf(f, " free time %s → %s (x%.2f%s).\n",
			fmt_secs(a, sizeof(a), base->untraced[PH_FREE].wall),
			fmt_secs(b, sizeof(b), c->untraced[PH_FREE].wall), r,
			r > 0.8 && r < 1.25 ? ", within run-to-run noise" : "");
		fprintf(f, "  Verdict: %s\n", c->verdict);
	}
	fprintf(f, "\nThe default run's verdict: %s\n\n", base->verdict);
}

/* What each figure shows and how its numbers were measured. */
static const char *figure_caption(const char *png)
{
	static const struct {
		const char *png, *text;
	} cap[] = {
	    {"free-vs-n.png",
	     "Free phase time against N. Solid: untraced (real) time; dashed: the same phase "
	     "traced, as the sum of free's latencies (inflated by the probes). The legend gives "
	     "each exponent with the number of N it rests on: a fit, or with two N the slope "
	     "between two points."},
	    {"alloc-vs-free.png", "Alloc phase (dashed) against free phase (solid), untraced."},
	    {"kernel-in-free.png",
	     "Kernel calls inside free per 1000 frees at the largest N of each case, traced; no "
	     "bar: none."},
	    {"kernel-share.png",
	     "Two different measures, not one quantity twice. Orange, untraced: getrusage's "
	     "sys / (user + sys) of the free phase, split by scheduler ticks (coarse below "
	     "~50 ms of CPU), fault time included. Grey, traced: time in syscalls inside free "
	     "over time inside free, from the tracepoints' and uprobes' timestamps, fault time "
	     "not included and the probes' cost in the denominator."},
	    {"fault-cost.png",
	     "Kernel time per first-touch page fault (getrusage sys / faults of the alloc phase "
	     "for churn, the touch phase for array), untraced; an upper bound, the phase's "
	     "syscalls are in its sys time."},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cap); i++)
		if (!strcmp(png, cap[i].png))
			return cap[i].text;
	return "";
}

void write_report(struct study *s, struct group *g, int ng, const char *plots, const char *plot_err,
		  double elapsed, int failed)
{
	FILE *f = open_out(s, "report.md");
	struct st_case *cs[ST_MAX_CASES];
	char p[256], *save = NULL, *t;
	int i, n = 0;

	if (!f)
		return;
	fprintf(f, "# memstudy study%s\n\n", s->o->one_case ? ": one case and its tunables" : "");
	md_header(f, s, elapsed);
	if (st_interrupted)
		fprintf(f, "**Interrupted**: only the cases that finished are reported.\n\n");
	if (failed)
		fprintf(f, "**%d case(s) failed**: see the tables and raw/NAME.log.\n\n", failed);
	md_method(f);
	if (s->o->one_case) {
		md_tunables(f, s);
	} else {
		md_groups(f, g, ng);
		md_verdicts(f, g, ng);
	}
	md_faults(f, s);
	if (!s->o->one_case)
		md_notes(f, s, g, ng);
	if (s->skipped[0] || s->reduced[0])
		fprintf(f, "## Left out or reduced\n\n%s%s%s\n", s->skipped, s->reduced,
			s->reduced[0] ? "(N marked * in the tables is below --min for that "
					"reason.)\n"
				      : "");
	fprintf(f, "## Figures\n\n");
	if (plot_err && *plot_err)
		fprintf(f,
			"No figures: %s. The data are in plots/*.dat and the script in "
			"plots.gp.\n\n",
			plot_err);
	snprintf(p, sizeof(p), "%s", plots);
	for (t = strtok_r(p, " ", &save); t && !(plot_err && *plot_err);
	     t = strtok_r(NULL, " ", &save))
		fprintf(f, "![%s](%s)\n\n%s%s%s", t, t, figure_caption(t)[0] ? "*" : "",
			figure_caption(t), figure_caption(t)[0] ? "*\n\n" : "");
	fprintf(f, "## Every run\n\nTimes untraced (the kept run: see *untraced runs*); *free "
		   "traced* is the sum of free's traced latencies; counts traced.\n\n");
	for (i = 0; i < s->ncases; i++)
		cs[n++] = &s->cases[i];
	md_case_table(f, cs, n);
	fprintf(f,
		"\n## Files\n\n- `cases.csv`: every number above, one row per case\n"
		"- `raw/NAME.memstudy.json`: memstudy run's JSON (traced)\n"
		"- `raw/NAME.traced-workload.json`: the workload's own JSON while traced\n"
		"- `raw/NAME.untraced-R.json`: the workload's JSON, untraced run R\n"
		"- `raw/NAME.log`: stderr of the runs\n"
		"- `plan.json`: the plan; `memstudy study --from DIR` redoes the analysis\n"
		"- `plots.gp`, `plots/*.dat`: re-draw the figures with `gnuplot plots.gp` here\n\n"
		"Repeat one case by hand:\n\n```\n");
	if (s->ncases) {
		struct st_case *c = &s->cases[s->ncases - 1];

		fprintf(f,
			"memstudy-workload %s --count %ld --size %zu%s%s --json\n"
			"sudo memstudy run --json out.json -- memstudy-workload %s --count %ld "
			"--size %zu%s%s --json\n",
			c->workload, c->count, c->size, c->order[0] ? " --order " : "", c->order,
			c->workload, c->count, c->size, c->order[0] ? " --order " : "", c->order);
	}
	fprintf(f, "```\n");
	close_out(s, f, "report.md");
}
