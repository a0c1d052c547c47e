// SPDX-License-Identifier: GPL-2.0
/*
 * A recording's page: the report's JSON, and what the records say over time - a point of
 * memory every millisecond (doubled for long traces, as --timeline) and the munmaps and brk
 * shrinks of 64 KiB or more, the largest MAX_MARKS of them, to mark on it - and the memory
 * the trace saw mapped at its end.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "analyse/peralloc.h"
#include "analyse/timeline.h"
#include "lib/glibc_layout.h"
#include "lib/util.h"
#include "memstudy.h"
#include "output/html.h"

#define MARK_MIN_BYTES (64u << 10)
#define MAX_MARKS      1000

struct html_mark {
	uint64_t ts_ns, bytes;
	uint32_t sys;
	bool in_alloc;
};

struct html_recording {
	struct timeline tl;
	struct html_mark *marks; /* a min-heap by bytes once full: the smallest goes first */
	size_t nmarks;
	uint64_t marks_left_out;
};

struct html_recording *html_recording__new(void)
{
	struct html_recording *h = xrealloc(NULL, sizeof(*h));

	memset(h, 0, sizeof(*h));
	timeline__init(&h->tl, 1000 * 1000);
	h->marks = xrealloc(NULL, MAX_MARKS * sizeof(*h->marks));
	return h;
}

static void sift_down(struct html_mark *v, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct html_mark t;

		if (l < n && v[l].bytes < v[m].bytes)
			m = l;
		if (r < n && v[r].bytes < v[m].bytes)
			m = r;
		if (m == i)
			return;
		t = v[i];
		v[i] = v[m];
		v[m] = t;
		i = m;
	}
}

