// SPDX-License-Identifier: GPL-2.0
/*
 * memstudy study: run the planned cases (untraced for time, traced for mechanism),
 * analyse them and write DIR/report.md, cases.csv, raw/ and gnuplot figures.
 *
 * Every verdict is assembled from rules on the measured numbers below (analyse_case):
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

#include "study/study.h"
#include "lib/util.h"

#define PAGE 4096.0
#define MiB  (1024.0 * 1024.0)

static const char *const phase_names[PH_N] = {"alloc", "touch", "free"};

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	interrupted = 1;
}


static double now_s(void)
{
	return mono_ns() / 1e9;
}

/* "1.34 s", "12.3 ms", "45.0 us": times span six decades in one table. */
static const char *fmt_s(double s, char *buf, size_t len)
{
	if (s < 0 || isnan(s))
		snprintf(buf, len, "-");
	else if (s >= 1)
		snprintf(buf, len, "%.2f s", s);
	else if (s >= 1e-3)
		snprintf(buf, len, "%.2f ms", s * 1e3);
	else
		snprintf(buf, len, "%.1f us", s * 1e6);
	return buf;
}

static const char *fmt_ns(double ns, char *buf, size_t len)
{
	return fmt_s(ns / 1e9, buf, len);
}

/* "1 munmap", "2 munmaps": counts are quoted in sentences */
static const char *pl(long n, const char *word, char *buf, size_t len)
{
	snprintf(buf, len, "%ld %s%s", n, word, n == 1 ? "" : "s");
	return buf;
}

