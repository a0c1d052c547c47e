// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>

#include "analyse/peralloc.h"
#include "analyse/timeline.h"
#include "lib/util.h"

void timeline__init(struct timeline *tl, uint64_t interval_ns)
{
	memset(tl, 0, sizeof(*tl));
	tl->interval_ns = interval_ns ? interval_ns : 1;
}

/* At most this many points: past it, every other one goes and the interval doubles, so a
 * trace of any length gets between half that and that many. */
#define TIMELINE_POINTS 20000

static void add_point(struct timeline *tl, struct peralloc *pa, uint64_t ts)
{
	struct timeline_point *p;

	if (tl->n == TIMELINE_POINTS) {
		for (size_t i = 0; i < tl->n / 2; i++)
			tl->v[i] = tl->v[2 * i + 1];
		tl->n /= 2;
		tl->interval_ns *= 2;
	}
	if (tl->n == tl->cap) {
		tl->cap = tl->cap ? tl->cap * 2 : 1024;
		tl->v = xrealloc(tl->v, tl->cap * sizeof(*tl->v));
	}
	p = &tl->v[tl->n++];
	p->ts_ns = ts;
	p->live_bytes = peralloc__live_bytes(pa);
	p->mapped_bytes = peralloc__allocator_mapped(pa);
	memcpy(p->rss, tl->rss, sizeof(p->rss));
	p->allocs = tl->allocs;
	p->frees = tl->frees;
	p->faults = tl->faults;
}

void timeline__record(void *ctx, struct peralloc *pa, uint32_t pid, const void *rec, uint32_t len)
{
	struct timeline *tl = ctx;
	const struct ms_event_alloc *a = rec; /* every kernel record: type, tid, ts_ns */

	if (len < 16 || a->type >= MS_EV_TYPES || a->type == MS_EV_PHASE)
		return;
	/* a point of the state after the records before this one, at the last one's time:
	 * exact, even when a quiet time follows */
	if (tl->last_ns && a->ts_ns >= tl->next_ns) {
		add_point(tl, pa, tl->last_ns);
		tl->next_ns = tl->last_ns + tl->interval_ns;
	}
	switch (a->type) {
	case MS_EV_ALLOC:
		tl->allocs++;
		break;
	case MS_EV_FREE:
		tl->frees++;
		break;
	case MS_EV_FAULT:
		tl->faults++;
		break;
	case MS_EV_RSS:
		if (len >= sizeof(struct ms_event_rss)) {
			const struct ms_event_rss *r = rec;

			if (r->member < MS_RSS_MEMBERS)
				tl->rss[r->member] = r->bytes;
			tl->rss_records++;
		}
		break;
	}
	/* records come in the order they were reserved, each CPU's times its own: the clock
	 * is the latest seen */
	if (a->ts_ns > tl->last_ns)
		tl->last_ns = a->ts_ns;
	if (!tl->next_ns)
		tl->next_ns = tl->last_ns + tl->interval_ns;
}

void timeline__finish(struct timeline *tl, struct peralloc *pa)
{
	if (tl->last_ns && pa) /* no collector: the recording could not be read */
		add_point(tl, pa, tl->last_ns);
}

void timeline__free(struct timeline *tl)
{
	free(tl->v);
	memset(tl, 0, sizeof(*tl));
}

int64_t timeline_point__rss(const struct timeline_point *p)
{
	return p->rss[0] + p->rss[1] + p->rss[3];
}
