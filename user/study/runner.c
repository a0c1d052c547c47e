// SPDX-License-Identifier: GPL-2.0
/*
 * memstudy study: run the planned cases (untraced for time, traced for mechanism) and drive
 * the analysis and the output files.
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
#include "lib/spawn.h"
#include "lib/fmt.h"
#include "lib/util.h"
#include "study/study.h"

volatile sig_atomic_t st_interrupted;

static void on_sigint(int sig)
{
	st_interrupted = 1;
}

static double now_s(void)
{
	return mono_ns() / 1e9;
}

/* ---- running ---------------------------------------------------------------------- */

/* Last line of a log (open on FD), to say why a run failed. */
void log_tail(int fd, char *out, size_t len)
{
	char buf[8192], *p, *e;
	ssize_t n;

	out[0] = '\0';
	n = pread(fd, buf, sizeof(buf) - 1,
		  lseek(fd, 0, SEEK_END) > (off_t)sizeof(buf) - 1
		      ? lseek(fd, 0, SEEK_END) - (sizeof(buf) - 1)
		      : 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	e = buf + strlen(buf);
	while (e > buf && (e[-1] == '\n' || e[-1] == ' '))
		*--e = '\0';
	p = strrchr(buf, '\n');
	snprintf(out, len, "%s", p ? p + 1 : buf);
}

static void wl_argv(struct study *s, struct st_case *c, char **argv, int *n, char bufs[3][32])
{
	snprintf(bufs[0], 32, "%ld", c->count);
	snprintf(bufs[1], 32, "%zu", c->size);
	argv[(*n)++] = s->workload;
	argv[(*n)++] = c->workload;
	argv[(*n)++] = "--count";
	argv[(*n)++] = bufs[0];
	argv[(*n)++] = "--size";
	argv[(*n)++] = bufs[1];
	if (c->order[0]) {
		argv[(*n)++] = "--order";
		argv[(*n)++] = c->order;
	}
	argv[(*n)++] = "--json";
	argv[*n] = NULL;
}

/* ---- progress ---------------------------------------------------------------------- */

struct progress {
	bool tty;
	int done, total;
	double t0;
};

static void progress_draw(struct progress *p, const char *what)
{
	int width = 30, fill = p->total ? p->done * width / p->total : 0, i;
	double el = now_s() - p->t0;
	char bar[64];

	if (!p->tty)
		return;
	for (i = 0; i < width; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[width] = '\0';
	fprintf(stderr, "\r\033[K[%s] %3d%% %2d:%02d  %s", bar,
		p->total ? 100 * p->done / p->total : 100, (int)el / 60, (int)el % 60, what);
	fflush(stderr);
}

/* ---- one case ---------------------------------------------------------------------- */

/* Parse what a case left in raw/: untraced runs 1..R (median kept) and the traced run. */
static int load_case(struct study *s, struct st_case *c)
{
	struct st_wl_phase runs[16][PH_N];
	char path[PATH_MAX + 256];
	double frees[16];
	int ok = 0, i, best = 0;

	for (ok = 0; ok < 16; ok++) {
		snprintf(path, sizeof(path), "%s/raw/%s.untraced-%d.json", s->dir, c->file, ok + 1);
		if (access(path, R_OK))
			break;
		if (!parse_workload(path, runs[ok], c->failed, sizeof(c->failed)))
			return -1;
		frees[ok] = runs[ok][PH_FREE].wall;
	}
	if (!ok) {
		snprintf(c->failed, sizeof(c->failed), "no untraced run in raw/");
		return -1;
	}
	/* kernel time per fault of each phase over the runs: the kept run is one of them */
	for (i = 0; i < PH_N; i++) {
		c->per_fault_min[i] = c->per_fault_max[i] = -1;
		for (int j = 0; j < ok; j++) {
			double us = st_sys_per_fault_us(&runs[j][i]);

			if (us < 0)
				continue;
			if (c->per_fault_min[i] < 0 || us < c->per_fault_min[i])
				c->per_fault_min[i] = us;
			if (us > c->per_fault_max[i])
				c->per_fault_max[i] = us;
		}
	}
	/* keep the run whose free time is the median, whole, so its phases agree */
	c->untraced_free_min = c->untraced_free_max = frees[0];
	for (i = 0; i < ok; i++) {
		int below = 0, j;

		for (j = 0; j < ok; j++)
			below += frees[j] < frees[i] || (frees[j] == frees[i] && j < i);
		if (below == ok / 2)
			best = i;
		if (frees[i] < c->untraced_free_min)
			c->untraced_free_min = frees[i];
		if (frees[i] > c->untraced_free_max)
			c->untraced_free_max = frees[i];
	}
	memcpy(c->untraced, runs[best], sizeof(c->untraced));
	c->repeats = ok;
	snprintf(path, sizeof(path), "%s/raw/%s.traced-workload.json", s->dir, c->file);
	if (!parse_workload(path, c->traced_wl, c->failed, sizeof(c->failed)))
		return -1;
	snprintf(path, sizeof(path), "%s/raw/%s.memstudy.json", s->dir, c->file);
	if (!parse_traced(path, c, c->failed, sizeof(c->failed)))
		return -1;
	c->failed[0] = '\0';
	c->done = true;
	return 0;
}

/* Create raw/NAME afresh; -1 after saying why. */
static int raw_file(struct study *s, const char *name, bool append)
{
	int fd = out_create_at(s->rawfd, name, append);

	if (fd < 0)
		ms_err("cannot write %s/raw/%s: %s", s->dir, name, strerror(errno));
	return fd;
}

/* One run of the case: ARGV's stdout to raw/OUT_NAME, stderr to the case's log. */
static int run_once(struct study *s, struct st_case *c, char **argv, const char *out_name,
		    int log_fd, const char *what)
{
	char tail[256];
	int fd = raw_file(s, out_name, false), rc;

	if (fd < 0) {
		snprintf(c->failed, sizeof(c->failed), "cannot write raw/%.200s", out_name);
		return -1;
	}
	rc = spawn(argv, fd, log_fd, c->tunables, -1, false);
	close(fd);
	if (rc) {
		log_tail(log_fd, tail, sizeof(tail));
		snprintf(c->failed, sizeof(c->failed), "%s run exited %d: %.200s", what, rc, tail);
		return -1;
	}
	return 0;
}

static int run_case(struct study *s, struct st_case *c, struct progress *pg)
{
	char *argv[24], nb[3][32], name[PATH_MAX], json[PATH_MAX + 256], what[256];
	int n, r, rc = 0, log_fd, reps = s->o->repeat;

	snprintf(name, sizeof(name), "%s.log", c->file);
	log_fd = raw_file(s, name, true);
	if (log_fd < 0) {
		snprintf(c->failed, sizeof(c->failed), "cannot write raw/%.200s", name);
		return -1;
	}
	for (r = 0; r < ST_MAX_REPEAT; r++) {
		snprintf(name, sizeof(name), "%s.untraced-%d.json", c->file, r + 1);
		unlinkat(s->rawfd, name, 0);
	}
	for (r = 0; r < reps && !st_interrupted && !rc; r++) {
		snprintf(what, sizeof(what), "%s  untraced %d/%d", c->name, r + 1, reps);
		progress_draw(pg, what);
		n = 0;
		wl_argv(s, c, argv, &n, nb);
		snprintf(name, sizeof(name), "%s.untraced-%d.json", c->file, r + 1);
		rc = run_once(s, c, argv, name, log_fd, "untraced");
		pg->done++;
	}
	if (rc || st_interrupted) {
		close(log_fd);
		return -1;
	}
	snprintf(what, sizeof(what), "%s  traced", c->name);
	progress_draw(pg, what);
	snprintf(json, sizeof(json), "%s/raw/%s.memstudy.json", s->dir, c->file);
	snprintf(name, sizeof(name), "%s.traced-workload.json", c->file);
	n = 0;
	argv[n++] = s->self;
	argv[n++] = "run";
	argv[n++] = "--json";
	argv[n++] = json;
	argv[n++] = "-o";
	argv[n++] = "/dev/null";
	argv[n++] = "--";
	wl_argv(s, c, argv, &n, nb);
	rc = run_once(s, c, argv, name, log_fd, "traced");
	close(log_fd);
	pg->done++;
	return rc ? -1 : load_case(s, c);
}

/* ---- driver ------------------------------------------------------------------------ */

static bool find_binaries(struct study *s)
{
	char dir[sizeof(s->self) - 32], *slash;
	ssize_t n = readlink("/proc/self/exe", s->self, sizeof(dir) - 1);

	if (n <= 0) {
		ms_err("cannot read /proc/self/exe: %s", strerror(errno));
		return false;
	}
	s->self[n] = '\0';
	snprintf(dir, sizeof(dir), "%.4000s", s->self);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	snprintf(s->workload, sizeof(s->workload), "%s/memstudy-workload", dir);
	if (executable(s->workload) ||
	    in_path("memstudy-workload", s->workload, sizeof(s->workload)))
		return true;
	ms_err("cannot find memstudy-workload next to %s or in PATH: build it (cmake --build "
	       "build) or add its directory to PATH",
	       s->self);
	return false;
}

/* DIR, DIR/raw and DIR/plots, opened so that nobody else can redirect what is written. */
static int open_dirs(struct study *s)
{
	char shown[PATH_MAX + 16];

	s->dirfd = out_dir_open(s->dir);
	if (s->dirfd < 0)
		return -1;
	snprintf(shown, sizeof(shown), "%s/raw", s->dir);
	s->rawfd = out_subdir_open(s->dirfd, "raw", shown);
	snprintf(shown, sizeof(shown), "%s/plots", s->dir);
	s->plotsfd = s->rawfd < 0 ? -1 : out_subdir_open(s->dirfd, "plots", shown);
	return s->plotsfd < 0 ? -1 : 0;
}

int st_run(struct study *s)
{
	static struct group g[64];
	struct progress pg = {.tty = isatty(2), .t0 = now_s()};
	char plots[256] = "", plot_err[512] = "", nb[32];
	struct sigaction sa = {.sa_handler = on_sigint};
	int i, ng, failed = 0, done = 0;
	double elapsed = 0;

	if (open_dirs(s))
		return 1;
	if (s->o->from) {
		if (!read_plan(s, &elapsed))
			return 1;
		for (i = 0; i < s->ncases; i++) {
			struct st_case *c = &s->cases[i];

			if (c->failed[0] || load_case(s, c)) {
				failed++;
				continue;
			}
			done++;
			analyse_case(c);
		}
		goto write;
	}
	if (!find_binaries(s))
		return 1;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	pg.total = s->ncases * (s->o->repeat + 1);
	fprintf(stderr,
		"memstudy study: %d cases into %s/ (Ctrl-C stops and reports what is "
		"done)\n",
		s->ncases, s->dir);
	for (i = 0; i < s->ncases && !st_interrupted; i++) {
		struct st_case *c = &s->cases[i];
		char a[32], b[32];

		if (run_case(s, c, &pg)) {
			if (st_interrupted)
				break;
			failed++;
			if (pg.tty)
				fprintf(stderr, "\r\033[K");
			ms_warn("%s failed: %s", c->name, c->failed);
			/* a tracer that cannot attach fails every case the same way */
			if (!done && failed >= 2 && strstr(c->failed, "traced")) {
				ms_err(
				    "stopping: the first cases all failed under the tracer. Check "
				    "that 'sudo memstudy run -- /bin/true' works");
				break;
			}
			pg.done = (i + 1) * (s->o->repeat + 1);
			continue;
		}
		done++;
		analyse_case(c);
		st_format_count(c->count, nb, sizeof(nb));
		if (!pg.tty)
			fprintf(stderr,
				"[%d/%d] %s%s%s: free %s untraced, %s traced; in free: %ld brk, "
				"%ld munmap, %ld faults\n",
				i + 1, s->ncases, c->name, c->tunables[0] ? " " : "", c->tunables,
				fmt_secs(a, sizeof(a), c->untraced[PH_FREE].wall),
				fmt_ns(b, sizeof(b), c->free_fn.sum), c->free_kernel.brk,
				c->free_kernel.munmap, c->free_kernel.faults);
		progress_draw(&pg, c->name);
	}
	if (pg.tty)
		fprintf(stderr, "\r\033[K");
	if (st_interrupted)
		ms_warn("st_interrupted: writing the report for the %d case(s) done", done);
	elapsed = now_s() - pg.t0;
	write_plan(s, elapsed);

write:
	ng = s->o->one_case ? 0 : build_groups(s, g, ARRAY_SIZE(g));
	write_csv(s);
	if (s->o->one_case)
		write_tunable_plot(s, plots, sizeof(plots));
	else if (ng)
		write_plots(s, g, ng, plots, sizeof(plots));
	if (s->o->no_plots)
		snprintf(plot_err, sizeof(plot_err), "--no-plots was given");
	else if (done && !run_gnuplot(s, plot_err, sizeof(plot_err)))
		ms_warn("%s", plot_err);
	write_report(s, g, ng, plots, plot_err, elapsed, failed);
	write_report_html(s, plots, plot_err);
	fprintf(stderr,
		"memstudy study: %d of %d cases %s in %.0f s; report: %s/report.md (as a page: "
		"report.html)\n",
		done, s->ncases, s->o->from ? "re-analysed" : "done", now_s() - pg.t0, s->dir);
	if (!done || s->write_failed)
		return 1;
	return st_interrupted ? 130 : failed ? 1 : 0;
}
