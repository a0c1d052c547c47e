/* SPDX-License-Identifier: GPL-2.0 */
/* The attach engine and collector: load BPF, place probes for one target, read results. */
#ifndef MEMSTUDY_TRACER_H
#define MEMSTUDY_TRACER_H

#include <stdbool.h>

#include <bpf/libbpf.h>

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
	unsigned int stack_bytes;  /* per-allocation: stack bytes copied where the walk stops */
	unsigned int walk_depth;   /* per-allocation: frames walked in the kernel, 0 = none */
	unsigned int unwind_rows;  /* CFI rows the kernel holds; 0 = MS_UNWIND_ROWS_DEFAULT */
	bool classic_uprobes; /* one perf-event uprobe per probe point, not multi-uprobe links */
	unsigned int slowest; /* --slowest N: the N slowest calls per function; 0 = none */
	bool syscall_stacks;  /* the caller's stack for each memory syscall outside calls */
	bool glibc_steps;     /* probe glibc's internal steps when its debug file has them */
	unsigned int thread_work; /* threads with numbers of their own; 0 = default */
	bool follow;		  /* --follow: the target's children are traced too */
	unsigned int follow_max;  /* processes followed at once; 0 = default */
	bool rss;		  /* memstudy record: the resident set's steps (MS_EV_RSS) */
};

/* The probes of one followed process other than the target (tracer__attach_process). */
struct tracer_links {
	int *fds;
	int nfds;
	struct bpf_link **links;
	int nlinks;
	int shared_fds, shared_links; /* the first ones: on the allocator's file and its steps */
};

/* Open and load the BPF object for T, its ring buffer's records to ON_RECORD(CTX, ...);
 * NULL after printing what to do. */
struct tracer *tracer__open(const struct target *t, const struct tracer_opts *opts,
			    ring_buffer_sample_fn on_record, void *ctx);
/* Attach every probe (uprobes for t->pid only); -1 after printing what to do. */
int tracer__attach(struct tracer *tr);
/* --follow: T's allocator probes (and its glibc steps, phase marker) for T's pid, added to
 * L; with KEEP_ALLOCATOR, L's probes on the allocator's file are T's already (an exec into
 * an image of the same allocator) and only the others are attached. -1 after saying why. */
int tracer__attach_process(struct tracer *tr, const struct target *t, struct tracer_links *l,
			   bool keep_allocator);
/* L's probes but those on the allocator's file, detached: NOW, or on a thread. */
void tracer__links_drop_others(struct tracer *tr, struct tracer_links *l, bool now);
/* --follow: where PID's ld.so is (LD_END 0: unknown yet), and OFF when its allocator's own
 * calls cannot be told apart (its program is its allocator). */
void tracer__own_text(struct tracer *tr, pid_t pid, bool off, uint64_t ld_start, uint64_t ld_end);
/* T's allocator's own calls can be told from the program's (not a static program). */
bool tracer__own_calls_for(const struct target *t);
/* --follow: PID is in the traced tree (its syscalls and faults count, its children too). */
void tracer__follow_pid(struct tracer *tr, pid_t pid);
/* Detach a process's probes: now, or on a thread of their own (the collector goes on;
 * each detach waits for a grace period). */
void tracer__links_free(struct tracer_links *l);
void tracer__links_release(struct tracer *tr, struct tracer_links *l);
/* Wait up to TIMEOUT_MS for ring-buffer records and hand them on. */
int tracer__poll(struct tracer *tr, int timeout_ms);
/* FN(CTX) between rounds of records (per-allocation mode: new code mapped?). */
void tracer__set_idle(struct tracer *tr, void (*fn)(void *ctx), void *ctx);
/* Every record still in the ring buffer (after detach). */
void tracer__drain(struct tracer *tr);
/* The loaded object, for the collect stage (collect/summary.c) and its counters. */
struct memstudy_bpf *tracer__skel(struct tracer *tr);
const struct target *tracer__target(const struct tracer *tr);
uint64_t tracer__start_ns(const struct tracer *tr); /* when the probes were in place */
int tracer__stack_fd(const struct tracer *tr);	    /* per-allocation stacks */
/* The in-kernel walk's tables, for the collector (NULL when stacks are not walked there). */
const struct unwind_kernel_ops *tracer__unwind_ops(struct tracer *tr);
/* pid mode: ld.so's text in the running target, so its calls count as glibc's own (a run
 * target's is learned at exec). */
void tracer__set_loader_text(struct tracer *tr, uint64_t start, uint64_t end);
/* glibc's internal steps are probed. */
bool tracer__steps_traced(const struct tracer *tr);
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
