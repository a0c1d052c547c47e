// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>

#include "analyse/codemap.h"
#include "analyse/slowcalls_int.h"

#define SITES_MAX   4096 /* distinct stacks of syscalls outside calls; more share one row */
#define PENDING_MAX 1024 /* syscall records kept to unwind later (~9 KiB each) */

struct slowcalls *slowcalls__new(struct codemap *cm, int n, int stack_depth)
{
	struct slowcalls *sc = calloc(1, sizeof(*sc));

	if (!sc)
		return NULL;
	sc->cm = cm;
	sc->n = n;
	sc->depth = stack_depth > 0 && stack_depth <= MS_STACK_DEPTH ? stack_depth : MS_STACK_DEPTH;
	for (int f = 0; f < MS_FN_MAX; f++) {
		sc->calls[f] = calloc(n ? n : 1, sizeof(struct sc_call));
		if (!sc->calls[f]) {
			slowcalls__free(sc);
			return NULL;
		}
	}
	return sc;
}

void slowcalls__free(struct slowcalls *sc)
{
	if (!sc)
		return;
	for (int f = 0; f < MS_FN_MAX; f++) {
		for (int i = 0; sc->calls[f] && i < sc->ncalls[f]; i++)
			free(sc->calls[f][i].copy.bytes);
		free(sc->calls[f]);
	}
	for (uint32_t i = 0; i < sc->npending; i++)
		free(sc->pending[i]);
	free(sc->pending);
	free(sc->pending_cm);
	free(sc->sites);
	free(sc);
}

uint64_t sc_syscall_bytes(const struct ms_call_syscall *c)
{
	if (c->sys == MS_SYS_BRK || c->sys == MS_SYS_MREMAP)
		return c->delta < 0 ? -(uint64_t)c->delta : (uint64_t)c->delta;
	return c->len;
}

static void unwind_into(struct slowcalls *sc, struct codemap *cm, struct sc_stack *st, uint64_t pc,
			uint64_t sp, uint64_t bp, const uint8_t *stack, uint32_t len)
{
	st->nframes = codemap__unwind(cm, pc, sp, bp, stack, len, st->frames, sc->depth, &st->end);
	st->nsym = 0;
}

/* Keep a record's stack copy (LEN bytes, never past the HAVE the record holds). */
static void copy_keep(struct sc_copy *c, uint64_t pc, uint64_t sp, uint64_t bp,
		      const uint8_t *stack, uint32_t len, size_t have)
{
	free(c->bytes);
	c->pc = pc;
	c->sp = sp;
	c->bp = bp;
	c->len = len < have ? len : have;
	c->bytes = c->len ? malloc(c->len) : NULL;
	if (c->bytes)
		memcpy(c->bytes, stack, c->len);
	else
		c->len = 0;
}

/* The slot a call of FN that took NS replaces: a free one, else the fastest kept if
 * slower than it; -1 when it is not among the N slowest. */
static int slot_for(struct slowcalls *sc, int fn, uint64_t ns)
{
	struct sc_call *c = sc->calls[fn];
	int at = 0;

	if (sc->ncalls[fn] < sc->n)
		return sc->ncalls[fn]++;
	for (int i = 1; i < sc->n; i++)
		if (c[i].ns < c[at].ns)
			at = i;
	return sc->n && ns > c[at].ns ? at : -1;
}

static void on_slow(struct slowcalls *sc, const struct ms_event_slow *e, size_t size)
{
	size_t have = size - offsetof(struct ms_event_slow, stack);
	struct sc_call *c;
	int at;

	sc->slow_records++;
	if (e->fn >= MS_FN_MAX || (at = slot_for(sc, e->fn, e->ns)) < 0)
		return;
	c = &sc->calls[e->fn][at];
	c->cm = sc->cm_of ? sc->cm_of(sc->cm_ctx, e->tid) : NULL;
	c->cm = c->cm ? c->cm : sc->cm;
	c->ts_ns = e->ts_ns;
	c->ns = e->ns;
	c->bytes = e->bytes;
	c->tid = e->tid;
	c->fn = e->fn;
	c->own = e->own;
	c->work = e->work;
	c->w = e->w;
	copy_keep(&c->copy, e->pc, e->sp, e->bp, e->stack, e->stack_len, have);
	c->st.nframes = c->st.nsym = 0; /* unwound later (at an exec, or the end) */
}

static uint64_t stack_key(uint32_t sys, const struct sc_stack *st)
{
	uint64_t h = 1469598103934665603ULL ^ sys;

	for (int i = 0; i < st->nframes; i++)
		h = (h ^ st->frames[i]) * 1099511628211ULL;
	return h;
}

static struct sc_site *site_get(struct slowcalls *sc, uint32_t sys, const struct sc_stack *st,
				struct codemap *cm)
{
	uint64_t key = stack_key(sys, st);