static const char *fmt_pct(double f, char *buf, size_t len)
{
	if (f < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.0f %%", 100 * f);
	return buf;
}

/* ---- running ---------------------------------------------------------------------- */

static bool executable(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

static bool in_path(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char buf[4096], *save = NULL, *d;

	if (!path)
		return false;
	snprintf(buf, sizeof(buf), "%s", path);
	for (d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", d, name);
		if (executable(out))
			return true;
	}
	return false;
}

/* Run argv with stdout to OUT and stderr appended to ERR; returns its exit status. */
static int spawn(char *const argv[], const char *out, const char *err, const char *tunables)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(err, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (in < 0 || fo < 0 || fe < 0)
			_exit(126);
		dup2(in, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		/* "default" means glibc's defaults, whatever the caller's environment says */
		if (tunables && *tunables)
			setenv("GLIBC_TUNABLES", tunables, 1);
		else
			unsetenv("GLIBC_TUNABLES");
		execv(argv[0], argv);
		dprintf(2, "memstudy study: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Last line of a log, to say why a run failed. */
static void log_tail(const char *path, char *out, size_t len)
{
	char buf[8192], *p, *e;

	out[0] = '\0';
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return;
	e = buf + strlen(buf);
	while (e > buf && (e[-1] == '\n' || e[-1] == ' '))
		*--e = '\0';
	p = strrchr(buf, '\n');
	snprintf(out, len, "%s", p ? p + 1 : buf);
}

/* ---- JSON -------------------------------------------------------------------------- */

static json_object *jget(json_object *o, const char *path)
{
	char key[128];
	const char *dot;

	while (o && *path) {
		dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		if (!json_object_object_get_ex(o, key, &o))
			return NULL;
		path += n + (dot ? 1 : 0);
	}
	return o;
}

static double jnum(json_object *o, const char *path)
{
	json_object *v = jget(o, path);

	return v ? json_object_get_double(v) : 0;
}

static json_object *find_phase(json_object *root, const char *name)
{
	json_object *ph = jget(root, "phases"), *p, *n;
	size_t i;

	if (!ph || !json_object_is_type(ph, json_type_array))
		return NULL;
	for (i = 0; i < json_object_array_length(ph); i++) {
		p = json_object_array_get_idx(ph, i);
		n = jget(p, "name");
		if (n && !strcmp(json_object_get_string(n), name))
			return p;
	}
	return NULL;
}

static unsigned long long jhex(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return v ? strtoull(json_object_get_string(v), NULL, 0) : 0;
}

/* The workload's own --json: per-phase times, faults, RSS, heap end. */
static bool parse_workload(const char *path, struct st_wl_phase ph[PH_N], char *why, size_t len)
{
	json_object *root = json_object_from_file(path), *p;
	int i;

	if (!root) {
		snprintf(why, len, "%.200s is not the workload's JSON", path);
		return false;
	}
	for (i = 0; i < PH_N; i++) {
		memset(&ph[i], 0, sizeof(ph[i]));
		p = find_phase(root, phase_names[i]);
		if (!p)
			continue;
		ph[i].present = true;
		ph[i].wall = jnum(p, "wall_s");
		ph[i].user = jnum(p, "user_s");
		ph[i].sys = jnum(p, "sys_s");
		ph[i].minflt = jnum(p, "minflt");
		ph[i].majflt = jnum(p, "majflt");
		ph[i].rss_before = jnum(p, "rss_kb_before");
		ph[i].rss_after = jnum(p, "rss_kb_after");
		ph[i].brk_before = jhex(p, "brk_before");
		ph[i].brk_after = jhex(p, "brk_after");
	}
	json_object_put(root);
	if (!ph[PH_FREE].present) {
		snprintf(why, len, "%.200s has no free phase", path);
		return false;
	}
	return true;
}

static void parse_fn(json_object *phase, const char *fn, struct st_fn *f)
{
	char k[96];

	snprintf(k, sizeof(k), "functions.%s", fn);
	json_object *o = jget(phase, k);

	f->calls = jnum(o, "calls");
	f->p50 = jnum(o, "latency_ns.p50");
	f->p99 = jnum(o, "latency_ns.p99");
	f->max = jnum(o, "latency_ns.max");
	f->sum = jnum(o, "latency_ns.sum");
}

/* memstudy run's JSON: latency per call and the kernel work charged to free. */
static bool parse_traced(const char *path, struct st_case *c, char *why, size_t len)
{
	json_object *root = json_object_from_file(path), *pa, *pf, *k;
	struct st_free_kernel *fk = &c->fk;
	int i;

	if (!root) {
		snprintf(why, len, "%.200s is not memstudy's JSON", path);
		return false;
	}
	pa = find_phase(root, "alloc");
	pf = find_phase(root, "free");
	if (!pa || !pf) {
		snprintf(why, len, "%.200s has no alloc/free phases (phase markers not seen)",
			 path);
		json_object_put(root);
		return false;
	}
	for (i = 0; i < PH_N; i++) {
		json_object *p = find_phase(root, phase_names[i]);

		c->tr_dur[i] = p ? jnum(p, "duration_s") : -1;
	}
	parse_fn(pa, "malloc", &c->malloc_fn);
	parse_fn(pf, "free", &c->free_fn);
	k = jget(pf, "functions.free.kernel");
	memset(fk, 0, sizeof(*fk));
	fk->brk = jnum(k, "syscalls.brk");
	fk->munmap = jnum(k, "syscalls.munmap");
	fk->madvise = jnum(k, "syscalls.madvise");
	fk->mprotect = jnum(k, "syscalls.mprotect");
	fk->mmap = jnum(k, "syscalls.mmap");
	fk->mremap = jnum(k, "syscalls.mremap");
	fk->faults = jnum(k, "page_faults");
	fk->major = jnum(k, "major_faults");
	fk->syscall_ns = jnum(k, "syscall_ns");
	fk->brk_shrink_bytes = jnum(pf, "syscalls.brk.shrink_bytes");
	fk->munmap_bytes = jnum(pf, "syscalls.munmap.bytes");
	fk->madvise_bytes = jnum(pf, "syscalls.madvise.bytes");
	fk->brk_ns = jnum(pf, "syscalls.brk.ns");
	fk->munmap_ns = jnum(pf, "syscalls.munmap.ns");
	fk->madvise_ns = jnum(pf, "syscalls.madvise.ns");
	fk->mprotect_ns = jnum(pf, "syscalls.mprotect.ns");
	fk->mmap_ns = jnum(pf, "syscalls.mmap.ns");
	fk->mremap_ns = jnum(pf, "syscalls.mremap.ns");
	c->lost_events = jnum(root, "lost_events");
	json_object_put(root);
	return true;
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
	/* keep the run whose free time is the median, whole, so its phases agree */
	c->un_free_min = c->un_free_max = frees[0];
	for (i = 0; i < ok; i++) {
		int below = 0, j;

		for (j = 0; j < ok; j++)
			below += frees[j] < frees[i] || (frees[j] == frees[i] && j < i);
		if (below == ok / 2)
			best = i;
		if (frees[i] < c->un_free_min)
			c->un_free_min = frees[i];
		if (frees[i] > c->un_free_max)
			c->un_free_max = frees[i];
	}
	memcpy(c->un, runs[best], sizeof(c->un));
	c->repeats = ok;
	snprintf(path, sizeof(path), "%s/raw/%s.traced-workload.json", s->dir, c->file);
	if (!parse_workload(path, c->tw, c->failed, sizeof(c->failed)))
		return -1;
	snprintf(path, sizeof(path), "%s/raw/%s.memstudy.json", s->dir, c->file);
	if (!parse_traced(path, c, c->failed, sizeof(c->failed)))
		return -1;
	c->failed[0] = '\0';
	c->done = true;
	return 0;
}

static int run_case(struct study *s, struct st_case *c, struct progress *pg)
{
	char *argv[24], nb[3][32], out[PATH_MAX + 256], log[PATH_MAX + 256], json[PATH_MAX + 256],
	    what[256];
	int n, r, rc, reps = s->o->repeat > 16 ? 16 : s->o->repeat;

	snprintf(log, sizeof(log), "%s/raw/%s.log", s->dir, c->file);
	unlink(log);
	for (r = 0; r < 16; r++) {
		snprintf(out, sizeof(out), "%s/raw/%s.untraced-%d.json", s->dir, c->file, r + 1);
		unlink(out);
	}
	for (r = 0; r < reps && !interrupted; r++) {
		snprintf(what, sizeof(what), "%s  untraced %d/%d", c->name, r + 1, reps);
		progress_draw(pg, what);
		n = 0;
		wl_argv(s, c, argv, &n, nb);
		snprintf(out, sizeof(out), "%s/raw/%s.untraced-%d.json", s->dir, c->file, r + 1);
		rc = spawn(argv, out, log, c->tunables);
		pg->done++;
		if (rc) {
			log_tail(log, what, sizeof(what));
			snprintf(c->failed, sizeof(c->failed), "untraced run exited %d: %.200s", rc,
				 what);
			return -1;
		}
	}
	if (interrupted)
		return -1;

	snprintf(what, sizeof(what), "%s  traced", c->name);
	progress_draw(pg, what);
	snprintf(json, sizeof(json), "%s/raw/%s.memstudy.json", s->dir, c->file);
	snprintf(out, sizeof(out), "%s/raw/%s.traced-workload.json", s->dir, c->file);
	n = 0;
	argv[n++] = s->self;
	argv[n++] = "run";
	argv[n++] = "--json";
	argv[n++] = json;
	argv[n++] = "-o";
	argv[n++] = "/dev/null";
	argv[n++] = "--";
	wl_argv(s, c, argv, &n, nb);
	rc = spawn(argv, out, log, c->tunables);
	pg->done++;
	if (rc) {
		log_tail(log, what, sizeof(what));
		snprintf(c->failed, sizeof(c->failed), "traced run exited %d: %.200s", rc, what);
		return -1;
	}
	return load_case(s, c);
}

/* ---- analysis ---------------------------------------------------------------------- */

/* The rules: which mechanism the counts show, and the sentence that says so. */
static void analyse_case(struct st_case *c)
{
	const struct st_free_kernel *k = &c->fk;
	const struct st_wl_phase *uf = &c->un[PH_FREE], *ua = &c->un[PH_ALLOC];
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
			pl(k->munmap, "munmap", a, sizeof(a)), pl(F, "free", b, sizeof(b)),
			k->munmap_bytes / MiB);
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
		    pl(k->brk, "brk shrink", a, sizeof(a)), pl(F, "free", b, sizeof(b)),
		    (double)F / k->brk, k->brk_shrink_bytes / MiB,
		    (double)k->brk_shrink_bytes / k->brk);
	} else if (k->brk >= 1) {
		c->mechanism = "few large brk shrinks";
		appendf(
		    v, vl,
		    "%s for %s released %.1f MiB (%.0f KiB per shrink): the freed blocks "
		    "coalesced into free space below the top, and the heap was trimmed only when "
		    "that space reached the top",
		    pl(k->brk, "brk shrink", a, sizeof(a)), pl(F, "free", b, sizeof(b)),
		    k->brk_shrink_bytes / MiB, k->brk_shrink_bytes / 1024.0 / k->brk);
	} else if (k->munmap >= 1) {
		c->mechanism = "some munmaps";
		appendf(v, vl, "%s for %s released %.1f MiB", pl(k->munmap, "munmap", a, sizeof(a)),
			pl(F, "free", b, sizeof(b)), k->munmap_bytes / MiB);
	} else {
		c->mechanism = "nothing returned";
		appendf(v, vl,
			"free gave nothing back to the kernel: 0 brk shrinks and 0 munmaps for %s; "
			"resident size %ld KiB before free, %ld KiB after, heap end %s",
			pl(F, "free", b, sizeof(b)), uf->rss_before, uf->rss_after,
			uf->brk_after == uf->brk_before ? "unchanged" : "moved");
		if (!strcmp(c->workload, "churn") && c->size + 8 <= 128)
			appendf(v, vl,
				"; %zu-byte blocks are fastbin-sized: free puts them in the tcache "
				"and the fastbins, which it never merges into the top chunk",
				c->size);
		else if (freed < ST_TRIM_THRESHOLD && !c->tunables[0])
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
	appendf(v, vl, ". Untraced, the free phase took %s", fmt_s(uf->wall, a, sizeof(a)));
	if (c->kshare_untraced >= 0)
		appendf(v, vl, ", %s of its CPU time in the kernel (user %s, sys %s%s)",
			fmt_pct(c->kshare_untraced, b, sizeof(b)), fmt_s(uf->user, d, sizeof(d)),
			fmt_s(uf->sys, e, sizeof(e)),
			cpu < 0.05 ? "; a coarse split below 50 ms of CPU" : "");
	if (ua->wall > 0)
		appendf(v, vl, "; %.1fx the alloc phase (%s)", uf->wall / ua->wall,
			fmt_s(ua->wall, a, sizeof(a)));
	if (F)
		appendf(v, vl,
			". Traced, free took %s per call at the median and %s at p99; syscalls "
			"were %s of the time inside free; dominant kernel event: %s.",
			fmt_ns(c->free_fn.p50, a, sizeof(a)), fmt_ns(c->free_fn.p99, b, sizeof(b)),
			fmt_pct(c->kshare_traced, d, sizeof(d)), c->dominant);
	else
		appendf(v, vl, ".");
}

struct group {
	char key[64];	/* churn-rev-1040, array-1040 */
	char label[64]; /* churn rev 1040 B */
	size_t size;
	struct st_case *c[24]; /* by N, done only */
	int n;
	double exp_free, exp_traced, exp_alloc, exp_brk;
	bool has_exp;
};

/* Least-squares slope of log y on log x; false with fewer than 2 usable points. */
static bool loglog_slope(const double *x, const double *y, int n, double *slope)
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
		return false;
	*slope = (m * sxy - sx * sy) / (m * sxx - sx * sx);
	return true;
}

static const char *growth_word(double e)
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

static int build_groups(struct study *s, struct group *g, int max)
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
			yf[k] = g[j].c[k]->un[PH_FREE].wall;
			yt[k] = g[j].c[k]->free_fn.sum;
			ya[k] = g[j].c[k]->un[PH_ALLOC].wall;
			yb[k] = g[j].c[k]->fk.brk + g[j].c[k]->fk.munmap;
		}
		g[j].has_exp = loglog_slope(x, yf, g[j].n, &g[j].exp_free);
		if (!loglog_slope(x, yt, g[j].n, &g[j].exp_traced))
			g[j].exp_traced = NAN;
		if (!loglog_slope(x, ya, g[j].n, &g[j].exp_alloc))
			g[j].exp_alloc = NAN;
		if (!loglog_slope(x, yb, g[j].n, &g[j].exp_brk))
			g[j].exp_brk = NAN;
	}
	return ng;
}

