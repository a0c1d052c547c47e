/* SPDX-License-Identifier: GPL-2.0 */
/* One trace's lifecycle (trace_session.c), shared by memstudy --pid and memstudy run. */
#ifndef MEMSTUDY_CLI_TRACE_SESSION_H
#define MEMSTUDY_CLI_TRACE_SESSION_H

#include <stdbool.h>
#include <sys/types.h>

#include "analyse/peralloc.h"
#include "attach/tracer.h"
#include "resolve/target.h"

struct trace_opts {
	pid_t pid;
	double duration;
	double interval;
	const char *json;
	const char *output;
	bool dry_run;
	bool no_hist;
	bool no_calibrate;
	bool probe_at_entry;
	bool maps;     /* --maps: annotated memory map at the end (per-allocation, live target) */
	bool all_rows; /* --all: table rows for functions and syscalls never called */
	int top;
	int stack_depth;			     /* --stack-depth */
	bool sites_by_address;			     /* --sites address */
	const char *wrappers[PERALLOC_WRAPPERS_MAX]; /* --wrapper */
	int nwrappers;
	struct alloc_specs specs; /* custom allocators: --alloc..., --allocator-spec */
	/* memstudy record: the recording's path, and the command line it records; the text
	 * report is not printed (the JSON is, when asked for) */
	const char *record;
	char *const *cmdline;
	struct tracer_opts tracer;
};

/* Ctrl-C, SIGTERM and SIGHUP stop the trace (and, in run, a second one stops waiting). */
void trace_session__signals(void);
/*
 * Trace T until it exits, a signal, or the duration. CHILD > 0 in run mode: it waits on
 * GO_FD for the attach to finish. Returns memstudy's exit code; *CHILD_STATUS for run.
 */
int trace_session(struct target *t, const struct trace_opts *o, pid_t child, int go_fd,
		  int *child_status);

#endif
