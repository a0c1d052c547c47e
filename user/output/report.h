/* SPDX-License-Identifier: GPL-2.0 */
/* What a trace gathered, summed over CPUs, and how it is printed (text and JSON). */
#ifndef MEMSTUDY_REPORT_H
#define MEMSTUDY_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/types.h>

#include "attach/calibrate.h"
#include "memstudy.h"
#include "resolve/target.h"

struct report_phase {
	char name[MS_PHASE_NAME_LEN];
	uint64_t start_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	uint64_t end_ns;
	struct ms_fn_stats fn[MS_FN_MAX];
	struct ms_own_stats own[MS_FN_MAX]; /* the part of fn[] glibc made on its own behalf */
	struct ms_sys_stats sys[MS_SYS_MAX];
	struct ms_fault_stats faults;
};

/* An exec of the target while it was traced (issue: execs are not followed yet). */
struct report_exec {
	double t_s; /* since the trace started */
	char exe[MS_PATH_LEN];
	char allocator[MS_PATH_LEN];
	bool probed; /* the new image's allocator is the probed file: its calls are counted */
};

#define REPORT_MAX_EXECS 16

struct report {
	const struct target *target;
	double duration_s;
	uint64_t lost[MS_LOST_MAX];
	uint64_t lost_total;
	uint64_t phases_merged;
	struct probe_costs costs;	  /* per-hit costs for the own-cost estimate */
	unsigned int thread_slots;	  /* per-thread state slots in the kernel */
	uint64_t threads_in_task_storage; /* threads whose slot another thread held */
	int nphases; /* phases[0] is "before any marker"; 1..nphases-1 named by the target */
	struct report_phase phases[MS_MAX_PHASES];
	struct report_phase total;
	bool target_exited;
	struct report_exec execs[REPORT_MAX_EXECS];
	int nexecs;
	uint64_t execs_dropped;
	int exit_status; /* for run: as from waitpid */
	/* glibc's internal steps inside each function (libc6-dbg), over the whole trace */
	bool steps_traced;
	struct ms_step_stats steps[MS_FN_MAX][MS_STEP_MAX];
	bool own_calls;				 /* glibc's own calls were told apart */
	uint64_t variant_calls[MS_VARIANTS_MAX]; /* per C++ operator variant (ms_variants) */
	/* per thread (collect__threads), in the order threads first called */
	struct ms_thread_work *threads;
	int nthreads;
	uint64_t threads_without_numbers; /* threads past the per-thread map's size */
	const struct procs *procs;	  /* --follow: the processes traced; or NULL */
	uint64_t children_not_followed;	  /* without --follow: the target's children */
	uint64_t follow_map_full;	  /* --follow: children not followed, map full */
};

/* Sum the phases into r->total. */
void report__sum(struct report *r);
/* The latency below which PCT percent of F's calls fall (from its histogram). */
uint64_t report__percentile(const struct ms_fn_stats *f, double pct);
/* What memstudy's probes cost the target per call of function F, and over the trace. */
uint64_t report__probe_cost_ns(const struct report *r, const struct target_fn *f);
void report__overhead(const struct report *r, uint64_t *hits, uint64_t *ns);
/* The probes the kernel single-steps (~10x an emulated one): the allocator functions', C++
 * variants', and with STEPS glibc's internal steps'. Their names into NAMES (at most MAX);
 * how many. */
int report__single_stepped(const struct report *r, bool steps, const char **names, int max);
struct report_text_opts {
	bool histograms; /* a latency histogram per function called */
	bool all_rows;	 /* rows for functions and syscalls never called (--all) */
};
void report__print_text(const struct report *r, FILE *out, const struct report_text_opts *o);
/* Per thread: the TOP threads by calls (all in the JSON). */
void report__print_threads(const struct report *r, FILE *out, int top);
/* --follow: the processes, grouped by executable (procs_report.c); and in the JSON. */
void report__print_procs(const struct report *r, FILE *out, int top);
struct json_object *report__procs_json(const struct report *r);
/* The report as one JSON object: the contract is documented in docs/json.md. */
struct json_object;
struct json_object *report__to_json(const struct report *r);
/* One compact line of rates between two snapshots, for --interval. */
void report__print_interval(const struct report *prev, const struct report *now, double secs,
			    FILE *out);

#endif
