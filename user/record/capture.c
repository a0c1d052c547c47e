// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <gnu/libc-version.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>

#include <bpf/bpf.h>
#include <json-c/json.h>

#include "analyse/codemap.h"
#include "analyse/peralloc.h"
#include "analyse/symbolize.h"
#include "attach/tracer.h"
#include "cli/trace_session.h"
#include "collect/events.h"
#include "collect/procs.h"
#include "lib/util.h"
#include "output/report.h"
#include "record/capture.h"
#include "record/format.h"
#include "record/layout.h"
#include "record/writer.h"
#include "version.h"

#include "memstudy.skel.h"

/* Interned stacks: each distinct (frames, end) once in the file, then its number. */
struct stack_slot {
	uint64_t hash;
	uint32_t id; /* + 1; 0: empty */
	uint32_t at; /* its frames in capture.frames */
	uint32_t n;
	uint32_t end;
};

struct capture {
	struct recorder *w;
	struct event_sink *sink;
	struct peralloc *pa;
	struct codemap *cm;
	struct stack_slot *slots;
	uint64_t nslots, nstacks;
	uint64_t *frames; /* every interned stack's frames, one after the other */
	uint64_t nframes, frames_cap;
	/* the collector's site of a stack (the same frames) -> its number + 1 and its end:
	 * a stack seen again is found without hashing its frames */
	struct site_stack {
		uint32_t id;
		uint32_t end;
	} * by_site;
	uint64_t by_site_cap;
	uint64_t last_flush_ns;
	char *path;
	/* the kernel's count of dropped allocation records, as last written */
	const volatile uint64_t *lost_allocs;
	uint64_t lost_allocs_written;
};

static void on_maps(void *ctx, const struct codemap *cm, const char *text, size_t len)
{
	struct capture *c = ctx;
	struct rec_ev_maps m = {.type = REC_EV_MAPS, .pid = cm->pid};
	struct rec_ev_proc_maps pm = {.type = REC_EV_PROC_MAPS, .pid = cm->pid, .map = cm->rec_id};

	if (cm->rec_id) /* --follow: one of the tree's own code maps */
		recorder__entry(c->w, &pm, sizeof(pm), text, len);
	else
		recorder__entry(c->w, &m, sizeof(m), text, len);
}

/* --follow: each code map the tree makes has its readings recorded too. */
static void on_codemap_made(void *ctx, struct codemap *cm)
{
	cm->maps_tap = on_maps;
	cm->maps_tap_ctx = ctx;
}

void capture__follow(struct capture *c, struct procs *ps)
{
	ps->cm_made = on_codemap_made;
	ps->cm_made_ctx = c;
}

void capture__adopted(struct capture *c, const struct procs *ps)
{
	for (int i = 1; i < ps->n; i++) {
		struct rec_ev_adopt a = {
		    .type = REC_EV_ADOPT, .pid = ps->p[i].pid, .ppid = ps->p[i].ppid};
		uint32_t *tids;

		a.ntids = procs__tids_of(ps, i, &tids);
		recorder__entry(c->w, &a, sizeof(a), tids, a.ntids * sizeof(*tids));
		free(tids);
	}
}

struct capture *capture__open(const char *path, struct event_sink *sink, struct peralloc *pa,
			      struct codemap *cm)
{
	struct capture *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->w = recorder__create(path);
	if (!c->w) {
		free(c);
		return NULL;
	}
	c->path = xstrdup(path);
	c->sink = sink;
	c->pa = pa;
	c->cm = cm;
	cm->maps_tap = on_maps;
	cm->maps_tap_ctx = c;
	c->last_flush_ns = mono_ns();
	return c;
}

static json_object *jstr(const char *s)
{
	return json_object_new_string(s ? s : "");
}

