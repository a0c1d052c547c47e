// SPDX-License-Identifier: GPL-2.0
/*
 * memstudy study: the rules that turn a case's numbers into its mechanism and verdict, and
 * the scaling exponents of each group of cases.
 *
 * Every verdict is assembled from rules on the measured numbers (analyse_case):
 * nothing in the report is prose written for a particular case.
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

/* ---- analysis ---------------------------------------------------------------------- */

/* The rules: which mechanism the counts show, and the sentence that says so. */
void analyse_case(struct st_case *c)
{
	const struct st_free_kernel *k = &c->free_kernel;
	const struct st_wl_phase *uf = &c->untraced[PH_FREE], *ua = &c->untraced[PH_ALLOC];
	long F = c->free_fn.calls;
	double freed = (double)c->count * c->size, cpu = uf->user + uf->sys;
	char a[32], b[32], d[32], e[32], *v = c->verdict;
	size_t vl = sizeof(c->verdict);
	struct {
		const char *name;
		double ns;
	} ev[] = {{"brk", k->brk_ns},	      {"munmap", k->munmap_ns},
		  {"madvise", k->madvise_ns}, {"mprotect", k->mprotect_ns},
		  {"mmap", k->mmap_ns},	      {"mremap", k->mremap_ns}};
	size_t i, top = 0;

	c->kshare_untraced = cpu > 0 ? uf->sys / cpu : -1;
	c->kshare_traced = c->free_fn.sum > 0 ? k->syscall_ns / c->free_fn.sum : -1;
	if (c->kshare_traced > 1)
		c->kshare_traced = 1;
	for (i = 1; i < ARRAY_SIZE(ev); i++)
		if (ev[i].ns > ev[top].ns)
			top = i;
	if (ev[top].ns > 0)
		c->dominant = ev[top].name;
	else if (k->faults > 0)
		c->dominant = "page faults";
	else
		c->dominant = "none";

	v[0] = '\0';
	if (F == 0) {
		c->mechanism = "no free traced";
		appendf(v, vl, "the tracer saw no free() call in the free phase");
	} else if (k->munmap >= 0.9 * F) {
		c->mechanism = "one munmap per free";
		appendf(v, vl, "every free was a munmap: %s for %s, %.1f MiB unmapped in all; ",
			fmt_plural(a, sizeof(a), k->munmap, "munmap"),
			fmt_plural(b, sizeof(b), F, "free"), k->munmap_bytes / MiB);
		if (F == 1)
			appendf(v, vl,
				"the single block of %.0f B is above the mmap threshold, so it "
				"was a mapping of its own",
				freed);
		else
			appendf(v, vl,
				"blocks of %zu B are above the mmap threshold, so each was a "
				"mapping of its own",
				c->size);
	} else if (k->brk >= 8 && k->brk_shrink_bytes <= 2 * PAGE * k->brk) {
		c->mechanism = "one brk shrink per page";
		appendf(
		    v, vl,
		    "free made one brk shrink per released page: %s for %s (one every %.1f "
		    "frees), %.1f MiB released, %.0f bytes per shrink; the blocks nearest the heap "
		    "top went first, so each free grew the top chunk past the trim threshold and "
		    "glibc gave the excess back at once",
		    fmt_plural(a, sizeof(a), k->brk, "brk shrink"),
		    fmt_plural(b, sizeof(b), F, "free"), (double)F / k->brk,
		    k->brk_shrink_bytes / MiB, (double)k->brk_shrink_bytes / k->brk);
	} else if (k->brk >= 1) {
		c->mechanism = "few large brk shrinks";
		appendf(
		    v, vl,
		    "%s for %s released %.1f MiB (%.0f KiB per shrink): the freed blocks "
		    "coalesced into free space below the top, and the heap was trimmed only when "
		    "that space reached the top",
		    fmt_plural(a, sizeof(a), k->brk, "brk shrink"),
		    fmt_plural(b, sizeof(b), F, "free"), k->brk_shrink_bytes / MiB,
		    k->brk_shrink_bytes / 1024.0 / k->brk);
	} else if (k->munmap >= 1) {
		c->mechanism = "some munmaps";
		appendf(v, vl, "%s for %s released %.1f MiB",
			fmt_plural(a, sizeof(a), k->munmap, "munmap"),
			fmt_plural(b, sizeof(b), F, "free"), k->munmap_bytes / MiB);
	} else {
		c->mechanism = "nothing returned";
		appendf(v, vl,
			"free gave nothing back to the kernel: 0 brk shrinks and 0 munmaps for %s; "
			"resident size %ld KiB before free, %ld KiB after, heap end %s",
			fmt_plural(b, sizeof(b), F, "free"), uf->rss_before, uf->rss_after,
			uf->brk_after == uf->brk_before ? "unchanged" : "moved");
		if (!strcmp(c->workload, "churn") && c->size + 8 <= 128)
			appendf(v, vl,
				"; %zu-byte blocks are fastbin-sized: free puts them in the tcache "
				"and the fastbins, which it never merges into the top chunk",
				c->size);
		else if (freed < GLIBC_TRIM_THRESHOLD && !c->tunables[0])
			appendf(
			    v, vl,
			    "; the %.0f KiB freed is less than the trim threshold (128 KiB), so "
			    "it stays for reuse",
			    freed / 1024);
		else
			appendf(v, vl,
				"; the free space at the top never exceeded the trim "
				"threshold");
	}
	if (k->madvise)
		appendf(v, vl, "; %ld madvise calls (%.1f MiB)", k->madvise,
			k->madvise_bytes / MiB);
	if (k->faults)
		appendf(v, vl, "; %ld page faults inside free (%ld major)", k->faults, k->major);
	appendf(v, vl, ". Untraced");
	if (c->repeats > 0) {
		st_fmt_runs(c->repeats, b, sizeof(b));
		appendf(v, vl, " (%s)", b);
	}
	appendf(v, vl, ", the free phase took %s", fmt_secs(a, sizeof(a), uf->wall));
	if (c->kshare_untraced >= 0)
		appendf(v, vl,
			", %s of its CPU time in the kernel by getrusage's tick-based user/sys "
			"split (user %s, sys %s%s)",
			fmt_pct(b, sizeof(b), c->kshare_untraced), fmt_secs(d, sizeof(d), uf->user),
			fmt_secs(e, sizeof(e), uf->sys),
			cpu < 0.05 ? "; a coarse split below 50 ms of CPU" : "");
	if (ua->wall > 0)
		appendf(v, vl, "; %.1fx the alloc phase (%s)", uf->wall / ua->wall,
			fmt_secs(a, sizeof(a), ua->wall));
	if (F == 1)
		appendf(v, vl, ". Traced, the one free took %s",
			fmt_ns(a, sizeof(a), c->free_fn.max > 0 ? c->free_fn.max : c->free_fn.sum));
	else if (F)
		appendf(v, vl, ". Traced, free took %s per call at the median and %s at p99",
			fmt_ns(a, sizeof(a), c->free_fn.p50), fmt_ns(b, sizeof(b), c->free_fn.p99));
	if (F)
		appendf(v, vl,
			"; syscalls were %s of the time inside free by the tracepoints' "
			"timestamps (page-fault time not counted); dominant kernel event: %s.",
			fmt_pct(d, sizeof(d), c->kshare_traced), c->dominant);
	else
		appendf(v, vl, ".");
}

