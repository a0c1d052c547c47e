// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "analyse/codemap.h"
#include "analyse/peralloc.h"
#include "analyse/slowcalls.h"
#include "collect/events.h"
#include "collect/procs.h"

void event_sink__init(struct event_sink *s, pid_t pid, bool has_phase, bool expect_exec,
		      struct peralloc *pa)
{
	memset(s, 0, sizeof(*s));
	s->pid = pid;
	s->nphases = 1;
	snprintf(s->phase_names[0], MS_PHASE_NAME_LEN, "%s", has_phase ? "start" : "all");
	s->expect_exec = expect_exec;
	s->pa = pa;
}

void event_sink__set_code(struct event_sink *s, struct codemap *cm, struct slowcalls *sc)
{
	s->cm = cm;
	s->sc = sc;
}

static void on_phase(struct event_sink *s, const struct ms_event_phase *e)
{
	if (e->phase >= MS_MAX_PHASES)
		return; /* merged into the last (phase_overflow) */
	snprintf(s->phase_names[e->phase], MS_PHASE_NAME_LEN, "%.*s", MS_PHASE_NAME_LEN - 1,
		 e->name);
	s->phase_start[e->phase] = e->ts_ns;
	if ((int)e->phase + 1 > s->nphases)
		s->nphases = e->phase + 1;
}

/* The target exec'ed: keep when and into what (the run command's own exec is expected). */
static void on_exec(struct event_sink *s, const struct ms_event_exec *e)
{
	struct exec_seen *x;

	if (s->procs) { /* --follow: probe the new image, then let it run */
		bool initial = s->expect_exec && e->tgid == (uint32_t)s->pid;

		procs__exec(s->procs, e, initial);
		if (e->tgid != (uint32_t)s->pid)
			return; /* another process of the tree: its own table row */
	}
	if (s->expect_exec) {
		s->expect_exec = false;
		return;
	}
	if (s->sc)
		slowcalls__exec(s->sc); /* before the code map forgets the old image */
	if (s->pa)
		peralloc__exec(s->pa);
	else if (s->cm)
		codemap__exec(s->cm);
	if (s->nexecs == EVENTS_MAX_EXECS) {
		s->execs_dropped++;
		return;
	}
	x = &s->execs[s->nexecs++];
	x->ts_ns = e->ts_ns;
	snprintf(x->filename, sizeof(x->filename), "%.*s", (int)sizeof(e->filename) - 1,
		 e->filename);
	/* execve's path may be relative to the target's directory: the kernel's name for the
	 * image is better, while there is no later exec to have replaced it */
	if (x->filename[0] != '/' && s->pid > 0 && !s->offline) {
		char link[64], exe[MS_PATH_LEN];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/%d/exe", s->pid);
		n = readlink(link, exe, sizeof(exe) - 1);
		if (n > 0) {
			exe[n] = '\0';
			snprintf(x->filename, sizeof(x->filename), "%s", exe);
		}
	}
}

/* The smallest record of each type the kernel side writes; 0: not a type it sends here. */
/* clang-format off */
static const size_t record_size[MS_EV_TYPES] = {
	[MS_EV_PHASE] = sizeof(struct ms_event_phase),
	[MS_EV_ALLOC] = sizeof(struct ms_event_alloc),
	[MS_EV_FREE] = sizeof(struct ms_event_free),
	[MS_EV_FAULT] = sizeof(struct ms_event_fault),
	[MS_EV_MAP] = sizeof(struct ms_event_map),
	[MS_EV_EXEC] = sizeof(struct ms_event_exec),
	[MS_EV_MODULE] = sizeof(struct ms_event_module),
	[MS_EV_SLOW] = offsetof(struct ms_event_slow, stack),
	[MS_EV_SYSCALL] = offsetof(struct ms_event_syscall, stack),
	[MS_EV_PROC] = sizeof(struct ms_event_proc),
	[MS_EV_RSS] = sizeof(struct ms_event_rss),
	[MS_EV_KWORK] = sizeof(struct ms_event_kwork),
};
/* clang-format on */

int event_sink__record(void *sink, void *data, size_t size)
{
	struct event_sink *s = sink;
	uint32_t type = size >= 4 ? *(const uint32_t *)data : 0;
	uint32_t tid = size >= 8 ? ((const uint32_t *)data)[1] : 0; /* every record's second */

	/* checked once here: the handlers below, and peralloc's, read whole records */
	if (type >= MS_EV_TYPES || !record_size[type] || size < record_size[type]) {
		s->bad_records++;
		return 0;
	}
	switch (type) {
	case MS_EV_PHASE:
		on_phase(s, data);
		break;
	case MS_EV_EXEC:
		on_exec(s, data);
		break;
	case MS_EV_PROC:
		if (s->procs)
			procs__event(s->procs, data);
		break;
	case MS_EV_RSS: /* for a recording's timeline (record/timeline.c) */
		break;
	case MS_EV_MODULE: {
		struct codemap *cm = s->procs ? procs__codemap_of(s->procs, tid) : NULL;

		cm = cm ? cm : s->cm;
		if (cm)
			codemap__module(cm, data);
		break;
	}
	case MS_EV_SLOW:
	case MS_EV_SYSCALL:
		if (s->sc)
			slowcalls__event(s->sc, data, size);
		break;
	default: {
		/* --follow: each process's records to its own collector */
		struct peralloc *pa = s->procs ? procs__peralloc_of(s->procs, tid) : NULL;

		pa = pa ? pa : s->pa;
		if (pa)
			peralloc__event(pa, data, size);
	}
	}
	return 0;
}
