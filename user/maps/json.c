// SPDX-License-Identifier: GPL-2.0
/* memstudy maps: snapshots to and from JSON. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/util.h"
#include "maps/maps_int.h"

struct json_object *json_hex(unsigned long v)
{
	char b[32];

	snprintf(b, sizeof(b), "0x%lx", v);
	return json_object_new_string(b);
}

static struct json_object *json_str_or_null(const char *v)
{
	return v ? json_object_new_string(v) : NULL;
}

struct json_object *json_label_total(const struct label_total *t)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "count", json_object_new_int64(t->count));
	json_object_object_add(o, "kbytes", json_object_new_int64(t->kbytes));
	json_object_object_add(o, "rss_kb", json_object_new_int64(t->rss_kb));
	json_object_object_add(o, "dirty_kb", json_object_new_int64(t->dirty_kb));
	json_object_object_add(o, "swap_kb", json_object_new_int64(t->swap_kb));
	return o;
}

static struct json_object *jint_or_null(long v)
{
	return v >= 0 ? json_object_new_int64(v) : NULL;
}

/* mallinfo2's fields under its names, or null with why_not. */
static struct json_object *json_mallinfo(const struct maps_mallinfo *mi)
{
	struct json_object *j = json_object_new_object();

	json_object_object_add(j, "known", json_object_new_boolean(mi->known));
	if (!mi->known) {
		json_object_object_add(j, "why_not", json_str_or_null(mi->why_not));
		return j;
	}
	json_object_object_add(j, "arena", json_object_new_uint64(mi->arena));
	json_object_object_add(j, "ordblks", json_object_new_uint64(mi->ordblks));
	json_object_object_add(j, "smblks", json_object_new_uint64(mi->smblks));
	json_object_object_add(j, "hblks", json_object_new_uint64(mi->hblks));
	json_object_object_add(j, "hblkhd", json_object_new_uint64(mi->hblkhd));
	json_object_object_add(j, "usmblks", json_object_new_uint64(mi->usmblks));
	json_object_object_add(j, "fsmblks", json_object_new_uint64(mi->fsmblks));
	json_object_object_add(j, "uordblks", json_object_new_uint64(mi->uordblks));
	json_object_object_add(j, "fordblks", json_object_new_uint64(mi->fordblks));
	json_object_object_add(j, "keepcost", json_object_new_uint64(mi->keepcost));
	json_object_object_add(j, "arenas", json_object_new_int(mi->arenas));
	return j;
}