/* ---- files ------------------------------------------------------------------------- */

static FILE *open_out(struct study *s, const char *name)
{
	char path[PATH_MAX + 256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", s->dir, name);
	f = fopen(path, "w");
	if (!f)
		ms_err("cannot write %s: %s", path, strerror(errno));
	return f;
}

static void write_csv(struct study *s)
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
		   "dominant,mechanism,lost_events\n");
	for (i = 0; i < s->ncases; i++) {
		struct st_case *c = &s->cases[i];
		const struct st_wl_phase *u = c->un;

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
			u[PH_ALLOC].wall, u[PH_TOUCH].wall, u[PH_FREE].wall, c->un_free_min,
			c->un_free_max, u[PH_FREE].user, u[PH_FREE].sys, u[PH_ALLOC].minflt,
			u[PH_FREE].minflt, u[PH_FREE].majflt, u[PH_FREE].rss_before,
			u[PH_FREE].rss_after,
			(long long)(u[PH_FREE].brk_after - u[PH_FREE].brk_before),
			c->tr_dur[PH_ALLOC], c->tr_dur[PH_FREE]);
		fprintf(f, "%ld,%.0f,%.0f,%.0f,%ld,%.0f,%.0f,%.0f,%.0f,", c->malloc_fn.calls,
			c->malloc_fn.p50, c->malloc_fn.p99, c->malloc_fn.max, c->free_fn.calls,
			c->free_fn.p50, c->free_fn.p99, c->free_fn.max, c->free_fn.sum);
		fprintf(f, "%ld,%lld,%ld,%lld,%ld,%lld,%ld,%ld,%ld,%.0f,%.4f,%.4f,%s,%s,%ld\n",
			c->fk.brk, c->fk.brk_shrink_bytes, c->fk.munmap, c->fk.munmap_bytes,
			c->fk.madvise, c->fk.madvise_bytes, c->fk.mprotect, c->fk.faults,
			c->fk.major, c->fk.syscall_ns, c->kshare_untraced, c->kshare_traced,
			c->dominant, c->mechanism, c->lost_events);
	}
	fclose(f);
}

