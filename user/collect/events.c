// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "analyse/peralloc.h"
#include "collect/events.h"

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

	if (s->expect_exec) {
		s->expect_exec = false;
		return;
	}
	if (s->pa)
		peralloc__exec(s->pa);
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
	if (x->filename[0] != '/' && s->pid > 0) {
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

int event_sink__record(void *sink, void *data, size_t size)
{
	struct event_sink *s = sink;
	uint32_t type = size >= 4 ? *(const uint32_t *)data : 0;

	switch (type) {
	case MS_EV_PHASE:
		if (size < sizeof(struct ms_event_phase))
			break;
		on_phase(s, data);
		return 0;
	case MS_EV_EXEC:
		if (size < sizeof(struct ms_event_exec))
			break;
		on_exec(s, data);
		return 0;
	case MS_EV_ALLOC:
	case MS_EV_FREE:
	case MS_EV_FAULT:
	case MS_EV_MAP:
	case MS_EV_MODULE:
		if (s->pa)
			peralloc__event(s->pa, data, size);
		return 0;
	}
	s->bad_records++;
	return 0;
}