struct json_object *maps_snapshot__to_json(const struct maps_snapshot *s)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array(), *tot;
	struct label_total t[MAPS_L__COUNT + 1], all = {0};

	json_object_object_add(o, "pid", json_object_new_int(s->pid));
	json_object_object_add(o, "comm", json_str_or_null(s->comm));
	json_object_object_add(o, "exe", json_str_or_null(s->exe));
	json_object_object_add(o, "time_ms", json_object_new_int64(s->time_ms));
	json_object_object_add(o, "page_size", json_object_new_int64(s->page_size));
	json_object_object_add(o, "memory_read", json_object_new_boolean(s->mem_read));
	if (s->mem_error)
		json_object_object_add(o, "memory_error", json_str_or_null(s->mem_error));
	for (size_t i = 0; i < s->nr_maps; i++) {
		const struct maps_mapping *m = &s->maps[i];
		struct json_object *j = json_object_new_object();
		char mode[6];

		pmap_mode(m, mode);
		json_object_object_add(j, "start", json_hex(m->start));
		json_object_object_add(j, "end", json_hex(m->end));
		json_object_object_add(j, "kbytes", json_object_new_int64(m->size_kb));
		json_object_object_add(j, "rss_kb", json_object_new_int64(m->rss_kb));
		json_object_object_add(j, "dirty_kb", json_object_new_int64(m->dirty_kb));
		json_object_object_add(j, "swap_kb", json_object_new_int64(m->swap_kb));
		json_object_object_add(j, "mode", json_object_new_string(mode));
		json_object_object_add(j, "perms", json_object_new_string(m->perms));
		json_object_object_add(j, "mapping", json_object_new_string(pmap_name(m)));
		json_object_object_add(j, "path", json_object_new_string(m->name));
		json_object_object_add(j, "offset", json_hex(m->offset));
		json_object_object_add(j, "inode", json_object_new_int64(m->inode));
		json_object_object_add(j, "label", json_object_new_string(mapping_label(m)));
		json_object_object_add(j, "evidence", json_str_or_null(m->evidence));
		if (m->tid)
			json_object_object_add(j, "tid", json_object_new_int(m->tid));
		/* Tracer hook: the call that created the mapping, null until traced. */
		json_object_object_add(j, "annotation", json_str_or_null(m->annotation));
		json_object_array_add(arr, j);
		all.count++;
		all.kbytes += m->size_kb;
		all.rss_kb += m->rss_kb;
		all.dirty_kb += m->dirty_kb;
		all.swap_kb += m->swap_kb;
	}
	json_object_object_add(o, "mappings", arr);

	totals(s, t);
	tot = json_object_new_object();
	for (int l = 0; l < MAPS_L__COUNT; l++)
		if (t[l].count)
			json_object_object_add(tot, maps_label__name(l), json_label_total(&t[l]));
	json_object_object_add(o, "totals", tot);
	json_object_object_add(o, "total", json_label_total(&all));

	arr = json_object_new_array();
	for (size_t i = 0; i < s->nr_threads; i++) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "tid", json_object_new_int(s->threads[i].tid));
		json_object_object_add(j, "sp",
				       s->threads[i].sp ? json_hex(s->threads[i].sp) : NULL);
		json_object_object_add(j, "sp_source", json_str_or_null(s->threads[i].sp_source));
		json_object_array_add(arr, j);
	}
	json_object_object_add(o, "threads", arr);

	arr = json_object_new_array();
	for (size_t i = 0; i < s->nr_heaps; i++) {
		const struct maps_heap *h = &s->heaps[i];
		struct json_object *j = json_object_new_object(), *w;

		json_object_object_add(
		    j, "label", json_object_new_string(h->main ? "main-heap" : "arena-heap"));
		json_object_object_add(j, "start", json_hex(h->start));
		json_object_object_add(j, "end", json_hex(h->end));
		json_object_object_add(j, "reserve_end", json_hex(h->reserve_end));
		json_object_object_add(j, "kbytes", json_object_new_int64(h->kbytes));
		json_object_object_add(j, "rss_kb", json_object_new_int64(h->rss_kb));
		json_object_object_add(j, "dirty_kb", json_object_new_int64(h->dirty_kb));
		json_object_object_add(j, "swap_kb", json_object_new_int64(h->swap_kb));
		json_object_object_add(j, "resident_pages", jint_or_null(h->resident_pages));
		json_object_object_add(j, "arena", h->arena ? json_hex(h->arena) : NULL);
		w = json_object_new_object();
		json_object_object_add(w, "complete", json_object_new_boolean(h->walked));
		if (h->walk_error) {
			json_object_object_add(w, "stopped_at", json_hex(h->walk_stop));
			json_object_object_add(w, "error", json_str_or_null(h->walk_error));
		}
		json_object_object_add(w, "chunks", json_object_new_int64(h->chunks));
		json_object_object_add(w, "inuse_chunks", json_object_new_int64(h->inuse_chunks));
		json_object_object_add(w, "inuse_bytes", json_object_new_int64(h->inuse_bytes));
		json_object_object_add(w, "free_chunks", json_object_new_int64(h->free_chunks));
		json_object_object_add(w, "free_bytes", json_object_new_int64(h->free_bytes));
		json_object_object_add(w, "largest_free", json_object_new_int64(h->largest_free));
		json_object_object_add(w, "free_resident_pages",
				       jint_or_null(h->free_resident_pages));
		json_object_object_add(j, "walk", w);
		json_object_object_add(j, "top", h->top_size ? json_hex(h->top) : NULL);
		json_object_object_add(j, "top_size",
				       h->top_size ? json_object_new_int64(h->top_size) : NULL);
		json_object_object_add(j, "top_source", json_str_or_null(h->top_source));
		json_object_object_add(j, "top_resident_pages",
				       jint_or_null(h->top_resident_pages));
		json_object_object_add(j, "trim_threshold",
				       json_object_new_int64(maps_trim_threshold(s)));
		json_object_object_add(j, "top_pad", json_object_new_int64(maps_top_pad(s)));
		json_object_object_add(j, "why", json_str_or_null(h->why));
		json_object_array_add(arr, j);
	}
	json_object_object_add(o, "heaps", arr);
	json_object_object_add(o, "mallinfo2", json_mallinfo(&s->mallinfo));

	arr = json_object_new_array();
	for (size_t i = 0; i < s->nr_notes; i++)
		json_object_array_add(arr, json_str_or_null(s->notes[i]));
	json_object_object_add(o, "notes", arr);
	return o;
}