/* Least-squares slope of log y on log x; false with fewer than 2 usable points. */
bool loglog_slope(const double *x, const double *y, int n, double *slope)
{
	return loglog_fit(x, y, n, slope) > 0;
}

/* The same, returning the number of points used (x and y above 0), 0 for no slope. */
int loglog_fit(const double *x, const double *y, int n, double *slope)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0;
	int m = 0, i;

	for (i = 0; i < n; i++) {
		if (x[i] <= 0 || y[i] <= 0)
			continue;
		double lx = log10(x[i]), ly = log10(y[i]);

		sx += lx;
		sy += ly;
		sxx += lx * lx;
		sxy += lx * ly;
		m++;
	}
	if (m < 2 || m * sxx - sx * sx <= 0)
		return 0;
	*slope = (m * sxy - sx * sy) / (m * sxx - sx * sx);
	return m;
}

const char *growth_word(double e)
{
	if (e < 0.5)
		return "nearly constant";
	if (e < 0.85)
		return "sublinear";
	if (e < 1.15)
		return "linear";
	if (e < 1.6)
		return "superlinear";
	return "close to quadratic or worse";
}

int build_groups(struct study *s, struct group *g, int max)
{
	int ng = 0, i, j;

	for (i = 0; i < s->ncases; i++) {
		struct st_case *c = &s->cases[i];
		char key[64];

		if (!c->done || strcmp(c->variant, "default"))
			continue;
		if (c->order[0])
			snprintf(key, sizeof(key), "%s-%s-%zu", c->workload, c->order, c->size);
		else
			snprintf(key, sizeof(key), "%s-%zu", c->workload, c->size);
		for (j = 0; j < ng && strcmp(g[j].key, key); j++)
			;
		if (j == ng) {
			if (ng == max)
				continue;
			memset(&g[ng], 0, sizeof(g[ng]));
			snprintf(g[ng].key, sizeof(g[ng].key), "%s", key);
			snprintf(g[ng].label, sizeof(g[ng].label), "%s%s%s %zu B", c->workload,
				 c->order[0] ? " " : "", c->order, c->size);
			g[ng].size = c->size;
			ng++;
		}
		if (g[j].n < (int)ARRAY_SIZE(g[j].c))
			g[j].c[g[j].n++] = c;
	}
	for (j = 0; j < ng; j++) {
		double x[24], yf[24], yt[24], ya[24], yb[24];
		int k, m;

		/* cases are planned by N already; keep it sorted anyway */
		for (k = 1; k < g[j].n; k++)
			for (m = k; m > 0 && g[j].c[m - 1]->count > g[j].c[m]->count; m--) {
				struct st_case *t = g[j].c[m];

				g[j].c[m] = g[j].c[m - 1];
				g[j].c[m - 1] = t;
			}
		for (k = 0; k < g[j].n; k++) {
			x[k] = g[j].c[k]->count;
			yf[k] = g[j].c[k]->untraced[PH_FREE].wall;
			yt[k] = g[j].c[k]->free_fn.sum;
			ya[k] = g[j].c[k]->untraced[PH_ALLOC].wall;
			yb[k] = g[j].c[k]->free_kernel.brk + g[j].c[k]->free_kernel.munmap;
		}
		g[j].pts_free = loglog_fit(x, yf, g[j].n, &g[j].exp_free);
		g[j].has_exp = g[j].pts_free > 0;
		if (!(g[j].pts_traced = loglog_fit(x, yt, g[j].n, &g[j].exp_traced)))
			g[j].exp_traced = NAN;
		if (!(g[j].pts_alloc = loglog_fit(x, ya, g[j].n, &g[j].exp_alloc)))
			g[j].exp_alloc = NAN;
		if (!(g[j].pts_brk = loglog_fit(x, yb, g[j].n, &g[j].exp_brk)))
			g[j].exp_brk = NAN;
	}
	return ng;
}

struct st_case *group_largest(struct group *g)
{
	return g->n ? g->c[g->n - 1] : NULL;
}
