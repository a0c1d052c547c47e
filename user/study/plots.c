// SPDX-License-Identifier: GPL-2.0
/*
 * memstudy study: cases.csv, gnuplot data files, plots.gp, and running gnuplot.
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

#include "lib/outfile.h"
#include "lib/util.h"
#include "study/study.h"

/* ---- files ------------------------------------------------------------------------- */

FILE *open_out(struct study *s, const char *name)
{
	bool in_plots = !strncmp(name, "plots/", 6);
	char shown[PATH_MAX + 256];
	FILE *f;

	snprintf(shown, sizeof(shown), "%.3800s/%.250s", s->dir, name);
	f = out_fopen_at(in_plots ? s->plotsfd : s->dirfd, in_plots ? name + 6 : name, shown);
	if (!f)
		s->write_failed = true;
	return f;
}

void close_out(struct study *s, FILE *f, const char *name)
{
	char shown[PATH_MAX + 256];

	snprintf(shown, sizeof(shown), "%.3800s/%.250s", s->dir, name);
	if (out_close(f, shown))
		s->write_failed = true;
}

void write_csv(struct study *s)
{
	FILE *f = open_out(s, "cases.csv");
	int i;

	if (!f)
		return;
	fprintf(f, "name,variant,glibc_tunables,workload,order,size,count,n_reduced,status,repeats,"
		   "alloc_s,touch_s,free_s,free_s_min,free_s_max,free_user_s,free_sys_s,"
		   "alloc_minflt,free_minflt,free_majflt,rss_kb_before_free,rss_kb_after_free,"
		   "heap_end_change_free,traced_alloc_s,traced_free_s,malloc_calls,malloc_p50_ns,"
		   "malloc_p99_ns,malloc_max_ns,free_calls,free_p50_ns,free_p99_ns,free_max_ns,"
		   "free_sum_ns,free_brk,free_brk_shrink_bytes,free_munmap,free_munmap_bytes,"
		   "free_madvise,free_madvise_bytes,free_mprotect,free_page_faults,"
		   "free_major_faults,free_syscall_ns,kernel_share_untraced,kernel_share_traced,"
		   "dominant,mechanism,lost_events,alloc_majflt,alloc_sys_s,touch_minflt,"
		   "touch_sys_s,alloc_us_per_fault,touch_us_per_fault,free_us_per_fault\n");
	for (i = 0; i < s->ncases; i++) {
		struct st_case *c = &s->cases[i];
		const struct st_wl_phase *u = c->untraced;

		fprintf(f, "%s,\"%s\",\"%s\",%s,%s,%zu,%ld,%d,\"%s\",%d,", c->name, c->variant,
			c->tunables, c->workload, c->order, c->size, c->count, c->reduced,
			c->done	       ? "ok"
			: c->failed[0] ? c->failed
				       : "not run",
			c->repeats);
		if (!c->done) {
			fputc('\n', f);
			continue;
		}
		fprintf(f, "%.9f,%.9f,%.9f,%.9f,%.9f,%.6f,%.6f,%ld,%ld,%ld,%ld,%ld,%lld,%.9f,%.9f,",
			u[PH_ALLOC].wall, u[PH_TOUCH].wall, u[PH_FREE].wall, c->untraced_free_min,
			c->untraced_free_max, u[PH_FREE].user, u[PH_FREE].sys, u[PH_ALLOC].minflt,
			u[PH_FREE].minflt, u[PH_FREE].majflt, u[PH_FREE].rss_before,
			u[PH_FREE].rss_after,
			(long long)(u[PH_FREE].brk_after - u[PH_FREE].brk_before),
			c->tr_dur[PH_ALLOC], c->tr_dur[PH_FREE]);
		fprintf(f, "%ld,%.0f,%.0f,%.0f,%ld,%.0f,%.0f,%.0f,%.0f,", c->malloc_fn.calls,
			c->malloc_fn.p50, c->malloc_fn.p99, c->malloc_fn.max, c->free_fn.calls,
			c->free_fn.p50, c->free_fn.p99, c->free_fn.max, c->free_fn.sum);
		fprintf(f, "%ld,%lld,%ld,%lld,%ld,%lld,%ld,%ld,%ld,%.0f,%.4f,%.4f,%s,%s,%ld,",
			c->free_kernel.brk, c->free_kernel.brk_shrink_bytes, c->free_kernel.munmap,
			c->free_kernel.munmap_bytes, c->free_kernel.madvise,
			c->free_kernel.madvise_bytes, c->free_kernel.mprotect,
			c->free_kernel.faults, c->free_kernel.major, c->free_kernel.syscall_ns,
			c->kshare_untraced, c->kshare_traced, c->dominant, c->mechanism,
			c->lost_events);
		/* kernel time per page fault: getrusage sys / faults, us; empty = no fault */
		fprintf(f, "%ld,%.6f,%ld,%.6f", u[PH_ALLOC].majflt, u[PH_ALLOC].sys,
			u[PH_TOUCH].minflt, u[PH_TOUCH].sys);
		for (int p = 0; p < PH_N; p++) {
			double us = st_sys_per_fault_us(&u[p]);

			us < 0 ? fprintf(f, ",") : fprintf(f, ",%.4f", us);
		}
		fputc('\n', f);
	}
	close_out(s, f, "cases.csv");
}