static bool has_size(struct group *g, int ng, size_t size)
{
	for (int j = 0; j < ng; j++)
		if (g[j].size == size && g[j].n)
			return true;
	return false;
}

static struct st_case *largest(struct group *g)
{
	return g->n ? g->c[g->n - 1] : NULL;
}

/* Data files and plots.gp; gnuplot runs in DIR so the script can be re-run there. */
static void write_plots(struct study *s, struct group *g, int ng, char *made, size_t mlen)
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
		fprintf(f,
			"# %s\n# N  free_untraced_s  free_traced_s(sum of free latencies)  "
			"alloc_untraced_s  brk_in_free  munmap_in_free\n",
			g[j].label);
		for (k = 0; k < g[j].n; k++) {
			struct st_case *c = g[j].c[k];

			fprintf(f, "%ld %.9g %.9g %.9g %ld %ld\n", c->count, c->un[PH_FREE].wall,
				c->free_fn.sum / 1e9, c->un[PH_ALLOC].wall, c->fk.brk,
				c->fk.munmap);
		}
		fclose(f);
		for (k = 0; k < nsz && sizes[k] != g[j].size; k++)
			;
		if (k == nsz && nsz < ST_MAX_SIZES)
			sizes[nsz++] = g[j].size;
	}
	/* per group at its largest N: kernel calls inside free per 1000 frees, kernel share */
	if (!(f = open_out(s, "plots/kernel.dat")))
		return;
	fprintf(f, "# case  brk  munmap  madvise  page_faults  (inside free, per 1000 frees; ? = "
		   "none)  kernel_share_untraced_%%  kernel_share_traced_%%\n");
	for (j = 0; j < ng; j++) {
		struct st_case *c = largest(&g[j]);
		double per = c->free_fn.calls ? 1000.0 / c->free_fn.calls : 0;
		double vals[4] = {c->fk.brk * per, c->fk.munmap * per, c->fk.madvise * per,
				  c->fk.faults * per};

		st_format_count(c->count, b, sizeof(b));
		fprintf(f, "\"%s N=%s\"", g[j].label, b);
		for (k = 0; k < 4; k++)
			vals[k] > 0 ? fprintf(f, " %.6g", vals[k]) : fprintf(f, " ?");
		fprintf(f, " %.2f %.2f\n", c->kshare_untraced < 0 ? 0 : 100 * c->kshare_untraced,
			c->kshare_traced < 0 ? 0 : 100 * c->kshare_traced);
	}
	fclose(f);

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
			  : "free phase time vs N: untraced (solid, real time) and traced "
			    "(dashed, sum of free latencies, inflated by the probes)");
		for (k = 0; k < nsz; k++) {
			fprintf(gp, "set title '%zu-byte blocks'\nset ylabel '%s'\nplot ", sizes[k],
				i ? "phase time (s)" : "free time (s)");
			col = 0;
			for (j = 0; j < ng; j++) {
				if (g[j].size != sizes[k])
					continue;
				col++;
				fprintf(
				    gp,
				    "%s'plots/free-%s.dat' u 1:2 w lp lw 2 pt 7 lc %d dt 1 t '%s', "
				    "'' u 1:%d w lp lw 1.5 pt 6 lc %d dt 2 t %s",
				    col > 1 ? ", \\\n     " : "", g[j].key, col, g[j].label,
				    i ? 4 : 3, col, i ? "'  alloc'" : "''");
			}
			fprintf(gp, "\n");
		}
		fprintf(gp, "unset multiplot\n");
	}
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
	fprintf(gp,
		"\nset output 'kernel-share.png'\nunset logscale y\nset yrange [0:135]\n"
		"set ytics 0,20,100\nset key top left vertical\n"
		"set title 'share of free() time spent in the kernel, largest N of each case'\n"
		"set ylabel 'percent'\n"
		"plot 'plots/kernel.dat' u 6:xtic(1) t 'untraced: sys / (user+sys) of the free "
		"phase' lc rgb '#ff7f0e', '' u 7 t 'traced: syscall time / time inside free' lc "
		"rgb '#7f7f7f'\n");
	fclose(gp);
	snprintf(made, mlen, "free-vs-n.png alloc-vs-free.png kernel-in-free.png kernel-share.png");
	(void)has_size;
}