static const char *jget_str(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
		   ? json_object_get_string(v)
		   : NULL;
}

static bool jget_hex(struct json_object *o, const char *k, unsigned long *out)
{
	const char *v = jget_str(o, k);
	char *end;

	if (!v)
		return false;
	errno = 0;
	*out = strtoul(v, &end, 16);
	return !errno && end != v && !*end;
}

static unsigned long jget_u(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? (unsigned long)json_object_get_int64(v) : 0;
}

struct maps_snapshot *maps_snapshot__from_json(struct json_object *j, const char **err)
{
	struct json_object *arr, *v;
	struct maps_snapshot *s;
	size_t n;

	if (!json_object_is_type(j, json_type_object) ||
	    !json_object_object_get_ex(j, "mappings", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		*err = "not a memstudy maps snapshot (no \"mappings\" array)";
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		*err = "out of memory";
		return NULL;
	}
	s->pid = json_object_object_get_ex(j, "pid", &v) ? json_object_get_int(v) : 0;
	s->comm = xstrdup(jget_str(j, "comm"));
	s->exe = xstrdup(jget_str(j, "exe"));
	s->time_ms = json_object_object_get_ex(j, "time_ms", &v) ? json_object_get_int64(v) : 0;
	s->page_size = jget_u(j, "page_size");
	n = json_object_array_length(arr);
	s->maps = xrealloc(NULL, n * sizeof(*s->maps));
	for (size_t i = 0; i < n; i++) {
		struct json_object *m = json_object_array_get_idx(arr, i);
		struct maps_mapping *x = &s->maps[s->nr_maps];
		const char *label = jget_str(m, "label"), *perms = jget_str(m, "perms");
		const char *path = jget_str(m, "path"), *mode = jget_str(m, "mode");

		memset(x, 0, sizeof(*x));
		if (!jget_hex(m, "start", &x->start) || !jget_hex(m, "end", &x->end) || !label) {
			maps_snapshot__free(s);
			*err = "a mapping lacks start, end or label";
			return NULL;
		}
		x->size_kb = jget_u(m, "kbytes");
		x->rss_kb = jget_u(m, "rss_kb");
		x->dirty_kb = jget_u(m, "dirty_kb");
		x->swap_kb = jget_u(m, "swap_kb");
		jget_hex(m, "offset", &x->offset);
		x->inode = jget_u(m, "inode");
		if (perms)
			snprintf(x->perms, sizeof(x->perms), "%.4s", perms);
		else if (mode)
			snprintf(x->perms, sizeof(x->perms), "%.3s%c", mode,
				 mode[0] && mode[1] && mode[2] && mode[3] == 's' ? 's' : 'p');
		/* Without a path, keep pmap's name; "[ anon ]" reads back as anonymous. */
		path = path ? path : jget_str(m, "mapping");
		x->name = xstrdup(path && strcmp(path, "[ anon ]") ? path : "");
		x->label = maps_label__from_name(label);
		x->label_name = xstrdup(label);
		if (jget_str(m, "evidence"))
			x->evidence = xstrdup(jget_str(m, "evidence"));
		if (jget_str(m, "annotation"))
			x->annotation = xstrdup(jget_str(m, "annotation"));
		x->tid = jget_u(m, "tid");
		s->nr_maps++;
	}
	return s;
}