static bool has_size(struct group *g, int ng, size_t size)
{
	for (int j = 0; j < ng; j++)
		if (g[j].size == size && g[j].n)
			return true;
	return false;
}

/* An exponent for a legend (gnuplot enhanced text), worded by the points it rests on. */
void st_plot_exponent(double e, int pts, char *buf, size_t len)
{
	if (pts >= 3 && !isnan(e))
		snprintf(buf, len, "N^{%.2f}, fit on %d N", e, pts);
	else if (pts == 2 && !isnan(e))
		snprintf(buf, len, "slope %.2f between 2 N, not a fit", e);
	else
		snprintf(buf, len, "one N, no exponent");
}

/* Data files and plots.gp; gnuplot runs in DIR so the script can be re-run there. */
void write_plots(struct study *s, struct group *g, int ng, char *made, size_t mlen)
{
	size_t sizes[ST_MAX_SIZES];
	int nsz = 0, i, j, k, col;
	char path[PATH_MAX], b[32];
	FILE *gp, *f;

	made[0] = '\0';
	for (j = 0; j < ng; j++) {
		snprintf(path, sizeof(path), "plots/free-%.60s.dat", g[j].key);
		if (!(f = open_out(s, path)))
			return;
		fprintf(
		    f,
		    "# %s\n# N  free_untraced_s  free_traced_s(sum of free latencies)  "
		    "alloc_untraced_s  brk_in_free  munmap_in_free  alloc_us_per_fault  "
		    "touch_us_per_fault\n# (us per fault: getrusage sys / faults, untraced; ? = "
		    "no fault or under 50 ms of sys time)\n",
		    g[j].label);
		for (k = 0; k < g[j].n; k++) {
			struct st_case *c = g[j].c[k];

			fprintf(f, "%ld %.9g %.9g %.9g %ld %ld", c->count,
				c->untraced[PH_FREE].wall, c->free_fn.sum / 1e9,
				c->untraced[PH_ALLOC].wall, c->free_kernel.brk,
				c->free_kernel.munmap);
			for (col = PH_ALLOC; col <= PH_TOUCH; col++) {
				double us = st_sys_per_fault_us(&c->untraced[col]);

				us < 0 || c->untraced[col].sys < 0.05 ? fprintf(f, " ?")
								      : fprintf(f, " %.6g", us);
			}
			fprintf(f, "\n");
		}
		close_out(s, f, path);
		for (k = 0; k < nsz && sizes[k] != g[j].size; k++)
			;
		if (k == nsz && nsz < ST_MAX_SIZES)
			sizes[nsz++] = g[j].size;
	}
	/* per group at its largest N: kernel calls inside free per 1000 frees, kernel share */
	if (!(f = open_out(s, "plots/kernel.dat")))
		return;
	fprintf(f,
		"# case  brk  munmap  madvise  page_faults  (inside free, per 1000 frees; ? = "
		"none)  kernel_share_untraced_%%  kernel_share_traced_%%\n"
		"# kernel_share_untraced: getrusage sys / (user+sys) of the free phase (tick-based "
		"split, fault time included)\n"
		"# kernel_share_traced: syscall ns inside free / ns inside free (tracepoint "
		"timestamps, no fault time)\n");
	for (j = 0; j < ng; j++) {
		struct st_case *c = group_largest(&g[j]);
		double per = c->free_fn.calls ? 1000.0 / c->free_fn.calls : 0;
		double vals[4] = {c->free_kernel.brk * per, c->free_kernel.munmap * per,
				  c->free_kernel.madvise * per, c->free_kernel.faults * per};

		st_format_count(c->count, b, sizeof(b));
		fprintf(f, "\"%s N=%s\"", g[j].label, b);
		for (k = 0; k < 4; k++)
			vals[k] > 0 ? fprintf(f, " %.6g", vals[k]) : fprintf(f, " ?");
		fprintf(f, " %.2f %.2f\n", c->kshare_untraced < 0 ? 0 : 100 * c->kshare_untraced,
			c->kshare_traced < 0 ? 0 : 100 * c->kshare_traced);
	}
	close_out(s, f, "plots/kernel.dat");

	if (!(gp = open_out(s, "plots.gp")))
		return;
	fprintf(gp,
		"# gnuplot script written by memstudy study; re-run with: gnuplot plots.gp\n"
		"set datafile missing '?'\n"
		"set terminal pngcairo size %d,560 enhanced font 'DejaVu Sans,11'\n"
		"set grid\nset logscale xy\nset format x '10^{%%L}'\nset format y '10^{%%L}'\n"
		"set key top left box opaque\nset xlabel 'N (blocks)'\n",
		nsz > 1 ? 560 * nsz : 760);
	/* free time vs N, and alloc vs free, one panel per block size */
	for (i = 0; i < 2; i++) {
		fprintf(gp, "\nset output '%s'\nset multiplot layout 1,%d title \"%s\"\n",
			i ? "alloc-vs-free.png" : "free-vs-n.png", nsz,
			i ? "alloc phase (dashed) vs free phase (solid), untraced"
			  : "free phase time vs N\\nuntraced (solid, real time) and traced "
			    "(dashed, sum of free latencies, inflated by the probes)");
		for (k = 0; k < nsz; k++) {
			fprintf(gp, "set title '%zu-byte blocks'\nset ylabel '%s'\nplot ", sizes[k],
				i ? "phase time (s)" : "free time (s)");
			col = 0;
			for (j = 0; j < ng; j++) {
				char ef[64], ea[64];

				if (g[j].size != sizes[k])
					continue;
				col++;
				st_plot_exponent(g[j].exp_free, g[j].pts_free, ef, sizeof(ef));
				st_plot_exponent(g[j].exp_alloc, g[j].pts_alloc, ea, sizeof(ea));
				fprintf(
				    gp,
				    "%s'plots/free-%s.dat' u 1:2 w lp lw 2 pt 7 lc %d dt 1 t '%s: "
				    "%s', '' u 1:%d w lp lw 1.5 pt 6 lc %d dt 2 t '%s%s'",
				    col > 1 ? ", \\\n     " : "", g[j].key, col, g[j].label, ef,
				    i ? 4 : 3, col, i ? "  alloc: " : "", i ? ea : "");
			}
			fprintf(gp, "\n");
		}
		fprintf(gp, "unset multiplot\n");
	}
	/* kernel time per first-touch fault vs N, one line per case */
	fprintf(gp,
		"\nset output 'fault-cost.png'\n"
		"set terminal pngcairo size 900,560 enhanced font 'DejaVu Sans,11'\n"
		"set title \"kernel time per first-touch page fault, untraced\\n(getrusage sys / "
		"faults of the phase that takes them: alloc for churn, touch for array; "
		"an upper bound)\"\n"
		"unset logscale y\nset format y '%%g'\nset yrange [0:*]\n"
		"set ylabel 'sys time per fault (us)'\nplot ");
	for (j = 0; j < ng; j++) {
		struct st_case *c = group_largest(&g[j]);
		bool touch = c->untraced[PH_TOUCH].minflt > c->untraced[PH_ALLOC].minflt;

		fprintf(gp, "%s'plots/free-%s.dat' u 1:%d w lp lw 2 pt 7 lc %d t '%s (%s)'",
			j ? ", \\\n     " : "", g[j].key, touch ? 8 : 7, j + 1, g[j].label,
			touch ? "touch" : "alloc");
	}
	fprintf(gp, "\nset yrange [*:*]\nset logscale y\n");
	fprintf(gp,
		"\nunset logscale x\nset format x '%%g'\nset style data histograms\n"
		"set style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
		"set boxwidth 0.9\nset xtics rotate by -35 left font ',9'\nunset xlabel\n"
		"set key top right\nset bmargin 9\nset rmargin 10\n"
		"set terminal pngcairo size %d,600 enhanced font 'DejaVu Sans,11'\n",
		ng * 70 + 400);
	fprintf(gp, "\nset output 'kernel-in-free.png'\n"
		    "set title 'kernel work inside free() at the largest N of each case (traced; "
		    "no bar = none)'\n"
		    "set ylabel 'events inside free per 1000 frees (log)'\nset format y '%%g'\n"
		    "set yrange [0.0001:100000]\nset key top right vertical box\n"
		    "plot 'plots/kernel.dat' u 2:xtic(1) t 'brk shrinks' lc rgb '#1f77b4', "
		    "'' u 3 t 'munmap' lc rgb '#d62728', '' u 4 t 'madvise' lc rgb '#2ca02c', "
		    "'' u 5 t 'page faults' lc rgb '#9467bd'\n");
	fprintf(
	    gp,
	    "\nset output 'kernel-share.png'\n"
	    "set terminal pngcairo size %d,640 enhanced font 'DejaVu Sans,11'\n"
	    "unset logscale y\nset yrange [0:150]\n"
	    "set ytics 0,20,100\nset rmargin 4\nset key top left vertical Left reverse width -6\n"
	    "set title \"kernel share of the free phase, largest N of each case: two "
	    "different measures\\n(untraced from getrusage's tick-based user/sys split, traced "
	    "from the tracepoints; not one quantity measured twice)\"\n"
	    "set ylabel 'percent'\n"
	    "plot 'plots/kernel.dat' u 6:xtic(1) t 'untraced, getrusage: sys / (user+sys) of "
	    "the free phase (tick-based split; fault time included)' lc rgb '#ff7f0e', '' u 7 "
	    "t 'traced, tracepoints: syscall time inside free / time inside free (no fault "
	    "time)' lc rgb '#7f7f7f'\n",
	    ng * 70 + 400 > 1000 ? ng * 70 + 400 : 1000);
	close_out(s, gp, "plots.gp");
	snprintf(made, mlen,
		 "free-vs-n.png alloc-vs-free.png fault-cost.png kernel-in-free.png "
		 "kernel-share.png");
	(void)has_size;
}