/* --case with tunables: one plot, default and each variant side by side. */
static void write_tunable_plot(struct study *s, char *made, size_t mlen)
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
		fprintf(f, "\"%s\" %.6f %ld %ld %ld %.3f\n", c->variant, c->un[PH_FREE].wall * 1e3,
			c->fk.brk, c->fk.munmap, c->fk.madvise, c->un[PH_FREE].rss_after / 1024.0);
	}
	fclose(f);
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
	fclose(gp);
	snprintf(made, mlen, "tunables.png");
}

static bool run_gnuplot(struct study *s, char *why, size_t len)
{
	char gnuplot[PATH_MAX], script[PATH_MAX], out[PATH_MAX], log[PATH_MAX + 64], cwd[PATH_MAX];
	char *argv[] = {gnuplot, script, NULL};
	int rc;

	if (!in_path("gnuplot", gnuplot, sizeof(gnuplot))) {
		snprintf(why, len,
			 "gnuplot is not installed: install it with 'apt-get install "
			 "gnuplot-nox', then run 'gnuplot plots.gp' in the output directory");
		return false;
	}
	snprintf(script, sizeof(script), "plots.gp");
	snprintf(out, sizeof(out), "/dev/null");
	snprintf(log, sizeof(log), "raw/gnuplot.log"); /* opened in DIR */
	if (!getcwd(cwd, sizeof(cwd)) || chdir(s->dir)) {
		snprintf(why, len, "cannot enter %.300s", s->dir);
		return false;
	}
	rc = spawn(argv, out, log, NULL);
	if (chdir(cwd))
		ms_warn("cannot return to %s", cwd);
	if (rc) {
		snprintf(why, len, "gnuplot failed (exit %d); see raw/gnuplot.log", rc);
		return false;
	}
	return true;
}

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
		const struct st_wl_phase *u = c->un;

		st_format_count(c->count, nb, sizeof(nb));
		if (!c->done) {
			fprintf(f, "| %s | %s | not run: %s |\n", c->name, nb, c->failed);
			continue;
		}
		fprintf(f, "| %s | %s%s | %s | %s | %s | %s / %s | %s | %s / %s | ", c->name, nb,
			c->reduced ? "*" : "", fmt_s(u[PH_ALLOC].wall, a, sizeof(a)),
			fmt_s(u[PH_TOUCH].present ? u[PH_TOUCH].wall : -1, b, sizeof(b)),
			fmt_s(u[PH_FREE].wall, c1, sizeof(c1)),
			fmt_s(u[PH_FREE].user, d, sizeof(d)), fmt_s(u[PH_FREE].sys, e, sizeof(e)),
			fmt_ns(c->free_fn.sum, g1, sizeof(g1)),
			fmt_ns(c->malloc_fn.p50, h, sizeof(h)),
			fmt_ns(c->malloc_fn.p99, i1, sizeof(i1)));
		fprintf(f,
			"%s / %s / %s | %ld (%.1f) | %ld | %ld | %ld (%ld) | %ld → %ld | %+.1f MiB "
			"| %s |\n",
			fmt_ns(c->free_fn.p50, a, sizeof(a)), fmt_ns(c->free_fn.p99, b, sizeof(b)),
			fmt_ns(c->free_fn.max, c1, sizeof(c1)), c->fk.brk,
			c->fk.brk_shrink_bytes / MiB, c->fk.munmap, c->fk.madvise, c->fk.faults,
			c->fk.major, u[PH_FREE].rss_before, u[PH_FREE].rss_after,
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
		"shrinks; nothing returned) - see `analyse_case` in `user/study.c`.\n\n"
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
		struct st_case *c = largest(&g[j]);

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
			fmt_pct(c->kshare_untraced, a, sizeof(a)),
			fmt_pct(c->kshare_traced, b, sizeof(b)));
	}
	fprintf(f, "\n");
}

