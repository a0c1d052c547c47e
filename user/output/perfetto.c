// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/outfile.h"
#include "lib/util.h"
#include "output/perfetto.h"
#include "output/report.h"
#include "resolve/target.h"

#define COUNTER_NS (10 * 1000 * 1000)

struct perfetto *perfetto__open(const char *path, bool all, uint64_t min_ns,
				const char *const *fn_names, int nfn)
{
	struct perfetto *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->out = out_open(path);
	if (!p->out) {
		free(p);
		return NULL;
	}
	p->path = path;
	p->all = all;
	p->min_ns = min_ns;
	p->fn_names = fn_names;
	p->nfn = nfn;
	timeline__init(&p->tl, COUNTER_NS);
	fprintf(p->out, "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n");
	return p;
}

/* One event's start: its phase, name, time (µs), process and thread. */
static void event(struct perfetto *p, char ph, const char *name, uint64_t ts_ns, uint32_t tid)
{
	fprintf(p->out, "%s{\"ph\":\"%c\",\"name\":\"%s\",\"ts\":%.3f,\"pid\":%u,\"tid\":%u",
		p->events++ ? ",\n" : "", ph, name, ts_ns / 1e3, p->pid, tid);
}

static const char *fn_name(const struct perfetto *p, unsigned int fn)
{
	return fn < (unsigned int)p->nfn && p->fn_names[fn] ? p->fn_names[fn] : "call";
}

static const char *sys_name(uint32_t sys)
{
	return sys < MS_SYS_MAX ? ms_sys_names[sys] : "syscall";
}

static void slow_call(struct perfetto *p, const struct ms_event_slow *e)
{
	const struct ms_call_work *w = &e->w;

	if (e->ns < p->min_ns)
		return;
	event(p, 'X', fn_name(p, e->fn), e->ts_ns, e->tid);
	fprintf(p->out, ",\"dur\":%.3f,\"cat\":\"allocator\",\"args\":{\"bytes\":%" PRIu64,
		e->ns / 1e3, (uint64_t)e->bytes);
	if (e->work)
		fprintf(p->out,
			",\"page_faults\":%" PRIu64 ",\"syscalls\":%u,\"syscall_us\":%.3f,"
			"\"off_cpu_us\":%.3f",
			(uint64_t)w->faults, w->nsys, w->sys_ns / 1e3, w->offcpu_ns / 1e3);
	fprintf(p->out, ",\"by_glibc\":%s}}", e->own ? "true" : "false");
}

static void syscall_outside(struct perfetto *p, const struct ms_event_syscall *e)
{
	event(p, 'X', sys_name(e->s.sys), e->ts_ns, e->tid);
	fprintf(p->out,
		",\"dur\":%.3f,\"cat\":\"syscall\",\"args\":{\"len\":%" PRIu64
		",\"result\":%" PRId64 ",\"outside_allocator_calls\":true}}",
		e->s.ns / 1e3, (uint64_t)e->s.len, (int64_t)e->s.result);
}

static void mapping(struct perfetto *p, const struct ms_event_map *e)
{
	event(p, 'i', sys_name(e->sys), e->ts_ns, e->tid);
	fprintf(p->out,
		",\"s\":\"t\",\"cat\":\"mapping\",\"args\":{\"addr\":\"0x%" PRIx64
		"\",\"len\":%" PRIu64 ",\"in_allocator_call\":%s}}",
		(uint64_t)e->addr, (uint64_t)e->len, e->in_alloc ? "true" : "false");
}

static void block(struct perfetto *p, const void *rec)
{
	const struct ms_event_alloc *a = rec;

	if (a->type == MS_EV_ALLOC) {
		event(p, 'i', fn_name(p, a->fn), a->ts_ns, a->tid);
		fprintf(p->out,
			",\"s\":\"t\",\"cat\":\"block\",\"args\":{\"ptr\":\"0x%" PRIx64
			"\",\"size\":%" PRIu64 "}}",
			(uint64_t)a->ptr, (uint64_t)a->size);
	} else {
		const struct ms_event_free *f = rec;

		event(p, 'i', fn_name(p, f->fn), f->ts_ns, f->tid);
		fprintf(p->out,
			",\"s\":\"t\",\"cat\":\"block\",\"args\":{\"ptr\":\"0x%" PRIx64 "\"}}",
			(uint64_t)f->ptr);
	}
}

