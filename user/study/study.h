/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memstudy study: the founding notes' experiments (mem_test = churn, mem_test_arr = array)
 * run traced and untraced over counts, free orders, block sizes and allocator tunables,
 * then analysed (scaling exponents, kernel work inside free, verdicts) into a report.
 * cmd_study.c is the command line and the case plan; study.c runs and writes.
 */
#ifndef MEMSTUDY_STUDY_H
#define MEMSTUDY_STUDY_H

#include <stdbool.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/glibc_layout.h"
#include "lib/json.h"
#include "lib/spawn.h"

#define ST_MAX_CASES	512
#define ST_MAX_TUNABLES 8
#define ST_MAX_SIZES	8
#define ST_MAX_REPEAT	16 /* untraced runs per case */

enum { PH_ALLOC, PH_TOUCH, PH_FREE, PH_N };

/* One phase as the workload itself measured it (its --json ground truth). */
struct st_wl_phase {
	bool present;
	double wall, user, sys;
	long minflt, majflt;
	long rss_before, rss_after; /* KiB */
	unsigned long long brk_before, brk_after;
};

/* Latency of one allocator function in one phase, from the traced run (ns). */
struct st_fn {
	long calls;
	double p50, p99, max, sum;
};

/* Kernel work inside free() during the free phase, from the traced run. */
struct st_free_kernel {
	/* charged to free calls by the tracer (functions.free.kernel) */
	long brk, munmap, madvise, mprotect, mmap, mremap;
	long faults, major;
	double syscall_ns;
	/* whole free phase (syscalls.*): bytes and time per syscall */
	long long brk_shrink_bytes, munmap_bytes, madvise_bytes;
	double brk_ns, munmap_ns, madvise_ns, mprotect_ns, mmap_ns, mremap_ns;
};

struct st_case {
	char name[96];	/* churn-rev-1040-1e5, array-1040-1e5 */
	char file[160]; /* prefix of the raw files: name plus variant tag */
	char workload[16];
	char order[8]; /* "" for array */
	size_t size;
	long count;
	char tunables[256]; /* GLIBC_TUNABLES value; "" = glibc defaults */
	char variant[256];  /* "default" or the tunables as given by the user */
	bool reduced;	    /* N picked below the usual ladder to bound memory */

	/* results */
	bool done;
	char failed[256]; /* why it could not run ("" = fine) */
	int repeats;
	struct st_wl_phase untraced[PH_N]; /* the untraced run with the median free time */
	double untraced_free_min, untraced_free_max;
	double per_fault_min[PH_N], per_fault_max[PH_N]; /* us, over the untraced runs; -1 none */
	struct st_wl_phase traced_wl[PH_N];		 /* the workload's own view while traced */
	double tr_dur[PH_N];				 /* phase durations seen by the tracer */
	struct st_fn malloc_fn, free_fn;
	struct st_free_kernel free_kernel;
	long lost_events;

	/* analysis */
	double kshare_untraced; /* sys / (user + sys) of the untraced free phase, -1 unknown */
	double kshare_traced;	/* syscall ns inside free / ns inside free, -1 unknown */
	const char *dominant;	/* kernel event that took most time inside free */
	const char *mechanism;	/* short name of the rule that matched */
	char verdict[1200];
};

struct st_opts {
	const char *output;
	bool quick;
	long min_count, max_count;
	size_t sizes[ST_MAX_SIZES];
	int nsizes;
	bool order_on[3]; /* fwd, rev, random */
	bool wl_churn, wl_array;
	int repeat;
	double mem_budget;		       /* bytes a case may use */
	double huge_cap;		       /* bytes for blocks at or above the mmap threshold */
	const char *one_case;		       /* --case */
	const char *tunables[ST_MAX_TUNABLES]; /* --tunable, as given */
	int ntunables;
	bool list_only;
	bool no_plots;
	const char *from; /* --from DIR: re-analyse a saved study */
	char cmdline[1024];
};

struct study {
	struct st_opts *o;
	struct st_case cases[ST_MAX_CASES];
	int ncases;
	char skipped[4096]; /* what the plan left out, for the report */
	char reduced[1024]; /* where N was lowered to bound memory */
	char dir[4096];
	int dirfd, rawfd, plotsfd; /* DIR, DIR/raw, DIR/plots (lib/outfile.h) */
	bool write_failed;	   /* an output file could not be written: exit 1 */
	char self[4096];
	char workload[4096];
	double mem_available; /* bytes, from /proc/meminfo */
	double swap_total;
};

