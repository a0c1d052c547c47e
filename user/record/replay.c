// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "analyse/codemap.h"
#include "analyse/peralloc.h"
#include "analyse/slowcalls.h"
#include "analyse/symbolize.h"
#include "collect/procs.h"
#include "lib/util.h"
#include "output/report.h"
#include "record/layout.h"
#include "record/replay.h"
#include "resolve/target.h"

static int say(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

const char *replay__meta_str(const struct replay *rp, const char *key)
{
	json_object *v;

	if (!rp->meta || !json_object_object_get_ex(rp->meta, key, &v))
		return "";
	return json_object_get_string(v);
}

static int64_t meta_opt(const struct replay *rp, const char *key)
{
	json_object *o, *v;

	if (!json_object_object_get_ex(rp->meta, "options", &o) ||
	    !json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_int64(v);
}

static int on_meta(struct replay *rp, const struct rec_block *b, char *err, size_t len)
{
	const char *layout;
	json_tokener *tok = json_tokener_new();

	rp->meta = tok ? json_tokener_parse_ex(tok, b->data, b->len) : NULL;
	if (tok)
		json_tokener_free(tok);
	if (!rp->meta || !json_object_is_type(rp->meta, json_type_object))
		return say(err, len,
			   "corrupt recording: its META block at offset %llu is not "
			   "a JSON object",
			   (unsigned long long)b->offset);
	layout = replay__meta_str(rp, "layout");
	if (strcmp(layout, rec_layout()))
		return say(err, len,
			   "recorded by memstudy %s (%s), whose data layout differs from this "
			   "one's: read it with that version",
			   replay__meta_str(rp, "memstudy"), replay__meta_str(rp, "memstudy_git"));
	return 0;
}

#define TERMINATE(s) ((s)[sizeof(s) - 1] = '\0')
/* a bool read from a file holds 0 or 1 from here on */
#define BOOLEAN(b)                                                                                 \
	do {                                                                                       \
		uint8_t v_;                                                                        \
		memcpy(&v_, &(b), 1);                                                              \
		v_ = !!v_;                                                                         \
		memcpy(&(b), &v_, 1);                                                              \
	} while (0)

static void site_sanitize(struct probe_site *s)
{
	TERMINATE(s->insn);
	TERMINATE(s->why);
	BOOLEAN(s->emulated);
	BOOLEAN(s->product_in_rsi);
}

/* A target read from a file: its strings ended, its counts in range (the report prints
 * them). */
static void target_sanitize(struct target *t)
{
	t->specs = NULL;
	BOOLEAN(t->has_phase);
	BOOLEAN(t->probe_at_entry);
	BOOLEAN(t->is_glibc);
	BOOLEAN(t->quiet);
	BOOLEAN(t->env_given);
	for (int i = 0; i < MS_STEP_MAX; i++) {
		BOOLEAN(t->steps.found[i]);
		site_sanitize(&t->steps.site[i]);
	}
	TERMINATE(t->comm);
	TERMINATE(t->exe);
	TERMINATE(t->allocator);
	TERMINATE(t->cxx);
	TERMINATE(t->searched);
	TERMINATE(t->steps.debug_file);
	TERMINATE(t->steps.build_id);
	t->nfn = t->nfn < 0 ? 0 : t->nfn > MS_FN_MAX ? MS_FN_MAX : t->nfn;
	t->nfamilies = t->nfamilies < 0				     ? 0
		       : t->nfamilies > (int)ARRAY_SIZE(t->families) ? (int)ARRAY_SIZE(t->families)
								     : t->nfamilies;
	for (int i = 0; i < MS_FN_MAX; i++) {
		TERMINATE(t->fn[i].name);
		TERMINATE(t->fn[i].file);
		BOOLEAN(t->fn[i].found);
		site_sanitize(&t->fn[i].site);
		t->fn[i].spec.name = NULL;
		if (t->fn[i].family < 0 || t->fn[i].family >= (int)ARRAY_SIZE(t->families))
			t->fn[i].family = 0;
		if (t->fn[i].alias_of < -1 || t->fn[i].alias_of >= MS_FN_MAX)
			t->fn[i].alias_of = -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(t->families); i++) {
		TERMINATE(t->families[i].name);
		TERMINATE(t->families[i].file);
		BOOLEAN(t->families[i].builtin);
	}
	for (int v = 0; v < MS_VARIANTS_MAX; v++) {
		BOOLEAN(t->variants[v].found);
		site_sanitize(&t->variants[v].site);
		if (t->variants[v].alias_of < -1 || t->variants[v].alias_of >= MS_FN_MAX)
			t->variants[v].alias_of = -1;
		if (t->variants[v].alias_variant < -1 ||
		    t->variants[v].alias_variant >= MS_VARIANTS_MAX)
			t->variants[v].alias_variant = -1;
	}
}

/* A summary read from a file: the same for the report's own strings and counts. */
static void report_sanitize(struct report *r)
{
	BOOLEAN(r->target_exited);
	BOOLEAN(r->steps_traced);
	BOOLEAN(r->own_calls);
	BOOLEAN(r->costs.measured);
	for (int i = 0; i < MS_MAX_PHASES; i++)
		TERMINATE(r->phases[i].name);
	TERMINATE(r->total.name);
	for (int i = 0; i < REPORT_MAX_EXECS; i++) {
		TERMINATE(r->execs[i].exe);
		TERMINATE(r->execs[i].allocator);
		BOOLEAN(r->execs[i].probed);
	}
	for (int i = 0; i < r->nthreads; i++)
		TERMINATE(r->threads[i].comm);
}

/* A collector set up as the trace had them (META's options, TARGET's functions). */
static struct peralloc *new_peralloc(struct replay *rp, pid_t pid, bool attached_late,
				     struct codemap *cm)
{
	struct peralloc *pa = peralloc__new(pid, attached_late, cm);
	json_object *o, *w;

	if (!pa)
		return NULL;
	peralloc__set_stack_depth(pa, meta_opt(rp, "stack_depth"));
	peralloc__set_sites_by_address(pa, meta_opt(rp, "sites_by_address"));
	peralloc__set_fn_names(pa, rp->names);
	peralloc__watch_lost_allocs(pa, &rp->lost_allocs);
	if (json_object_object_get_ex(rp->meta, "options", &o) &&
	    json_object_object_get_ex(o, "wrappers", &w) && json_object_is_type(w, json_type_array))
		for (size_t i = 0; i < json_object_array_length(w) && i < PERALLOC_WRAPPERS_MAX;
		     i++)
			peralloc__add_wrapper(
			    pa, json_object_get_string(json_object_array_get_idx(w, i)));
	return pa;
}

/* --follow: each new process's collector, as the trace made it (trace_session.c). */
static struct peralloc *new_child_peralloc(void *ctx, pid_t pid, struct codemap *cm)
{
	return new_peralloc(ctx, pid, false, cm);
}

/* The collectors, set up as the trace had them (META's options, TARGET's functions). */
static int on_target(struct replay *rp, const struct rec_block *b, char *err, size_t len)
{
	int depth;

	if (!rp->meta)
		return say(err, len, "corrupt recording: TARGET before META at offset %llu",
			   (unsigned long long)b->offset);
	if (rp->t || b->len != sizeof(*rp->t))
		return say(err, len, "corrupt recording: bad TARGET block at offset %llu",
			   (unsigned long long)b->offset);
	rp->t = malloc(sizeof(*rp->t));
	if (!rp->t)
		return say(err, len, "%s", strerror(ENOMEM));
	memcpy(rp->t, b->data, sizeof(*rp->t));
	target_sanitize(rp->t);
	target__fn_names(rp->t, rp->names);
	depth = meta_opt(rp, "stack_depth");
	rp->cm = codemap__new(0);
	if (!rp->cm)
		return say(err, len, "cannot set up the symbolizer: %s", strerror(errno));
	rp->cm->offline = true;
	rp->sc = slowcalls__new(rp->cm, meta_opt(rp, "slowest"), depth);
	rp->pa = new_peralloc(rp, rp->t->pid, strcmp(replay__meta_str(rp, "mode"), "run"), rp->cm);
	if (!rp->sc || !rp->pa)
		return say(err, len, "cannot set up the collectors: %s", strerror(errno));
	event_sink__init(&rp->ev, rp->t->pid, rp->t->has_phase,
			 !strcmp(replay__meta_str(rp, "mode"), "run"), rp->pa);
	event_sink__set_code(&rp->ev, rp->cm, rp->sc);
	rp->ev.offline = true;
	if (meta_opt(rp, "follow")) { /* the tree's table, as the trace kept it (no tracer) */
		rp->ev.procs = procs__new(NULL, rp->t, 0);
		if (!rp->ev.procs)
			return say(err, len, "cannot set up the process table: %s",
				   strerror(errno));
		procs__set_peralloc(rp->ev.procs, rp->pa, rp->cm, new_child_peralloc, rp);
		slowcalls__set_codemap_of(rp->sc, procs__codemap_cb, rp->ev.procs);
	}
	rp->scratch = calloc(1, sizeof(struct ms_event_alloc_stack));
	return rp->scratch ? 0 : say(err, len, "%s", strerror(ENOMEM));
}

static void add_stack(struct replay *rp, const struct rec_ev_stack *e, uint32_t len)
{
	uint32_t n = e->nframes;

	if (e->id != rp->nstacks || n > MS_STACK_DEPTH || len < sizeof(*e) + n * 8ull ||
	    e->end >= MS_UNWIND_END_MAX) {
		rp->bad_entries++;
		return;
	}
	if (rp->nstacks == rp->stacks_cap) {
		rp->stacks_cap = rp->stacks_cap ? rp->stacks_cap * 2 : 1024;
		rp->stacks = xrealloc(rp->stacks, rp->stacks_cap * sizeof(*rp->stacks));
	}
	if (rp->nframes + n > rp->frames_cap) {
		rp->frames_cap = (rp->nframes + n) * 2 + 4096;
		rp->frames = xrealloc(rp->frames, rp->frames_cap * sizeof(*rp->frames));
	}
	memcpy(rp->frames + rp->nframes, e + 1, n * sizeof(uint64_t));
	rp->stacks[rp->nstacks++] = (struct replay_stack){rp->nframes, n, e->end, false};
	rp->nframes += n;
}

/* --follow: the collector of another process than the target's that takes this record
 * (by its thread); NULL for the target's. */
static struct peralloc *child_peralloc(struct replay *rp, const void *rec)
{
	return rp->ev.procs ? procs__peralloc_of(rp->ev.procs, ((const uint32_t *)rec)[1]) : NULL;
}

/* A kernel record to whoever else reads them (seeing the collectors' state before it),
 * then to the collectors. The others read the target's records alone: their views (the
 * timeline, perfetto, mtrace, --check) are of one process's memory. */
static void feed(struct replay *rp, const void *rec, uint32_t len)
{
	for (int i = 0; i < rp->nobs && !child_peralloc(rp, rec); i++)
		rp->obs[i].fn(rp->obs[i].ctx, rp->pa, rp->t->pid, rec, len);
	event_sink__record(&rp->ev, (void *)rec, len);
}

/* An allocation whose stack was interned: the record as the collector first took it, its
 * stack the frames it unwound (so nothing is unwound again). */
static void interned_alloc(struct replay *rp, const struct rec_ev_alloc *a, uint32_t len)
{
	struct ms_event_alloc_stack *big = rp->scratch;
	const struct replay_stack *st;

	if (len < sizeof(*a) || a->stack >= rp->nstacks) {
		rp->bad_entries++;
		return;
	}
	st = &rp->stacks[a->stack];
	big->a = a->a;
	big->a.stack_id = MS_STACK_UNWOUND; /* unwound while recording: not again */
	big->nframes = st->n;
	big->end = st->end;
	big->stack_len = a->stack; /* with MS_STACK_UNWOUND: the stack's id */
	/* the target's collector knows its site: the frames need not be copied (another
	 * process's collector has sites of its own: they always are) */
	if (st->sent && !child_peralloc(rp, a)) {
		feed(rp, big, offsetof(struct ms_event_alloc_stack, frames));
		return;
	}
	memcpy(big->frames, rp->frames + st->at, st->n * sizeof(uint64_t));
	feed(rp, big, offsetof(struct ms_event_alloc_stack, frames) + st->n * 8);
	if (!child_peralloc(rp, a))
		rp->stacks[a->stack].sent = true;
}

/* Past the user address space (47 bits on x86-64): no process made it, the file is bad. */
#define USER_TOP (1ULL << 47)

static bool beyond_user(uint64_t addr, uint64_t len)
{
	return addr >= USER_TOP || len >= USER_TOP || addr + len > USER_TOP;
}

static bool impossible_alloc(const struct ms_event_alloc *a)
{
	return (a->ptr && beyond_user(a->ptr, a->size)) || a->fn >= MS_FN_MAX;
}

static bool impossible_free(const struct ms_event_free *f)
{
	return f->fn >= MS_FN_MAX;
}

/* (brk's old_addr and old_len are two addresses, mremap's a range: each in range) */
static bool impossible_map(const struct ms_event_map *m)
{
	return beyond_user(m->addr, m->len) || m->old_addr >= USER_TOP || m->old_len >= USER_TOP;
}

/* An entry the file should not hold: one of the recorder's too short for its type, or a
 * record no process could have made. (A kernel record too short for its type is the
 * record consumer's to count, as a live trace's.) */
static bool bad_entry(const void *rec, uint32_t len)
{
	switch (*(const uint32_t *)rec) {
	case REC_EV_MAPS:
		return len < sizeof(struct rec_ev_maps);
	case REC_EV_STACK:
		return len < sizeof(struct rec_ev_stack);
	case REC_EV_START:
		return len < sizeof(struct rec_ev_start);
	case REC_EV_PROC_MAPS:
		return len < sizeof(struct rec_ev_proc_maps);
	case REC_EV_ADOPT:
		return len < sizeof(struct rec_ev_adopt) ||
		       (len - sizeof(struct rec_ev_adopt)) / 4 <
			   ((const struct rec_ev_adopt *)rec)->ntids;
	case REC_EV_LOST:
		return len < sizeof(struct rec_ev_lost);
	case MS_EV_ALLOC:
		return len >= sizeof(struct ms_event_alloc) && impossible_alloc(rec);
	case MS_EV_FREE:
		return len >= sizeof(struct ms_event_free) && impossible_free(rec);
	case MS_EV_MAP:
		return len >= sizeof(struct ms_event_map) && impossible_map(rec);
	}
	return false;
}

/* A reading of /proc/PID/maps into the tree's MAPth code map (procs.cms[MAP - 1]). */
static void proc_maps(struct replay *rp, const struct rec_ev_proc_maps *m, uint32_t len)
{
	struct procs *ps = rp->ev.procs;

	if (!ps || !m->map || m->map > (uint32_t)ps->ncms) {
		rp->bad_entries++;
		return;
	}
	codemap__feed_maps(ps->cms[m->map - 1], (const char *)(m + 1), len - sizeof(*m));
}

static void on_events(struct replay *rp, const struct rec_block *b)
{
	const void *rec;
	uint32_t len;
	size_t at = 0;
	bool bad;

	while (rec_events__next(b, &at, &rec, &len, &bad)) {
		uint32_t type = *(const uint32_t *)rec;

		if (rp->until_ns && rec_kernel_record(rec, len)) { /* --at: a moment of the trace */
			uint64_t ts;

			memcpy(&ts, (const uint8_t *)rec + 8, sizeof(ts));
			if (!rp->start_ns)
				rp->start_ns = ts; /* recorded before the trace's start was */
			if (ts > rp->start_ns + rp->until_ns) {
				rp->past_until++;
				continue;
			}
		}
		rp->records++;
		if (!rp->t) {
			rp->bad_entries++;
			continue;
		}
		if (bad_entry(rec, len)) {
			rp->bad_entries++;
			continue;
		}
		switch (type) {
		case REC_EV_MAPS:
			codemap__feed_maps(rp->cm, (const char *)rec + sizeof(struct rec_ev_maps),
					   len - sizeof(struct rec_ev_maps));
			free(rp->maps_text); /* the last reading: the HTML page's memory map */
			rp->maps_text = xasprintf("%.*s", (int)(len - sizeof(struct rec_ev_maps)),
						  (const char *)rec + sizeof(struct rec_ev_maps));
			break;
		case REC_EV_PROC_MAPS:
			proc_maps(rp, rec, len);
			break;
		case REC_EV_ADOPT:
			if (rp->ev.procs) {
				const struct rec_ev_adopt *a = rec;

				procs__adopt_recorded(rp->ev.procs, a->pid, a->ppid,
						      (const uint32_t *)(a + 1), a->ntids);
			} else {
				rp->bad_entries++;
			}
			break;
		case REC_EV_STACK:
			add_stack(rp, rec, len);
			break;
		case REC_EV_START:
			rp->start_ns = ((const struct rec_ev_start *)rec)->ts_ns;
			break;
		case REC_EV_LOST:
			rp->lost_allocs = ((const struct rec_ev_lost *)rec)->count;
			break;
		default:
			if (type == MS_EV_ALLOC && len >= sizeof(struct ms_event_alloc) &&
			    ((const struct ms_event_alloc *)rec)->stack_id == REC_STACK_INTERNED)
				interned_alloc(rp, rec, len);
			else
				feed(rp, rec, len);
		}
	}
	if (bad)
		rp->bad_entries++;
}

static bool fp_lookup(void *ctx, int32_t id, uint64_t *ips)
{
	struct replay *rp = ctx;

	for (size_t i = 0; i < rp->nfp; i++)
		if (rp->fp[i].id == id) {
			memcpy(ips, rp->fp[i].frames, sizeof(rp->fp[i].frames));
			return true;
		}
	return false;
}

static int on_summary(struct replay *rp, const struct rec_block *b, char *err, size_t len)
{
	const struct report *r = b->data;
	size_t tsize;

	if (b->len < sizeof(*r) || r->nthreads < 0 || r->nphases < 0 ||
	    r->nphases > MS_MAX_PHASES || r->nexecs < 0 || r->nexecs > REPORT_MAX_EXECS ||
	    (tsize = (size_t)r->nthreads * sizeof(*r->threads), b->len - sizeof(*r) != tsize))
		return say(err, len, "corrupt recording: bad SUMMARY block at offset %llu",
			   (unsigned long long)b->offset);
	rp->r = malloc(sizeof(*r));
	if (!rp->r)
		return say(err, len, "%s", strerror(ENOMEM));
	*rp->r = *r;
	rp->r->target = rp->t;
	rp->r->procs = NULL;
	rp->r->threads = tsize ? malloc(tsize) : NULL;
	if (tsize) {
		if (!rp->r->threads)
			return say(err, len, "%s", strerror(ENOMEM));
		memcpy(rp->r->threads, r + 1, tsize);
	}
	report_sanitize(rp->r);
	return 0;
}

/* The recorded build-ids against the files here (the symbolizer opened them): a file
 * changed since is said once, as its frames may be misnamed. */
static void on_modules(struct replay *rp, const struct rec_block *b)
{
	json_tokener *tok = json_tokener_new();
	json_object *arr = tok ? json_tokener_parse_ex(tok, b->data, b->len) : NULL;

	if (tok)
		json_tokener_free(tok);
	if (!arr || !json_object_is_type(arr, json_type_array) || rp->modules) {
		if (arr)
			json_object_put(arr);
		return;
	}
	rp->modules = arr;
	for (size_t i = 0; rp->cm && i < json_object_array_length(arr); i++) {
		json_object *m = json_object_array_get_idx(arr, i), *p, *id, *st;
		char here[128];
		uint64_t off;

		if (!json_object_object_get_ex(m, "path", &p) ||
		    !json_object_object_get_ex(m, "build_id", &id) ||
		    !json_object_object_get_ex(m, "start", &st) || !*json_object_get_string(id))
			continue;
		for (int k = 0; k < symbolize__nmappings(rp->cm->sym); k++) {
			uint64_t start, end;

			symbolize__mapping(rp->cm->sym, k, &start, &end);
			if (start != strtoull(json_object_get_string(st), NULL, 16))
				continue;
			symbolize__mapping_file(rp->cm->sym, k, &off, here, sizeof(here));
			if (*here && strcmp(here, json_object_get_string(id))) {
				if (!rp->modules_changed++)
					ms_warn("%s is not the file recorded (build-id %s, "
						"recorded %s): "
						"its frames may be misnamed; --symfs DIR takes a "
						"copy of "
						"the recording machine's files",
						json_object_get_string(p), here,
						json_object_get_string(id));
			}
			break;
		}
	}
}

/* --follow: the table's header and the latencies; its rows come next. */
static int on_procs(struct replay *rp, const struct rec_block *b, char *err, size_t len)
{
	const struct rec_procs *h = b->data;

	if (rp->has_procs || !rp->ev.procs || b->len < sizeof(*h) ||
	    (b->len - sizeof(*h)) / 8 != h->nlat || (b->len - sizeof(*h)) % 8)
		return say(err, len, "corrupt recording: bad PROCS block at offset %llu",
			   (unsigned long long)b->offset);
	rp->procs_head = *h;
	rp->has_procs = true;
	rp->procs_lat = h->nlat ? malloc(h->nlat * 8ull) : NULL;
	if (h->nlat && !rp->procs_lat)
		return say(err, len, "%s", strerror(ENOMEM));
	if (h->nlat)
		memcpy(rp->procs_lat, h + 1, h->nlat * 8ull);
	return 0;
}

static int on_proc(struct replay *rp, const struct rec_block *b, char *err, size_t len)
{
	const struct rec_proc *p = b->data;
	struct rec_proc *copy;

	if (!rp->has_procs || rp->nprocs_rec >= rp->procs_head.nprocs || b->len < sizeof(*p) ||
	    p->nfn > MS_FN_MAX || b->len != sizeof(*p) + p->nfn * sizeof(struct rec_proc_fn))
		return say(err, len, "corrupt recording: bad PROC block at offset %llu",
			   (unsigned long long)b->offset);
	copy = malloc(b->len);
	if (!copy)
		return say(err, len, "%s", strerror(ENOMEM));
	/* the rows as they come: the count is the file's, not to be trusted with memory */
	rp->procs_rec = xrealloc(rp->procs_rec, (rp->nprocs_rec + 1) * sizeof(*rp->procs_rec));
	memcpy(copy, b->data, b->len);
	TERMINATE(copy->comm);
	TERMINATE(copy->exe);
	TERMINATE(copy->allocator);
	TERMINATE(copy->cxx);
	rp->procs_rec[rp->nprocs_rec++] = copy;
	return 0;
}

static int on_block(struct replay *rp, const struct rec_block *b, char *err, size_t len)
{
	switch (b->type) {
	case REC_META:
		return rp->meta ? say(err, len, "corrupt recording: a second META at offset %llu",
				      (unsigned long long)b->offset)
				: on_meta(rp, b, err, len);
	case REC_TARGET:
		return on_target(rp, b, err, len);
	case REC_EVENTS:
		on_events(rp, b);
		return 0;
	case REC_STACKS:
		if (b->len % sizeof(*rp->fp) || rp->fp)
			return say(err, len, "corrupt recording: bad STACKS block at offset %llu",
				   (unsigned long long)b->offset);
		rp->nfp = b->len / sizeof(*rp->fp);
		rp->fp = rp->nfp ? malloc(b->len) : NULL;
		if (rp->nfp && !rp->fp)
			return say(err, len, "%s", strerror(ENOMEM));
		if (rp->nfp)
			memcpy(rp->fp, b->data, b->len);
		return 0;
	case REC_FINISH:
		if (b->len != sizeof(rp->fin))
			return say(err, len, "corrupt recording: bad FINISH block at offset %llu",
				   (unsigned long long)b->offset);
		memcpy(&rp->fin, b->data, sizeof(rp->fin));
		rp->has_finish = true;
		return 0;
	case REC_SUMMARY:
		return rp->r ? say(err, len, "corrupt recording: a second SUMMARY at offset %llu",
				   (unsigned long long)b->offset)
			     : on_summary(rp, b, err, len);
	case REC_MODULES:
		on_modules(rp, b);
		return 0;
	case REC_PROCS:
		return on_procs(rp, b, err, len);
	case REC_PROC:
		return on_proc(rp, b, err, len);
	}
	return 0;
}

/* Row I of the table as the trace ended (REC_PROC's R) over the row the stream made. */
static void apply_proc(struct replay *rp, struct proc *p, const struct rec_proc *r)
{
	const struct rec_proc_fn *fn = (const struct rec_proc_fn *)(r + 1);

	p->ppid = r->ppid;
	memcpy(p->comm, r->comm, sizeof(p->comm));
	p->start_ns = r->start_ns;
	p->end_ns = r->end_ns;
	p->attach_ns = r->attach_ns;
	p->exit_code = r->exit_code;
	p->execs = r->execs;
	p->exited = r->exited;
	p->attach_failed = r->attach_failed;
	p->img = r->has_image ? procs__image_new(rp->ev.procs) : NULL;
	if (p->img) {
		p->img->probed = r->probed;
		snprintf(p->img->t.exe, sizeof(p->img->t.exe), "%s", r->exe);
		snprintf(p->img->t.allocator, sizeof(p->img->t.allocator), "%s", r->allocator);
		snprintf(p->img->t.cxx, sizeof(p->img->t.cxx), "%s", r->cxx);
	}
	free(p->fn);
	p->fn = r->nfn ? calloc(MS_FN_MAX, sizeof(*p->fn)) : NULL;
	for (uint32_t k = 0; p->fn && k < r->nfn; k++)
		if (fn[k].fn < MS_FN_MAX)
			p->fn[fn[k].fn] = fn[k].v;
	if (p->pa && p != &rp->ev.procs->p[0])
		peralloc__set_recorded(p->pa, &r->pa);
}

/* --follow: what the trace knew of its processes besides the stream, row by row over the
 * table the stream made (the same rows in the same order, or it is said). */
static void apply_procs(struct replay *rp)
{
	struct procs *ps = rp->ev.procs;

	if (!rp->has_procs)
		return; /* cut short: the table as the stream made it */
	ps->attach_failures = rp->procs_head.attach_failures;
	ps->unresolved_images = rp->procs_head.unresolved_images;
	free(ps->lat_ns);
	ps->lat_ns = rp->procs_lat;
	ps->nlat = rp->procs_head.nlat;
	rp->procs_lat = NULL;
	for (uint32_t i = 0; i < rp->nprocs_rec; i++) {
		if (i >= (uint32_t)ps->n || ps->p[i].pid != rp->procs_rec[i]->pid) {
			rp->procs_mismatch++;
			continue;
		}
		apply_proc(rp, &ps->p[i], rp->procs_rec[i]);
	}
	rp->procs_mismatch += ps->n > (int)rp->nprocs_rec ? ps->n - rp->nprocs_rec : 0;
	if (rp->procs_mismatch)
		ms_warn("%u of the %d processes the records name are not the recorded table's "
			"(corrupt): their exe, allocators and per-function numbers are missing",
			rp->procs_mismatch, ps->n);
}

/* After the last record, as the live trace finishes its collectors. */
static void finish(struct replay *rp)
{
	const struct rec_finish *f = &rp->fin;
	struct procs *ps = rp->ev.procs;

	slowcalls__finish(rp->sc, f->lost_records[MS_EV_SLOW], f->lost_records[MS_EV_SYSCALL]);
	peralloc__set_stack_lookup(rp->pa, fp_lookup, rp);
	peralloc__finish(rp->pa, -1, f->stack_errors, f->lost_records, f->thread_state_lost);
	if (rp->has_finish)
		peralloc__set_recorded(rp->pa, &f->pa);
	for (int i = 1; ps && i < ps->n; i++) { /* --follow: each process's own */
		if (!ps->p[i].pa)
			continue;
		peralloc__set_stack_lookup(ps->p[i].pa, fp_lookup, rp);
		peralloc__finish(ps->p[i].pa, -1, f->stack_errors, f->lost_records, 0);
	}
	if (ps)
		apply_procs(rp);
	if (rp->r)
		rp->r->procs = ps;
}

static int load(struct replay *rp, char *err, size_t len)
{
	struct rec_block b;
	int got;

	while ((got = recording__next(&rp->rec, &b)) > 0) {
		if (b.type != REC_META && !rp->meta)
			return say(err, len,
				   "corrupt recording: its first block (offset %llu) is "
				   "not META",
				   (unsigned long long)b.offset);
		if (on_block(rp, &b, err, len))
			return -1;
	}
	if (got < 0)
		return say(err, len, "%s", rp->rec.why);
	if (!rp->t)
		return say(err, len, "%s; nothing was recorded before it",
			   rp->rec.cut ? rp->rec.why : "no TARGET block");
	finish(rp);
	return rp->rec.cut || !rp->r ? 1 : 0;
}

void replay__observe(struct replay *rp, const struct replay_observer *obs)
{
	if (rp->nobs < REPLAY_OBSERVERS)
		rp->obs[rp->nobs++] = *obs;
}

/* RP zeroed, but for what it was given: its observers, --at. */
static void replay_reset(struct replay *rp)
{
	struct replay_observer obs[REPLAY_OBSERVERS];
	uint64_t until = rp->until_ns;
	int n = rp->nobs;

	memcpy(obs, rp->obs, sizeof(obs));
	memset(rp, 0, sizeof(*rp));
	memcpy(rp->obs, obs, sizeof(obs));
	rp->nobs = n;
	rp->until_ns = until;
}

int replay__load_mem(struct replay *rp, const void *data, size_t size, char *err, size_t len)
{
	replay_reset(rp);
	if (recording__open_mem(&rp->rec, data, size))
		return say(err, len, "%s", rp->rec.why);
	return load(rp, err, len);
}

int replay__load(struct replay *rp, const char *path, char *err, size_t len)
{
	replay_reset(rp);
	if (recording__open(&rp->rec, path))
		return say(err, len, "%s", rp->rec.why);
	return load(rp, err, len);
}

void replay__free(struct replay *rp)
{
	if (rp->r)
		free(rp->r->threads);
	free(rp->r);
	procs__free(rp->ev.procs); /* its collectors and code maps, but the target's */
	for (uint32_t i = 0; i < rp->nprocs_rec; i++)
		free(rp->procs_rec[i]);
	free(rp->procs_rec);
	free(rp->procs_lat);
	peralloc__free(rp->pa);
	slowcalls__free(rp->sc);
	codemap__free(rp->cm);
	free(rp->t);
	free(rp->fp);
	free(rp->stacks);
	free(rp->frames);
	free(rp->scratch);
	free(rp->maps_text);
	if (rp->meta)
		json_object_put(rp->meta);
	if (rp->modules)
		json_object_put(rp->modules);
	recording__close(&rp->rec);
	memset(rp, 0, sizeof(*rp));
}