int capture__start(struct capture *c, const struct target *t, const struct trace_opts *o,
		   bool run_mode, char *const *argv)
{
	json_object *m = json_object_new_object(), *cmd = json_object_new_array(), *opts, *wr;
	struct target *copy = malloc(sizeof(*copy));
	struct utsname u;
	struct timespec now;
	const char *text;
	int ret;

	if (!copy) {
		json_object_put(m);
		json_object_put(cmd);
		return -1;
	}
	uname(&u);
	clock_gettime(CLOCK_REALTIME, &now);
	json_object_object_add(m, "format", json_object_new_int(REC_VERSION));
	json_object_object_add(m, "layout", jstr(rec_layout()));
	json_object_object_add(m, "memstudy", jstr(MEMSTUDY_VERSION));
	json_object_object_add(m, "memstudy_git", jstr(MEMSTUDY_GIT));
	json_object_object_add(m, "kernel", jstr(u.release));
	json_object_object_add(m, "kernel_build", jstr(u.version));
	json_object_object_add(m, "machine", jstr(u.machine));
	json_object_object_add(m, "hostname", jstr(u.nodename));
	json_object_object_add(m, "glibc", jstr(gnu_get_libc_version()));
	json_object_object_add(m, "start_unix_s",
			       json_object_new_double(now.tv_sec + now.tv_nsec / 1e9));
	json_object_object_add(m, "mode", jstr(run_mode ? "run" : "pid"));
	json_object_object_add(m, "pid", json_object_new_int(t->pid));
	for (int i = 0; argv && argv[i]; i++)
		json_object_array_add(cmd, jstr(argv[i]));
	json_object_object_add(m, "command", cmd);
	json_object_object_add(m, "exe", jstr(t->exe));
	json_object_object_add(m, "comm", jstr(t->comm));
	json_object_object_add(m, "allocator", jstr(t->allocator));
	json_object_object_add(m, "allocator_name", jstr(target__allocator_name(t->allocator)));
	opts = json_object_new_object();
	json_object_object_add(opts, "stack_depth", json_object_new_int(o->stack_depth));
	json_object_object_add(opts, "follow", json_object_new_boolean(o->tracer.follow));
	json_object_object_add(opts, "sites_by_address",
			       json_object_new_boolean(o->sites_by_address));
	json_object_object_add(opts, "slowest", json_object_new_int(o->tracer.slowest));
	json_object_object_add(opts, "stack_bytes", json_object_new_int(o->tracer.stack_bytes));
	json_object_object_add(opts, "walk_depth", json_object_new_int(o->tracer.walk_depth));
	wr = json_object_new_array();
	for (int i = 0; i < o->nwrappers; i++)
		json_object_array_add(wr, jstr(o->wrappers[i]));
	json_object_object_add(opts, "wrappers", wr);
	json_object_object_add(m, "options", opts);
	text = json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN);
	ret = recorder__block(c->w, REC_META, text, strlen(text));
	json_object_put(m);
	/* the functions as resolved: the report names and counts them as the trace did */
	*copy = *t;
	copy->specs = NULL;
	for (int i = 0; i < MS_FN_MAX; i++)
		copy->fn[i].spec.name = NULL;
	if (!ret)
		ret = recorder__block(c->w, REC_TARGET, copy, sizeof(*copy));
	free(copy);
	return ret;
}

static uint64_t stack_hash(const uint64_t *f, int n, int end)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)(n * 131 + end);

	for (int i = 0; i < n; i++) {
		h ^= f[i];
		h *= 0x100000001b3ull;
		h ^= h >> 29;
	}
	return h;
}

static int stacks_grow(struct capture *c)
{
	uint64_t cap = c->nslots ? c->nslots * 2 : 4096;
	struct stack_slot *s = calloc(cap, sizeof(*s));

	if (!s)
		return -1;
	for (uint64_t i = 0; i < c->nslots; i++) {
		uint64_t j;

		if (!c->slots[i].id)
			continue;
		for (j = c->slots[i].hash & (cap - 1); s[j].id; j = (j + 1) & (cap - 1))
			;
		s[j] = c->slots[i];
	}
	free(c->slots);
	c->slots = s;
	c->nslots = cap;
	return 0;
}

