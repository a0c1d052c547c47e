/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --follow: the processes of the traced tree (procs.c). The kernel side stops each new
 * process before its first instruction (a forked child, and an image after exec); here its
 * probes are attached, then it is continued: no allocator call of a followed process runs
 * unprobed. A child runs its parent's image (same files, same probes); an exec resolves its
 * new image's allocator (the process's own LD_PRELOAD and LD_LIBRARY_PATH) and probes that.
 */
#ifndef MEMSTUDY_COLLECT_PROCS_H
#define MEMSTUDY_COLLECT_PROCS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "attach/tracer.h"
#include "memstudy.h"
#include "resolve/target.h"

/* A program image the processes run: resolved once, shared by every process running it. */
struct proc_image {
	struct target t;
	bool probed; /* an allocator was found: its probes go on each process running it */
};

struct peralloc;
struct codemap;

struct proc {
	pid_t pid, ppid;
	struct peralloc *pa; /* --per-allocation: its own collector (the target's: the sink's) */
	struct codemap *cm;  /* its code: its parent's until it execs (then in procs.cms) */
	char comm[16];
	struct proc_image *img;	   /* NULL: an image without an allocator to probe */
	struct tracer_links links; /* its probes (the target's are the tracer's own) */
	uint64_t start_ns, end_ns; /* bpf_ktime_get_ns: fork (the target: trace start), exit */
	uint64_t attach_ns;	   /* from its stop (fork or exec) to its probes in place */
	int exit_code;		   /* as wait() reports it, when exited */
	bool exited;
	int execs;
	bool attach_failed;
	struct ms_proc_fn *fn; /* its calls per function slot (MS_FN_MAX), or NULL: none */
};

struct procs {
	struct tracer *tr;
	struct target *root; /* the target: its function names are the tree's (share_slots) */
	struct proc *p;	     /* p[0] is the target */
	int n, cap;
	struct proc_image **img;
	int nimg;
	uint64_t *lat_ns; /* every stop-to-probed latency, for the median and the maximum */
	int nlat;
	uint64_t attach_failures, unresolved_images;
	uint64_t slots_lost; /* exec'd images' custom functions past MS_FN_MAX: not probed */
	/* --per-allocation: a collector per process, made like the target's */
	struct peralloc *(*pa_new)(void *ctx, pid_t pid, struct codemap *cm);
	void *pa_ctx;
	struct peralloc *root_pa;
	struct codemap *root_cm;
	struct codemap **cms; /* the code maps made for exec'd and adopted processes */
	int ncms;
	struct proc_tid *tids; /* which process each thread's records belong to */
	uint64_t tids_cap, ntids;
	/* memstudy record: told of each code map the tree makes (its rec_id set) */
	void (*cm_made)(void *ctx, struct codemap *cm);
	void *cm_made_ctx;
};

/* The table for a trace of ROOT (already probed by TR), started at START_NS. TR NULL:
 * memstudy report's replay of a recording, which routes the records to each process's
 * collector and code map as the trace did, and never probes, stops or signals a process
 * (the recording's PROCS block says what the trace learned of each). */
struct procs *procs__new(struct tracer *tr, struct target *root, uint64_t start_ns);
void procs__free(struct procs *ps);
/* A fork or exit record (MS_EV_PROC). */
void procs__event(struct procs *ps, const struct ms_event_proc *e);
/* An exec record of a followed process; INITIAL: run's own exec of the command, whose
 * probes are in place already. */
void procs__exec(struct procs *ps, const struct ms_event_exec *e, bool initial);
struct proc *procs__find(struct procs *ps, pid_t pid);
/* --per-allocation: each new process gets a collector from PA_NEW(CTX, pid, code map),
 * starting from its parent's live blocks and code map; the target's are ROOT_PA and
 * ROOT_CM. */
void procs__set_peralloc(struct procs *ps, struct peralloc *root_pa, struct codemap *root_cm,
			 struct peralloc *(*pa_new)(void *ctx, pid_t pid, struct codemap *cm),
			 void *ctx);
/* The collector and code map of thread TID's records, when they are another process's
 * than the target's; NULL for the target's. */
struct peralloc *procs__peralloc_of(struct procs *ps, uint32_t tid);
struct codemap *procs__codemap_of(struct procs *ps, uint32_t tid);
/* Code maps without per-allocation mode (slow calls): ROOT_CM is the target's, a child
 * shares its parent's until it execs. */
void procs__set_codemap(struct procs *ps, struct codemap *root_cm);
/* procs__codemap_of for callbacks (slowcalls__set_codemap_of). */
struct codemap *procs__codemap_cb(void *ps, uint32_t tid);
/* Between rounds of records: each process's new code read, when it changed. */
void procs__refresh(struct procs *ps);
/* --pid --follow, once adopted: each adopted process's code as mapped now, read before
 * its first records come (their stacks are unwound with it, as the target's are). */
void procs__read_code(struct procs *ps);
/* Followed processes still running, besides the target. */
int procs__alive(const struct procs *ps);
/* --pid PID --follow: PID's descendants already running join the tree (their calls
 * before this are not seen). */
void procs__adopt_descendants(struct procs *ps);
/* A replay: the recording says PID (child of PPID, with threads TIDS) was adopted here. */
void procs__adopt_recorded(struct procs *ps, pid_t pid, pid_t ppid, const uint32_t *tids,
			   uint32_t ntids);
/* The threads whose records are process I's (the table's Ith): how many, in *TIDS
 * (malloc'ed, the caller's to free). */
uint32_t procs__tids_of(const struct procs *ps, int i, uint32_t **tids);
/* A replay: a new image, zeroed, kept and freed with the table. NULL without memory. */
struct proc_image *procs__image_new(struct procs *ps);
/* Every process's probes detached (at the end of the trace). */
void procs__detach(struct procs *ps);
/* At the end: each process's calls per function, from the kernel's map (latency
 * histograms, kernel work inside them). */
void procs__collect_fn_stats(struct procs *ps);

#endif
