/* SPDX-License-Identifier: GPL-2.0 */
/* The slow-call collector's state, shared by its analysis and its report. */
#ifndef MEMSTUDY_SLOWCALLS_INT_H
#define MEMSTUDY_SLOWCALLS_INT_H

#include "analyse/slowcalls.h"
#include "analyse/symbolize.h"

/* A stack, unwound when its record came and symbolized at the end. */
struct sc_stack {
	uint64_t frames[MS_STACK_DEPTH];
	int nframes;
	enum ms_unwind_end end;
	struct sym_info sym[MS_STACK_DEPTH];
	uint64_t sym_addr[MS_STACK_DEPTH];
	int nsym;
};

/* A stack copy as its record carried it, unwound at the end: unwinding while the trace
 * runs would slow the collector down when per-allocation records need it most (at the
 * start, when every call is among the slowest so far and ld.so makes its syscalls). */
struct sc_copy {
	uint64_t pc, sp, bp;
	uint32_t len;
	uint8_t *bytes; /* malloc'ed */
};

struct sc_call {
	struct codemap *cm; /* the code of its process, to unwind and name its stack with */
	uint64_t ts_ns, ns, bytes;
	uint32_t tid;
	uint8_t fn;
	bool own;  /* glibc's own call */
	bool work; /* w was gathered (the thread had a work slot) */
	struct ms_call_work w;
	struct sc_copy copy;
	struct sc_stack st;
};

/* Memory syscalls outside allocator calls, from one stack. */
struct sc_site {
	struct codemap *cm; /* the code of its process: a stack is one process's */
	uint64_t key;
	uint32_t sys;
	uint64_t calls, failed, bytes, ns, max_ns;
	struct sc_stack st;
};

struct slowcalls {
	struct codemap *cm;
	/* --follow: the code map of thread TID's process (NULL: the target's, cm) */
	struct codemap *(*cm_of)(void *ctx, uint32_t tid);
	void *cm_ctx;
	int n, depth;
	struct sc_call *calls[MS_FN_MAX]; /* the N slowest of each function, unsorted */
	int ncalls[MS_FN_MAX];
	uint64_t slow_records, syscall_records;
	struct sc_site *sites;
	uint32_t nsites, sites_cap;
	uint64_t sites_merged; /* syscalls counted in the "other stacks" site: the table was full */
	struct ms_event_syscall **pending; /* syscall records not unwound yet */
	struct codemap **pending_cm;	   /* and the code of each one's process */
	uint32_t npending;
	uint64_t lost_slow, lost_syscalls;
};

/* The bytes a syscall moved, as the report counts them: brk's and mremap's change, the
 * others' length. */
uint64_t sc_syscall_bytes(const struct ms_call_syscall *c);

#endif