/* STACK's number, written to the file first when it is new; -1 without memory. */
static int64_t stack_intern(struct capture *c, const uint64_t *f, int n, int end)
{
	uint64_t h = stack_hash(f, n, end), j;
	struct rec_ev_stack e = {.type = REC_EV_STACK, .nframes = n, .end = end};

	if ((c->nstacks + 1) * 2 > c->nslots && stacks_grow(c))
		return -1;
	for (j = h & (c->nslots - 1); c->slots[j].id; j = (j + 1) & (c->nslots - 1)) {
		struct stack_slot *s = &c->slots[j];

		if (s->hash == h && s->n == (uint32_t)n && s->end == (uint32_t)end &&
		    !memcmp(c->frames + s->at, f, n * sizeof(*f)))
			return s->id - 1;
	}
	if (c->nframes + n > c->frames_cap) {
		c->frames_cap = (c->nframes + n) * 2 + 4096;
		c->frames = xrealloc(c->frames, c->frames_cap * sizeof(*c->frames));
	}
	memcpy(c->frames + c->nframes, f, n * sizeof(*f));
	c->slots[j] = (struct stack_slot){h, c->nstacks + 1, c->nframes, n, end};
	c->nframes += n;
	e.id = c->nstacks++;
	recorder__entry(c->w, &e, sizeof(e), f, n * sizeof(*f));
	return e.id;
}

/* The number of a stack whose site is SITE (frames make the site when there are any). */
static int64_t stack_of_site(struct capture *c, uint32_t site, const uint64_t *f, int n, int end)
{
	int64_t id;

	if (n > 0 && site < c->by_site_cap && c->by_site[site].id &&
	    c->by_site[site].end == (uint32_t)end)
		return c->by_site[site].id - 1;
	id = stack_intern(c, f, n, end);
	if (id < 0 || n <= 0 || site == UINT32_MAX)
		return id;
	if (site >= c->by_site_cap) {
		uint64_t cap = c->by_site_cap ? c->by_site_cap : 1024;

		while (cap <= site)
			cap *= 2;
		c->by_site = xrealloc(c->by_site, cap * sizeof(*c->by_site));
		memset(c->by_site + c->by_site_cap, 0,
		       (cap - c->by_site_cap) * sizeof(*c->by_site));
		c->by_site_cap = cap;
	}
	c->by_site[site] = (struct site_stack){id + 1, end};
	return id;
}

int capture__record(void *ctx, void *data, size_t size)
{
	struct capture *c = ctx;
	uint32_t type = size >= 4 ? *(const uint32_t *)data : 0;

	event_sink__record(c->sink, data, size);
	/* the collector reads the count when a free finds no block: so does the report */
	if (c->lost_allocs && *c->lost_allocs != c->lost_allocs_written) {
		struct rec_ev_lost l = {.type = REC_EV_LOST, .count = *c->lost_allocs};

		c->lost_allocs_written = l.count;
		recorder__entry(c->w, &l, sizeof(l), NULL, 0);
	}
	if (type == MS_EV_ALLOC && size >= sizeof(struct ms_event_alloc) && c->pa) {
		const struct ms_event_alloc *a = data;
		/* --follow: the collector of the process that made the call unwound it */
		struct peralloc *pa =
		    c->sink->procs ? procs__peralloc_of(c->sink->procs, a->tid) : NULL;
		const uint64_t *frames;
		enum ms_unwind_end end;
		uint32_t site;
		int n = peralloc__last_stack(pa ? pa : c->pa, &frames, &end, &site);

		if (a->stack_id == MS_STACK_IN_RECORD && n >= 0) {
			struct rec_ev_alloc r = {.a = *a};
			/* sites are numbered per collector: the target's alone is looked up by it
			 */
			int64_t id = stack_of_site(c, pa ? UINT32_MAX : site, frames, n, end);

			if (id >= 0) {
				r.a.stack_id = REC_STACK_INTERNED;
				r.stack = id;
				return recorder__entry(c->w, &r, sizeof(r), NULL, 0), 0;
			}
		}
		/* the stack is in the kernel's map, or was never taken: the record alone */
		return recorder__entry(c->w, a, sizeof(*a), NULL, 0), 0;
	}
	recorder__entry(c->w, data, size, NULL, 0);
	return 0;
}