/* --case with tunables: one plot, default and each variant side by side. */
void write_tunable_plot(struct study *s, char *made, size_t mlen)
{
	FILE *f, *gp;
	int i;

	made[0] = '\0';
	if (!(f = open_out(s, "plots/tunables.dat")))
		return;
	fprintf(f, "# variant  free_untraced_ms  brk_in_free  munmap_in_free  madvise_in_free  "
		   "rss_after_free_MiB\n");
	for (i = 0; i < s->ncases; i++) {
		struct st_case *c = &s->cases[i];

		if (!c->done)
			continue;
		fprintf(f, "\"%s\" %.6f %ld %ld %ld %.3f\n", c->variant,
			c->untraced[PH_FREE].wall * 1e3, c->free_kernel.brk, c->free_kernel.munmap,
			c->free_kernel.madvise, c->untraced[PH_FREE].rss_after / 1024.0);
	}
	close_out(s, f, "plots/tunables.dat");
	if (!(gp = open_out(s, "plots.gp")))
		return;
	fprintf(gp,
		"# gnuplot script written by memstudy study; re-run with: gnuplot plots.gp\n"
		"set terminal pngcairo size 1500,700 noenhanced font 'DejaVu Sans,11'\n"
		"set output 'tunables.png'\nset style data histograms\n"
		"set style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
		"set xtics rotate by -30 left font ',9'\nset grid ytics\nset bmargin 14\n"
		"set multiplot layout 1,3 title '%s: glibc defaults vs tunables'\n"
		"set title 'free phase, untraced'\nset ylabel 'ms'\n"
		"plot 'plots/tunables.dat' u 2:xtic(1) notitle lc rgb '#1f77b4'\n"
		"set title 'kernel calls inside free'\nset ylabel 'calls'\n"
		"plot 'plots/tunables.dat' u 3:xtic(1) t 'brk' lc rgb '#1f77b4', '' u 4 t "
		"'munmap' lc rgb '#d62728', '' u 5 t 'madvise' lc rgb '#2ca02c'\n"
		"set title 'resident after free'\nset ylabel 'MiB'\n"
		"plot 'plots/tunables.dat' u 6:xtic(1) notitle lc rgb '#ff7f0e'\n"
		"unset multiplot\n",
		s->ncases ? s->cases[0].name : "case");
	close_out(s, gp, "plots.gp");
	snprintf(made, mlen, "tunables.png");
}

bool run_gnuplot(struct study *s, char *why, size_t len)
{
	char gnuplot[PATH_MAX], script[] = "plots.gp";
	char *argv[] = {gnuplot, script, NULL};
	int rc, out, log;

	if (!in_path("gnuplot", gnuplot, sizeof(gnuplot))) {
		snprintf(why, len,
			 "gnuplot is not installed: install it with 'apt-get install "
			 "gnuplot-nox', then run 'gnuplot plots.gp' in the output directory");
		return false;
	}
	out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	log = out_create_at(s->rawfd, "gnuplot.log", false);
	if (out < 0 || log < 0) {
		snprintf(why, len, "cannot write %.300s/raw/gnuplot.log: %s", s->dir,
			 strerror(errno));
		if (out >= 0)
			close(out);
		return false;
	}
	/* in DIR, so the script's relative names are DIR's; as the sudo caller: no root */
	rc = spawn(argv, out, log, NULL, s->dirfd, true);
	close(out);
	close(log);
	if (rc) {
		snprintf(why, len, "gnuplot failed (exit %d); see raw/gnuplot.log", rc);
		return false;
	}
	return true;
}