	for (uint32_t i = 0; i < sc->nsites; i++) {
		struct sc_site *s = &sc->sites[i];

		if (s->key == key && s->sys == sys && s->cm == cm && s->st.nframes == st->nframes &&
		    !memcmp(s->st.frames, st->frames, st->nframes * sizeof(*st->frames)))
			return s;
	}
	if (sc->nsites == SITES_MAX)
		return NULL;
	if (sc->nsites == sc->sites_cap) {
		uint32_t cap = sc->sites_cap ? 2 * sc->sites_cap : 64;
		struct sc_site *n = realloc(sc->sites, cap * sizeof(*n));

		if (!n)
			return NULL;
		sc->sites = n;
		sc->sites_cap = cap;
	}
	sc->sites[sc->nsites] = (struct sc_site){.cm = cm, .key = key, .sys = sys, .st = *st};
	return &sc->sites[sc->nsites++];
}

/* A syscall record, unwound: into its stack's site. */
static void site_add(struct slowcalls *sc, const struct ms_event_syscall *e, struct codemap *cm)
{
	struct sc_stack st;
	struct sc_site *s;

	unwind_into(sc, cm, &st, e->pc, e->sp, e->bp, e->stack, e->stack_len);
	s = site_get(sc, e->s.sys, &st, cm);
	if (!s) {
		sc->sites_merged++;
		return;
	}
	s->calls++;
	s->failed += e->s.result < 0 && e->s.result > -4096;
	s->bytes += sc_syscall_bytes(&e->s);
	s->ns += e->s.ns;
	if (e->s.ns > s->max_ns)
		s->max_ns = e->s.ns;
}

static void pending_flush(struct slowcalls *sc)
{
	if (!sc->cm)
		return; /* no code map: no records were asked for */
	codemap__refresh(sc->cm, false);
	for (uint32_t i = 0; i < sc->npending; i++) {
		site_add(sc, sc->pending[i], sc->pending_cm[i]);
		free(sc->pending[i]);
	}
	sc->npending = 0;
}

static void on_syscall(struct slowcalls *sc, const struct ms_event_syscall *e, size_t size)
{
	size_t have = size - offsetof(struct ms_event_syscall, stack);
	size_t keep =
	    offsetof(struct ms_event_syscall, stack) + (e->stack_len < have ? e->stack_len : have);
	struct ms_event_syscall *copy;

	sc->syscall_records++;
	if (!sc->pending && (!(sc->pending = calloc(PENDING_MAX, sizeof(*sc->pending))) ||
			     !(sc->pending_cm = calloc(PENDING_MAX, sizeof(*sc->pending_cm))))) {
		free(sc->pending);
		sc->pending = NULL;
		sc->sites_merged++;
		return;
	}
	if (sc->npending == PENDING_MAX)
		pending_flush(sc);
	copy = malloc(keep);
	if (!copy) {
		sc->sites_merged++;
		return;
	}
	memcpy(copy, e, keep);
	copy->stack_len = keep - offsetof(struct ms_event_syscall, stack);
	sc->pending_cm[sc->npending] = sc->cm_of ? sc->cm_of(sc->cm_ctx, e->tid) : NULL;
	if (!sc->pending_cm[sc->npending])
		sc->pending_cm[sc->npending] = sc->cm;
	sc->pending[sc->npending++] = copy;
}

void slowcalls__event(struct slowcalls *sc, const void *data, size_t size)
{
	uint32_t type = *(const uint32_t *)data;

	if (type == MS_EV_SLOW)
		on_slow(sc, data, size);
	else if (type == MS_EV_SYSCALL)
		on_syscall(sc, data, size);
}

static void symbolize_stack(struct codemap *cm, struct sc_stack *st)
{
	st->nsym = codemap__symbolize(cm, st->frames, st->nframes, false, st->sym, st->sym_addr,
				      MS_STACK_DEPTH);
}

void slowcalls__set_codemap_of(struct slowcalls *sc, struct codemap *(*cm_of)(void *, uint32_t),
			       void *ctx)
{
	sc->cm_of = cm_of;
	sc->cm_ctx = ctx;
}

/* Unwind the kept calls' copies against the code mapped now (once each). */
static void unwind_kept(struct slowcalls *sc)
{
	for (int f = 0; sc->cm && f < MS_FN_MAX; f++)
		for (int i = 0; i < sc->ncalls[f]; i++) {
			struct sc_call *c = &sc->calls[f][i];

			if (!c->copy.bytes && c->st.nframes)
				continue; /* done at an exec */
			unwind_into(sc, c->cm ? c->cm : sc->cm, &c->st, c->copy.pc, c->copy.sp,
				    c->copy.bp, c->copy.bytes, c->copy.len);
			free(c->copy.bytes);
			c->copy.bytes = NULL;
			c->copy.len = 0;
		}
}

void slowcalls__exec(struct slowcalls *sc)
{
	pending_flush(sc);
	unwind_kept(sc);
}

void slowcalls__finish(struct slowcalls *sc, uint64_t lost_slow, uint64_t lost_syscalls)
{
	sc->lost_slow = lost_slow;
	sc->lost_syscalls = lost_syscalls;
	pending_flush(sc);
	unwind_kept(sc);
	for (int f = 0; sc->cm && f < MS_FN_MAX; f++)
		for (int i = 0; i < sc->ncalls[f]; i++)
			symbolize_stack(sc->calls[f][i].cm ? sc->calls[f][i].cm : sc->cm,
					&sc->calls[f][i].st);
	for (uint32_t i = 0; sc->cm && i < sc->nsites; i++)
		symbolize_stack(sc->sites[i].cm, &sc->sites[i].st);
}