/* Why a group's exponent is what it is: rules on the first and last case. */
static void md_group_why(FILE *f, struct group *g)
{
	struct st_case *lo = g->c[0], *hi = largest(g);
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
		    n2, fmt_pct(hi->kshare_untraced, a, sizeof(a)),
		    fmt_ns(lo->free_fn.p50, b, sizeof(b)), n1,
		    fmt_ns(hi->free_fn.p50, c, sizeof(c)), n2);
	else
		fprintf(f,
			" The extra growth is in the kernel: %s of the free phase's CPU time "
			"at N=%s.",
			fmt_pct(hi->kshare_untraced, a, sizeof(a)), n2);
}

static void md_verdicts(FILE *f, struct group *g, int ng)
{
	char n1[32], n2[32];
	int j, k;

	fprintf(f, "## Verdicts\n\nOne per case (order and size), at its largest N, then every "
		   "N. Numbers are the traced counts (raw/NAME.memstudy.json) and untraced times "
		   "(raw/NAME.untraced-R.json).\n\n");
	for (j = 0; j < ng; j++) {
		struct st_case *c = largest(&g[j]);

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
			fmt_s(c->un[PH_ALLOC].wall, a, sizeof(a)),
			fmt_s(c->un[PH_FREE].wall, b, sizeof(b)));
		fprintf(f, "%s | %ld (%.1f) | %ld | %ld | %ld | %ld | %+.1f MiB | %s |\n",
			fmt_s(c->un[PH_FREE].sys, a, sizeof(a)), c->fk.brk,
			c->fk.brk_shrink_bytes / MiB, c->fk.munmap, c->fk.madvise,
			c->un[PH_ALLOC].minflt, c->un[PH_FREE].rss_after,
			((double)c->un[PH_FREE].brk_after - (double)c->un[PH_FREE].brk_before) /
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
		if (c->fk.brk != base->fk.brk)
			fprintf(f, " brk shrinks in free %ld → %ld;", base->fk.brk, c->fk.brk);
		if (c->fk.munmap != base->fk.munmap)
			fprintf(f, " munmaps in free %ld → %ld;", base->fk.munmap, c->fk.munmap);
		if (c->fk.madvise != base->fk.madvise)
			fprintf(f, " madvise in free %ld → %ld;", base->fk.madvise, c->fk.madvise);
		if (labs(c->un[PH_ALLOC].minflt - base->un[PH_ALLOC].minflt) >
		    base->un[PH_ALLOC].minflt / 10)
			fprintf(f, " alloc faults %ld → %ld;", base->un[PH_ALLOC].minflt,
				c->un[PH_ALLOC].minflt);
		if (labs(c->un[PH_FREE].rss_after - base->un[PH_FREE].rss_after) > 256)
			fprintf(f, " resident after free %ld → %ld KiB;",
				base->un[PH_FREE].rss_after, c->un[PH_FREE].rss_after);
		r = base->un[PH_FREE].wall > 0 ? c->un[PH_FREE].wall / base->un[PH_FREE].wall : 0;
		fprintf(f, " free time %s → %s (x%.2f%s).\n",
			fmt_s(base->un[PH_FREE].wall, a, sizeof(a)),
			fmt_s(c->un[PH_FREE].wall, b, sizeof(b)), r,
			r > 0.8 && r < 1.25 ? ", within run-to-run noise" : "");
		fprintf(f, "  Verdict: %s\n", c->verdict);
	}
	fprintf(f, "\nThe default run's verdict: %s\n\n", base->verdict);
}