static void sift_up(struct html_mark *v, size_t i)
{
	while (i && v[(i - 1) / 2].bytes > v[i].bytes) {
		struct html_mark t = v[i];

		v[i] = v[(i - 1) / 2];
		v[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static void add_mark(struct html_recording *h, const struct html_mark *m)
{
	if (h->nmarks < MAX_MARKS) {
		h->marks[h->nmarks] = *m;
		sift_up(h->marks, h->nmarks++);
		return;
	}
	h->marks_left_out++;
	if (m->bytes <= h->marks[0].bytes)
		return;
	h->marks[0] = *m;
	sift_down(h->marks, h->nmarks, 0);
}

/* The bytes a mapping change gave back: a munmap's length, a brk's shrink, an mremap's. */
static uint64_t bytes_given_back(const struct ms_event_map *e)
{
	switch (e->sys) {
	case MS_SYS_MUNMAP:
		return e->len;
	case MS_SYS_BRK: /* addr: the new break; old_addr: the break before */
		return e->addr < e->old_addr ? e->old_addr - e->addr : 0;
	case MS_SYS_MREMAP:
		return e->len < e->old_len ? e->old_len - e->len : 0;
	}
	return 0;
}

void html_recording__record(void *ctx, struct peralloc *pa, uint32_t pid, const void *rec,
			    uint32_t len)
{
	struct html_recording *h = ctx;
	const struct ms_event_map *e = rec;

	timeline__record(&h->tl, pa, pid, rec, len);
	if (len >= sizeof(*e) && e->type == MS_EV_MAP) {
		struct html_mark m = {e->ts_ns, bytes_given_back(e), e->sys, e->in_alloc};

		if (m.bytes >= MARK_MIN_BYTES)
			add_mark(h, &m);
	}
}

static double since(uint64_t ns, uint64_t t0)
{
	return ns > t0 ? (ns - t0) / 1e9 : 0;
}

static json_object *timeline_json(const struct timeline *tl, uint64_t t0)
{
	static const char *const columns[] = {"t_s",	   "live_bytes", "allocator_mapped_bytes",
					      "rss_bytes", "allocs",	 "frees",
					      "faults"};
	json_object *o = json_object_new_object(), *cols = json_object_new_array(),
		    *rows = json_object_new_array_ext(tl->n);

	for (size_t i = 0; i < ARRAY_SIZE(columns); i++)
		json_object_array_add(cols, json_object_new_string(columns[i]));
	for (size_t i = 0; i < tl->n; i++) {
		const struct timeline_point *p = &tl->v[i];
		json_object *r = json_object_new_array_ext(ARRAY_SIZE(columns));

		json_object_array_add(r, json_object_new_double(since(p->ts_ns, t0)));
		json_object_array_add(r, json_object_new_int64(p->live_bytes));
		json_object_array_add(r, json_object_new_int64(p->mapped_bytes));
		json_object_array_add(r, json_object_new_int64(timeline_point__rss(p)));
		json_object_array_add(r, json_object_new_int64(p->allocs));
		json_object_array_add(r, json_object_new_int64(p->frees));
		json_object_array_add(r, json_object_new_int64(p->faults));
		json_object_array_add(rows, r);
	}
	json_object_object_add(o, "columns", cols);
	json_object_object_add(o, "rows", rows);
	json_object_object_add(o, "interval_ns", json_object_new_int64(tl->interval_ns));
	json_object_object_add(o, "rss_records", json_object_new_int64(tl->rss_records));
	return o;
}

static int by_time(const void *a, const void *b)
{
	const struct html_mark *x = a, *y = b;

	return x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
}

static json_object *marks_json(struct html_recording *h, uint64_t t0)
{
	json_object *a = json_object_new_array_ext(h->nmarks);

	qsort(h->marks, h->nmarks, sizeof(*h->marks), by_time);
	for (size_t i = 0; i < h->nmarks; i++) {
		const struct html_mark *m = &h->marks[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "t_s", json_object_new_double(since(m->ts_ns, t0)));
		json_object_object_add(o, "what",
				       json_object_new_string(m->sys == MS_SYS_BRK ? "brk shrink"
							      : m->sys == MS_SYS_MREMAP
								  ? "mremap shrink"
								  : "munmap"));
		json_object_object_add(o, "bytes", json_object_new_int64(m->bytes));
		json_object_object_add(o, "in_allocator_call",
				       json_object_new_boolean(m->in_alloc));
		json_object_array_add(a, o);
	}
	return a;
}

/* What the trace saw mapped at its end, each mapping with what made it and, for the
 * allocator's own, the live block it holds (glibc's mmapped chunk: its block 16 bytes in). */
static json_object *map_json(struct peralloc *pa)
{
	static const char *const kinds[] = {
	    [PA_MAP_HEAP] = "brk heap",
	    [PA_MAP_ALLOCATOR] = "mapped by the allocator",
	    [PA_MAP_STACK] = "thread stack",
	    [PA_MAP_ANON] = "anonymous, mapped outside allocator calls",
	    [PA_MAP_FILE] = "file",
	};
	json_object *a = json_object_new_array();
	struct pa_mapping m;
	char buf[64], site[512];

	for (int i = 0; peralloc__mapping(pa, i, &m); i++) {
		json_object *o = json_object_new_object();

		snprintf(buf, sizeof(buf), "0x%" PRIx64, m.start);
		json_object_object_add(o, "start", json_object_new_string(buf));
		json_object_object_add(o, "bytes", json_object_new_int64(m.end - m.start));
		json_object_object_add(o, "kind", json_object_new_string(kinds[m.kind]));
		if (m.kind == PA_MAP_ALLOCATOR &&
		    peralloc__describe_addr(pa, m.start + GLIBC_CHUNK_HDR, site, sizeof(site)))
			json_object_object_add(o, "live_block", json_object_new_string(site));
		json_object_array_add(a, o);
	}
	return a;
}

int html_recording__write(struct html_recording *h, struct peralloc *pa, uint64_t t0_ns,
			  json_object *data, const char *title, const char *path)
{
	int ret;

	timeline__finish(&h->tl, pa);
	json_object_object_add(data, "timeline", timeline_json(&h->tl, t0_ns));
	json_object_object_add(data, "markers", marks_json(h, t0_ns));
	json_object_object_add(data, "markers_left_out", json_object_new_int64(h->marks_left_out));
	json_object_object_add(data, "map_at_end", map_json(pa));
	ret = html_page__write(path, HTML_RECORDING, title, data);
	json_object_put(data);
	html_recording__free(h);
	return ret;
}

void html_recording__free(struct html_recording *h)
{
	timeline__free(&h->tl);
	free(h->marks);
	free(h);
}