void capture__watch_lost(struct capture *c, struct tracer *tr)
{
	struct memstudy_bpf *s = tracer__skel(tr);

	c->lost_allocs = (const volatile uint64_t *)&s->bss->lost_records[MS_EV_ALLOC];
}

void capture__started(struct capture *c, uint64_t start_ns)
{
	struct rec_ev_start e = {.type = REC_EV_START, .ts_ns = start_ns};

	recorder__entry(c->w, &e, sizeof(e), NULL, 0);
}

void capture__tick(struct capture *c)
{
	uint64_t now = mono_ns();

	if (now - c->last_flush_ns < 1000000000ull)
		return;
	c->last_flush_ns = now;
	recorder__flush(c->w);
}

/* The kernel's frame-pointer stacks, every one in its map. */
static void write_fp_stacks(struct capture *c, int fd)
{
	struct rec_stack_fp *v = NULL;
	size_t n = 0, cap = 0;
	int32_t key, next, *prev = NULL;

	while (fd >= 0 && !bpf_map_get_next_key(fd, prev, &next)) {
		uint64_t ips[MS_STACK_DEPTH] = {};

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, ips))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n].id = key;
		v[n].nframes = 0;
		while (v[n].nframes < MS_STACK_DEPTH && ips[v[n].nframes])
			v[n].nframes++;
		memcpy(v[n].frames, ips, sizeof(ips));
		n++;
	}
	recorder__block(c->w, REC_STACKS, v, n * sizeof(*v));
	free(v);
}

/* The code files the trace saw mapped: where, from which offset, and their build-ids, so
 * that a report elsewhere can tell whether its files are the same. */
static void write_modules(struct capture *c)
{
	json_object *arr = json_object_new_array();
	const char *text;

	for (int i = 0; i < symbolize__nmappings(c->cm->sym); i++) {
		json_object *m = json_object_new_object();
		uint64_t start, end, off;
		char build_id[128], hex[32];
		const char *path;

		symbolize__mapping(c->cm->sym, i, &start, &end);
		path = symbolize__mapping_file(c->cm->sym, i, &off, build_id, sizeof(build_id));
		json_object_object_add(m, "path", jstr(path));
		snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)start);
		json_object_object_add(m, "start", jstr(hex));
		snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)end);
		json_object_object_add(m, "end", jstr(hex));
		snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)off);
		json_object_object_add(m, "offset", jstr(hex));
		json_object_object_add(m, "build_id", jstr(build_id));
		json_object_array_add(arr, m);
	}
	text = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN);
	recorder__block(c->w, REC_MODULES, text, strlen(text));
	json_object_put(arr);
}