/* The counters of the points made since the last write. */
static void counters(struct perfetto *p)
{
	for (; p->points_written < p->tl.n; p->points_written++) {
		const struct timeline_point *t = &p->tl.v[p->points_written];
		const struct timeline_point *prev =
		    p->points_written ? &p->tl.v[p->points_written - 1] : NULL;

		event(p, 'C', "memory", t->ts_ns, p->pid);
		fprintf(p->out,
			",\"args\":{\"live_bytes\":%" PRIu64 ",\"allocator_mapped_bytes\":%" PRIu64
			",\"rss_bytes\":%" PRId64 "}}",
			t->live_bytes, t->mapped_bytes, timeline_point__rss(t));
		event(p, 'C', "activity", t->ts_ns, p->pid);
		fprintf(p->out,
			",\"args\":{\"allocations\":%" PRIu64 ",\"frees\":%" PRIu64
			",\"page_faults\":%" PRIu64 "}}",
			t->allocs - (prev ? prev->allocs : 0), t->frees - (prev ? prev->frees : 0),
			t->faults - (prev ? prev->faults : 0));
	}
}

void perfetto__record(void *ctx, struct peralloc *pa, uint32_t pid, const void *rec, uint32_t len)
{
	struct perfetto *p = ctx;
	uint32_t type = *(const uint32_t *)rec;

	p->pid = pid;
	timeline__record(&p->tl, pa, pid, rec, len);
	counters(p);
	switch (type) {
	case MS_EV_SLOW:
		if (len >= offsetof(struct ms_event_slow, stack))
			slow_call(p, rec);
		break;
	case MS_EV_SYSCALL:
		if (len >= offsetof(struct ms_event_syscall, stack))
			syscall_outside(p, rec);
		break;
	case MS_EV_MAP:
		if (len >= sizeof(struct ms_event_map))
			mapping(p, rec);
		break;
	case MS_EV_ALLOC:
	case MS_EV_FREE:
		if (p->all && len >= (type == MS_EV_ALLOC ? sizeof(struct ms_event_alloc)
							  : sizeof(struct ms_event_free)))
			block(p, rec);
		break;
	}
}

/* S as a JSON string's contents: no quotes, backslashes or control characters. */
static void json_text(FILE *out, const char *s)
{
	for (; *s; s++)
		if (*s != '"' && *s != '\\' && (unsigned char)*s >= 0x20)
			fputc(*s, out);
}

int perfetto__close(struct perfetto *p, struct peralloc *pa, const struct report *r,
		    const char *comm)
{
	int ret;

	timeline__finish(&p->tl, pa);
	counters(p);
	event(p, 'M', "process_name", 0, p->pid);
	fprintf(p->out, ",\"args\":{\"name\":\"");
	json_text(p->out, comm);
	fprintf(p->out, "\"}}");
	if (!r || !r->nthreads) { /* no per-thread numbers: the main thread by the comm */
		event(p, 'M', "thread_name", 0, p->pid);
		fprintf(p->out, ",\"args\":{\"name\":\"");
		json_text(p->out, comm);
		fprintf(p->out, "\"}}");
	}
	for (int i = 0; r && i < r->nthreads; i++) {
		char name[64];

		snprintf(name, sizeof(name), "%.16s", r->threads[i].comm);
		event(p, 'M', "thread_name", 0, r->threads[i].tid);
		fprintf(p->out, ",\"args\":{\"name\":\"");
		json_text(p->out, name);
		fprintf(p->out, "\"}}");
	}
	fprintf(p->out, "\n]}\n");
	ret = out_close(p->out, p->path) ? 1 : 0;
	timeline__free(&p->tl);
	free(p);
	return ret;
}
