/* SPDX-License-Identifier: GPL-2.0 */
/* The attach engine and collector: load BPF, place probes for one target, read results. */
#ifndef MEMSTUDY_TRACER_H
#define MEMSTUDY_TRACER_H

#include <stdbool.h>

#include "output/report.h"
#include "resolve/target.h"

struct tracer;

/* --probe-floor: the cost floor bench/overhead.py measures memstudy against. */
enum tracer_floor {
	TRACER_FLOOR_NONE,
	TRACER_FLOOR_ALL,     /* at every probe point memstudy uses, kernel side included */
	TRACER_FLOOR_UPROBES, /* at the allocator's uprobes only */
};

struct tracer_opts {
	bool verbose;
	bool no_mount;	/* do not mount tracefs ourselves */
	int floor;	/* enum tracer_floor: empty programs in place of memstudy's */
	bool per_alloc; /* --per-allocation: stream every call and fault to the collector */
	unsigned int thread_slots; /* per-thread state slots; 0 = from pid_max */
	unsigned int ringbuf_mb;   /* per-allocation ring buffer size; 0 = default */
	bool classic_uprobes; /* one perf-event uprobe per probe point, not multi-uprobe links */
	bool expect_exec;     /* run: the first exec is the command's own, not news */
};

/* An exec of the target seen while tracing. */
struct tracer_exec {
	uint64_t ts_ns;
	char filename[MS_PATH_LEN];
};

struct peralloc;

/* Open and load the BPF object for T; NULL after printing what to do. */
struct tracer *tracer__open(const struct target *t, const struct tracer_opts *opts);
/* Attach every probe (uprobes for t->pid only); -1 after printing what to do. */
int tracer__attach(struct tracer *tr);
/* Wait up to TIMEOUT_MS for ring-buffer records (phase markers). */
int tracer__poll(struct tracer *tr, int timeout_ms);
/* Read the maps into R (can be called while tracing, for --interval). */
int tracer__collect(struct tracer *tr, struct report *r);
/* The execs seen so far (*N of them; *DROPPED more did not fit). */
const struct tracer_exec *tracer__execs(const struct tracer *tr, int *n, uint64_t *dropped);
/* Per-allocation mode: after tracer__detach, drain the ring buffer, read the stacks and
 * symbolize; NULL in summary mode. THREAD_STATE_LOST: calls the kernel could not follow
 * (the report's lost_by_reason.thread_state). */
struct peralloc *tracer__finish_peralloc(struct tracer *tr, uint64_t thread_state_lost);
/* Detach everything: the target runs at full speed again. */
void tracer__detach(struct tracer *tr);
void tracer__destroy(struct tracer *tr);
/* A warning on stderr for each function whose probe could not avoid a single-step. */
void tracer__warn_single_stepped(const struct target *t);
/* Probe placement, one line per function, for --dry-run and -v. */
void tracer__print_probes(const struct target *t, FILE *out);

/* Root or CAP_BPF + CAP_PERFMON; otherwise print how to get them and return -1. */
int tracer__check_privileges(void);
/* Mount tracefs if needed (syscall tracepoints need it); -1 after saying how. */
int tracefs__ensure(bool may_mount);

#endif