static void write_report(struct study *s, struct group *g, int ng, const char *plots,
			 const char *plot_err, double elapsed, int failed)
{
	FILE *f = open_out(s, "report.md");
	struct st_case *cs[ST_MAX_CASES];
	char p[256], *save = NULL, *t;
	int i, n = 0;

	if (!f)
		return;
	fprintf(f, "# memstudy study%s\n\n", s->o->one_case ? ": one case and its tunables" : "");
	md_header(f, s, elapsed);
	if (interrupted)
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
	fclose(f);
}

/* ---- driver ------------------------------------------------------------------------ */

static bool mkdir_p(const char *dir)
{
	char buf[PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", dir);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return false;
		*p = '/';
	}
	return !mkdir(buf, 0755) || errno == EEXIST;
}

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

/* plan.json: what was asked and planned, so --from DIR can redo the analysis. */
static void write_plan(struct study *s, double elapsed)
{
	json_object *root = json_object_new_object(), *arr = json_object_new_array();
	char path[PATH_MAX + 64];
	int i;

	json_object_object_add(root, "cmdline", json_object_new_string(s->o->cmdline));
	json_object_object_add(root, "one_case",
			       s->o->one_case ? json_object_new_string(s->o->one_case) : NULL);
	json_object_object_add(root, "skipped", json_object_new_string(s->skipped));
	json_object_object_add(root, "reduced", json_object_new_string(s->reduced));
	json_object_object_add(root, "repeat", json_object_new_int(s->o->repeat));
	json_object_object_add(root, "mem_available", json_object_new_double(s->mem_available));
	json_object_object_add(root, "swap_total", json_object_new_double(s->swap_total));
	json_object_object_add(root, "elapsed_s", json_object_new_double(elapsed));
	for (i = 0; i < s->ncases; i++) {
		struct st_case *c = &s->cases[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(c->name));
		json_object_object_add(o, "file", json_object_new_string(c->file));
		json_object_object_add(o, "variant", json_object_new_string(c->variant));
		json_object_object_add(o, "tunables", json_object_new_string(c->tunables));
		json_object_object_add(o, "reduced", json_object_new_boolean(c->reduced));
		json_object_object_add(o, "failed", json_object_new_string(c->failed));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "cases", arr);
	snprintf(path, sizeof(path), "%s/plan.json", s->dir);
	if (json_object_to_file_ext(path, root, JSON_C_TO_STRING_PRETTY))
		ms_warn("cannot write %s", path);
	json_object_put(root);
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return v && json_object_get_string(v) ? json_object_get_string(v) : "";
}