/* Case names: churn-ORDER-SIZE-COUNT, array-SIZE-COUNT; counts 10^k print as 1ek. */
void st_format_count(long n, char *buf, size_t len);
bool st_parse_case(const char *name, struct st_case *c);
/* Translate M_TRIM_THRESHOLD=1M etc. into "glibc.malloc.trim_threshold=1048576". */
bool st_tunable(const char *spec, char *out, size_t len);
/* Bytes one case needs (heap or mappings plus the workload's pointer arrays). */
double st_case_bytes(const struct st_case *c);

/* Run every planned case, analyse, write DIR; returns the exit status (runner.c). */
int st_run(struct study *s);

/* The groups a study fits exponents on: one workload, order and size over N (rules.c). */
struct group {
	char key[64];	/* churn-rev-1040, array-1040 */
	char label[64]; /* churn rev 1040 B */
	size_t size;
	struct st_case *c[24]; /* by N, done only */
	int n;
	double exp_free, exp_traced, exp_alloc, exp_brk;
	int pts_free, pts_traced, pts_alloc, pts_brk; /* points each slope used (0: none) */
	bool has_exp;
};

extern volatile sig_atomic_t st_interrupted; /* Ctrl-C: report what is done */

/* runner.c */
void log_tail(int fd, char *out, size_t len);
/* results.c */
bool parse_workload(const char *path, struct st_wl_phase ph[PH_N], char *why, size_t len);
bool parse_traced(const char *path, struct st_case *c, char *why, size_t len);
/* rules.c */
void analyse_case(struct st_case *c);
bool loglog_slope(const double *x, const double *y, int n, double *slope);
/* The same; returns how many points the slope used (0 when there is none). */
int loglog_fit(const double *x, const double *y, int n, double *slope);
const char *growth_word(double e);
int build_groups(struct study *s, struct group *g, int max);
struct st_case *group_largest(struct group *g); /* the case at the largest N, or NULL */
/* plots.c */
/* NAME in DIR ("plots/NAME" in DIR/plots), created afresh; close it with close_out. */
FILE *open_out(struct study *s, const char *name);
void close_out(struct study *s, FILE *f, const char *name);
void write_csv(struct study *s);
void write_plots(struct study *s, struct group *g, int ng, char *made, size_t mlen);
/* "N^{1.02}, fit on 4 N", "slope 0.98 between 2 N, not a fit": a legend's exponent. */
void st_plot_exponent(double e, int pts, char *buf, size_t len);
void write_tunable_plot(struct study *s, char *made, size_t mlen);
bool run_gnuplot(struct study *s, char *why, size_t len);
/* markdown.c: wording that depends on how many runs or points a number rests on */
/* Kernel time per page fault of a phase: getrusage sys over its faults, in us; -1 = no fault. */
double st_sys_per_fault_us(const struct st_wl_phase *p);
/* "4.31 µs", "4.31 µs (coarse)" when the phase had under 50 ms of sys time, "-": no fault. */
void st_fmt_per_fault(const struct st_wl_phase *p, char *buf, size_t len);
/* An exponent worded by its points: "1.02 (fit on 4 N)", "0.98 (slope between two points,
 * not a fit)", "- (one point)". */
void st_fmt_exponent(double e, int pts, char *buf, size_t len);
/* How the kept untraced run was chosen: "1 run, no median", "median of 3 runs". */
void st_fmt_runs(int runs, char *buf, size_t len);
void write_report(struct study *s, struct group *g, int ng, const char *plots, const char *plot_err,
		  double elapsed, int failed);
/* report.html beside report.md: the same, as a page (its figures embedded). */
void write_report_html(struct study *s, const char *plots, const char *plot_err);
/* plan.c */
extern const char *const st_order_names[3]; /* fwd, rev, random */
void st_meminfo(struct study *s);
int st_plan(struct study *s);
void write_plan(struct study *s, double elapsed);
bool read_plan(struct study *s, double *elapsed);
/* The plan in ROOT (read from PATH) into S; false after saying what is wrong. */
bool st_plan_from_json(struct study *s, json_object *root, const char *path, double *elapsed);

#endif