/* --follow: the process table as the trace ended (record/format.h, struct rec_proc). */
static void write_procs(struct capture *c, const struct procs *ps)
{
	struct rec_procs h = {.nprocs = ps->n,
			      .nlat = ps->nlat,
			      .attach_failures = ps->attach_failures,
			      .unresolved_images = ps->unresolved_images};
	size_t cap = sizeof(struct rec_proc) + MS_FN_MAX * sizeof(struct rec_proc_fn);
	uint8_t *buf = xrealloc(NULL, sizeof(h) + ps->nlat * sizeof(uint64_t));

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), ps->lat_ns, ps->nlat * sizeof(uint64_t));
	recorder__block(c->w, REC_PROCS, buf, sizeof(h) + ps->nlat * sizeof(uint64_t));
	buf = xrealloc(buf, cap);
	for (int i = 0; i < ps->n; i++) {
		const struct proc *p = &ps->p[i];
		struct rec_proc *rp = (struct rec_proc *)buf;
		struct rec_proc_fn *fn = (struct rec_proc_fn *)(rp + 1);

		memset(buf, 0, cap);
		rp->pid = p->pid;
		rp->ppid = p->ppid;
		memcpy(rp->comm, p->comm, sizeof(rp->comm));
		rp->start_ns = p->start_ns;
		rp->end_ns = p->end_ns;
		rp->attach_ns = p->attach_ns;
		rp->exit_code = p->exit_code;
		rp->execs = p->execs;
		rp->exited = p->exited;
		rp->attach_failed = p->attach_failed;
		if (p->img) {
			rp->has_image = 1;
			rp->probed = p->img->probed;
			snprintf(rp->exe, sizeof(rp->exe), "%s", p->img->t.exe);
			snprintf(rp->allocator, sizeof(rp->allocator), "%s", p->img->t.allocator);
			snprintf(rp->cxx, sizeof(rp->cxx), "%s", p->img->t.cxx);
		}
		if (p->pa)
			peralloc__recorded(p->pa, &rp->pa);
		for (int f = 0; p->fn && f < MS_FN_MAX; f++)
			if (p->fn[f].calls)
				fn[rp->nfn++] = (struct rec_proc_fn){.fn = f, .v = p->fn[f]};
		recorder__block(c->w, REC_PROC, buf, sizeof(*rp) + rp->nfn * sizeof(*fn));
	}
	free(buf);
}

static void capture__free(struct capture *c)
{
	c->cm->maps_tap = NULL;
	free(c->slots);
	free(c->frames);
	free(c->by_site);
	free(c->path);
	free(c);
}

int capture__close(struct capture *c, struct tracer *tr, const struct report *r)
{
	struct memstudy_bpf *s = tracer__skel(tr);
	struct rec_finish f = {.stack_errors = s->bss->stack_errors};
	size_t tsize = r->nthreads * sizeof(*r->threads);
	struct report *copy = malloc(sizeof(*r) + tsize);
	uint64_t entries, bytes;
	int ret;

	recorder__flush(c->w);
	write_fp_stacks(c, tracer__stack_fd(tr));
	write_modules(c);
	if (r->procs)
		write_procs(c, r->procs);
	for (int i = 0; i < MS_EV_TYPES; i++)
		f.lost_records[i] = s->bss->lost_records[i];
	f.thread_state_lost = r->lost[MS_LOST_THREAD_STATE];
	if (c->pa)
		peralloc__recorded(c->pa, &f.pa);
	f.records = recorder__entries(c->w);
	recorder__block(c->w, REC_FINISH, &f, sizeof(f));
	if (copy) { /* the summary as the report prints it, its pointers the reader's to set */
		*copy = *r;
		copy->target = NULL;
		copy->threads = NULL;
		copy->procs = NULL;
		if (tsize)
			memcpy(copy + 1, r->threads, tsize);
		recorder__block(c->w, REC_SUMMARY, copy, sizeof(*r) + tsize);
		free(copy);
	}
	entries = recorder__entries(c->w);
	bytes = recorder__bytes(c->w);
	ret = recorder__close(c->w);
	if (!ret)
		fprintf(stderr,
			"memstudy: recorded %llu records, %llu distinct stacks, to %s (%.1f MiB); "
			"read it with 'memstudy report %s'\n",
			(unsigned long long)entries, (unsigned long long)c->nstacks, c->path,
			bytes / 1048576.0, c->path);
	capture__free(c);
	return ret;
}

void capture__abort(struct capture *c)
{
	if (!c)
		return;
	recorder__close(c->w);
	capture__free(c);
}