static bool read_plan(struct study *s, double *elapsed)
{
	static char cmdline[1024], one_case[128];
	char path[PATH_MAX + 64];
	json_object *root, *arr;
	size_t i;

	snprintf(path, sizeof(path), "%s/plan.json", s->dir);
	root = json_object_from_file(path);
	if (!root || !(arr = jget(root, "cases")) || !json_object_is_type(arr, json_type_array)) {
		ms_err("%s is missing or not a study plan: --from takes a directory written by "
		       "'memstudy study'",
		       path);
		if (root)
			json_object_put(root);
		return false;
	}
	snprintf(cmdline, sizeof(cmdline), "%s", jstr(root, "cmdline"));
	snprintf(s->o->cmdline, sizeof(s->o->cmdline), "%.900s (re-analysed with --from)", cmdline);
	if (jget(root, "one_case")) {
		snprintf(one_case, sizeof(one_case), "%s", jstr(root, "one_case"));
		s->o->one_case = one_case;
	}
	snprintf(s->skipped, sizeof(s->skipped), "%s", jstr(root, "skipped"));
	snprintf(s->reduced, sizeof(s->reduced), "%s", jstr(root, "reduced"));
	s->o->repeat = jnum(root, "repeat");
	s->mem_available = jnum(root, "mem_available");
	s->swap_total = jnum(root, "swap_total");
	*elapsed = jnum(root, "elapsed_s");
	s->ncases = 0;
	for (i = 0; i < json_object_array_length(arr) && s->ncases < ST_MAX_CASES; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		struct st_case *c = &s->cases[s->ncases];

		if (!st_parse_case(jstr(o, "name"), c))
			continue;
		snprintf(c->file, sizeof(c->file), "%s", jstr(o, "file"));
		snprintf(c->variant, sizeof(c->variant), "%s", jstr(o, "variant"));
		snprintf(c->tunables, sizeof(c->tunables), "%s", jstr(o, "tunables"));
		snprintf(c->failed, sizeof(c->failed), "%s", jstr(o, "failed"));
		c->reduced = jnum(o, "reduced");
		s->ncases++;
	}
	json_object_put(root);
	return true;
}

int st_run(struct study *s)
{
	static struct group g[64];
	struct progress pg = {.tty = isatty(2), .t0 = now_s()};
	char plots[256] = "", plot_err[512] = "", sub[PATH_MAX + 64], nb[32];
	struct sigaction sa = {.sa_handler = on_sigint};
	int i, ng, failed = 0, done = 0;
	double elapsed = 0;

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
	snprintf(sub, sizeof(sub), "%s/raw", s->dir);
	if (!mkdir_p(sub) || (snprintf(sub, sizeof(sub), "%s/plots", s->dir), !mkdir_p(sub))) {
		ms_err("cannot create %s: %s (pick another --output DIR)", sub, strerror(errno));
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	pg.total = s->ncases * (s->o->repeat + 1);
	fprintf(stderr,
		"memstudy study: %d cases into %s/ (Ctrl-C stops and reports what is "
		"done)\n",
		s->ncases, s->dir);
	for (i = 0; i < s->ncases && !interrupted; i++) {
		struct st_case *c = &s->cases[i];
		char a[32], b[32];

		if (run_case(s, c, &pg)) {
			if (interrupted)
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
				fmt_s(c->un[PH_FREE].wall, a, sizeof(a)),
				fmt_ns(c->free_fn.sum, b, sizeof(b)), c->fk.brk, c->fk.munmap,
				c->fk.faults);
		progress_draw(&pg, c->name);
	}
	if (pg.tty)
		fprintf(stderr, "\r\033[K");
	if (interrupted)
		ms_warn("interrupted: writing the report for the %d case(s) done", done);
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
	fprintf(stderr, "memstudy study: %d of %d cases %s in %.0f s; report: %s/report.md\n", done,
		s->ncases, s->o->from ? "re-analysed" : "done", now_s() - pg.t0, s->dir);
	if (!done)
		return 1;
	return interrupted ? 130 : failed ? 1 : 0;
}
