/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The consumer of memstudy's record stream (the ring buffer's records, bpf/memstudy.h):
 * phase markers and execs are kept here, per-allocation records go to the per-allocation
 * collector. Whatever produced the records (a live trace now, a recording to come) feeds
 * them through event_sink__record in stream order.
 */
#ifndef MEMSTUDY_COLLECT_EVENTS_H
#define MEMSTUDY_COLLECT_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "memstudy.h"

struct peralloc;
struct codemap;
struct slowcalls;
struct procs;

/* An exec of the target seen while tracing. */
struct exec_seen {
	uint64_t ts_ns;
	char filename[MS_PATH_LEN];
};

#define EVENTS_MAX_EXECS 16

struct event_sink {
	pid_t pid;
	char phase_names[MS_MAX_PHASES][MS_PHASE_NAME_LEN]; /* [0]: before any marker */
	uint64_t phase_start[MS_MAX_PHASES];
	int nphases;
	struct exec_seen execs[EVENTS_MAX_EXECS];
	int nexecs;
	uint64_t execs_dropped;
	bool expect_exec;     /* run: the first exec is the command's own, not news */
	struct peralloc *pa;  /* per-allocation mode; NULL in summary mode */
	struct codemap *cm;   /* the target's code, when stacks are unwound; or NULL */
	struct slowcalls *sc; /* slow calls and syscalls outside calls; or NULL */
	struct procs *procs;  /* --follow: the followed processes; or NULL */
	uint64_t bad_records; /* records too short for their type: in lost_events */
	bool offline;	      /* memstudy report: no process to look at */
};

/* HAS_PHASE: the target marks phases (phase 0 is then "start", else "all"). */
void event_sink__init(struct event_sink *s, pid_t pid, bool has_phase, bool expect_exec,
		      struct peralloc *pa);
/* Where module records and slow-call records go (each may be NULL). */
void event_sink__set_code(struct event_sink *s, struct codemap *cm, struct slowcalls *sc);
/* One record, as a ring_buffer_sample_fn: always 0 (a bad record is counted, not fatal). */
int event_sink__record(void *sink, void *data, size_t size);

#endif
