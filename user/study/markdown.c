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

static void md_case_table(FILE *f, struct st_case **cs, int n)
{
	char a[32], b[32], c1[32], d[32], e[32], g1[32], h[32], i1[32], nb[32];
	int i;

	fprintf(f, "| case | N | alloc | touch | free | free user / sys | free traced | malloc "
		   "p50 / p99 | free p50 / p99 / max | brk shrinks in free (MiB) | munmaps in "
		   "free | madvise | faults in free (major) | RSS before → after free (KiB) | "
		   "heap end change | dominant |\n"
		   "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
	for (i = 0; i < n; i++) {
		struct st_case *c = cs[i];
		const struct st_wl_phase *u = c->untraced;

		st_format_count(c->count, nb, sizeof(nb));
		if (!c->done) {
			fprintf(f, "| %s | %s | not run: %s |\n", c->name, nb, c->failed);
			continue;
		}
		fprintf(
		    f, "| %s | %s%s | %s | %s | %s | %s / %s | %s | %s / %s | ", c->name, nb,
		    c->reduced ? "*" : "", fmt_secs(a, sizeof(a), u[PH_ALLOC].wall),
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
	char date[64];
	time_t t = time(NULL);

	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", localtime(&t));
	fprintf(f, "Written by `%s` on %s.\n\n", s->o->cmdline, date);
	fprintf(f,
		"| machine | |\n|---|---|\n| kernel | %s %s |\n| glibc | %s |\n| CPUs | %ld |\n"
		"| MemAvailable at start | %.1f GiB |\n| swap | %s |\n| study took | %.0f s |\n"
		"| untraced runs per case | %d (the run with the median free time is kept) |\n\n",
		u.release, u.machine, gnu_get_libc_version(), sysconf(_SC_NPROCESSORS_ONLN),
		s->mem_available / (1 << 30),
		s->swap_total > 0 ? "configured" : "none (no major faults from swap-in possible)",
		elapsed, s->o->repeat);
}

static void md_method(FILE *f)
{
	fprintf(f,
		"## How to read this\n\n"
		"Each case ran twice. **Untraced**, `memstudy-workload` measured its own phases "
		"(wall time, user and sys time from getrusage, faults, resident size, heap end): "
		"these are the **times** in this report. **Traced** under `memstudy run`, the "
		"same workload showed the **mechanism**: per-call latency of malloc and free and "
		"the kernel work charged to free (brk shrinks and the bytes they released, "
		"munmaps, madvise, page faults). Tracing costs about 2 us per call (entry and "
		"return probe traps; see docs/performance.md), so traced times are inflated; the "
		"column *free traced* (the "
		"sum of free's latencies) shows by how much.\n\n"
		"The **scaling exponent** is the least-squares slope of log(free time) against "
		"log(N): 1 means free time grows like N (constant cost per free), 2 like N². "
		"Small N are dominated by fixed costs, so exponents from 1e3 up are lower bounds "
		"of the large-N behaviour. The **dominant kernel event** is the syscall that took "
		"most time in the free phase (traced). Verdicts are assembled by rules from the "
		"counts (one munmap per free; brk shrinks of at most two pages each; few large "
		"shrinks; nothing returned) - see `analyse_case` in `user/study/rules.c`.\n\n"
		"The untraced user/sys split comes from getrusage, which the kernel apportions "
		"from scheduler-tick samples: below a few tens of milliseconds of CPU it can read "
		"0 %% or 100 %%. The traced share (syscall time / time inside free, from "
		"timestamps) is exact but counts only syscalls, not page faults.\n\n");
}

static void md_groups(FILE *f, struct group *g, int ng)
{
	char a[32], b[32], n1[32], n2[32];
	int j;

	fprintf(f, "## Scaling of free time with N\n\n"
		   "| case | N range | free exponent (untraced) | growth | free exponent (traced) "
		   "| alloc exponent | mechanism at largest N | dominant kernel event | kernel "
		   "share of free (untraced / traced) |\n|---|---|--:|---|--:|--:|---|---|--:|\n");
	for (j = 0; j < ng; j++) {
		struct st_case *c = group_largest(&g[j]);

		st_format_count(g[j].c[0]->count, n1, sizeof(n1));
		st_format_count(c->count, n2, sizeof(n2));
		fprintf(f, "| %s | %s - %s | ", g[j].label, n1, n2);
		if (g[j].has_exp)
			fprintf(f, "%.2f | %s | ", g[j].exp_free, growth_word(g[j].exp_free));
		else
			fprintf(f, "- | (one point) | ");
		isnan(g[j].exp_traced) ? fprintf(f, "- | ")
				       : fprintf(f, "%.2f | ", g[j].exp_traced);
		isnan(g[j].exp_alloc) ? fprintf(f, "- | ") : fprintf(f, "%.2f | ", g[j].exp_alloc);
		fprintf(f, "%s | %s | %s / %s |\n", c->mechanism, c->dominant,
			fmt_pct(a, sizeof(a), c->kshare_untraced),
			fmt_pct(b, sizeof(b), c->kshare_traced));
	}
	fprintf(f, "\n");
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
		    "CPU time was in the kernel, while the traced median cost of one free "
		    "rose from %s (N=%s) to %s (N=%s); the frees walk chunk headers spread over a "
		    "larger heap, so caches and TLB miss more.",
		    n2, fmt_pct(a, sizeof(a), hi->kshare_untraced),
		    fmt_ns(b, sizeof(b), lo->free_fn.p50), n1,
		    fmt_ns(c, sizeof(c), hi->free_fn.p50), n2);
	else
		fprintf(f,
			" The extra growth is in the kernel: %s of the free phase's CPU time "
			"at N=%s.",
			fmt_pct(a, sizeof(a), hi->kshare_untraced), n2);
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
		if (g[j].has_exp)
			fprintf(f, "Free time grows as N^%.2f (%s) from N=%s to N=%s%s.",
				g[j].exp_free, growth_word(g[j].exp_free), n1, n2,
				g[j].n == 2 ? " (two points only)" : "");
		if (!isnan(g[j].exp_brk) && g[j].exp_brk > 0.5)
			fprintf(f, " The kernel calls inside free (brk + munmap) grow as N^%.2f.",
				g[j].exp_brk);
		md_group_why(f, &g[j]);
		fprintf(f, "\n\n");
		for (k = g[j].n - 1; k >= 0; k--)
			fprintf(f, "- **%s**: %s\n", g[j].c[k]->name, g[j].c[k]->verdict);
		fprintf(f, "\n");
	}
}

static void md_notes(FILE *f, struct group *g, int ng)
{
	double e_notes_churn, e_notes_arr;
	int j;

	loglog_slope(notes_n, notes_churn_free, 5, &e_notes_churn);
	loglog_slope(notes_n, notes_array_free, 5, &e_notes_arr);
	fprintf(f,
		"## Against the founding notes\n\n"
		"The notes' mem_test (1040-byte blocks, freed in allocation order) took "
		"0.0026 s, 0.025 s, 1.28 s, 118 s and 14,797 s to free at N = 1e3 ... 1e7: "
		"fitted the same way, an exponent of **%.2f**; mem_test_arr's single free: "
		"**%.2f**. Here:\n\n",
		e_notes_churn, e_notes_arr);
	for (j = 0; j < ng; j++)
		if (g[j].size == 1040 && g[j].has_exp)
			fprintf(f, "- %s: %.2f\n", g[j].label, g[j].exp_free);
	fprintf(f, "\n");
}

static void md_tunables(FILE *f, struct study *s)
{
	struct st_case *base = &s->cases[0];
	char a[32], b[32];
	int i;

	fprintf(f, "## %s: glibc defaults vs tunables\n\n", base->name);
	fprintf(
	    f,
	    "Each variant ran the same workload with GLIBC_TUNABLES set (shown), untraced "
	    "for times and traced for counts.\n\n"
	    "| variant | GLIBC_TUNABLES | alloc | free | free sys | brk shrinks in free "
	    "(MiB) | munmaps in free | madvise | alloc faults | RSS after free (KiB) | "
	    "heap end change | mechanism |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
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
		fprintf(f, "%s | %ld (%.1f) | %ld | %ld | %ld | %ld | %+.1f MiB | %s |\n",
			fmt_secs(a, sizeof(a), c->untraced[PH_FREE].sys), c->free_kernel.brk,
			c->free_kernel.brk_shrink_bytes / MiB, c->free_kernel.munmap,
			c->free_kernel.madvise, c->untraced[PH_ALLOC].minflt,
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
		md_notes(f, g, ng);
	}
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
		fprintf(f, "![%s](%s)\n\n", t, t);
	fprintf(f, "## Every run\n\nTimes untraced (median run); *free traced* is the sum of "
		   "free's traced latencies; counts traced.\n\n");
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
