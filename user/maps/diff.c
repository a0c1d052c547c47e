// SPDX-License-Identifier: GPL-2.0
/* memstudy maps --diff: what changed between two snapshots. */
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

/* ---- diff ---- */

/*
 * Walk both (sorted) mapping lists together, matching by start address, and
 * call fn for each pair; a or b is NULL for a mapping only in one snapshot.
 */
typedef void (*diff_fn)(const struct maps_mapping *a, const struct maps_mapping *b, void *arg);

static void diff_walk(const struct maps_snapshot *A, const struct maps_snapshot *B, diff_fn fn,
		      void *arg)
{
	size_t i = 0, k = 0;

	while (i < A->nr_maps || k < B->nr_maps) {
		const struct maps_mapping *a = i < A->nr_maps ? &A->maps[i] : NULL;
		const struct maps_mapping *b = k < B->nr_maps ? &B->maps[k] : NULL;

		if (a && b && a->start == b->start) {
			fn(a, b, arg);
			i++, k++;
		} else if (a && (!b || a->start < b->start)) {
			fn(a, NULL, arg);
			i++;
		} else {
			fn(NULL, b, arg);
			k++;
		}
	}
}

static bool same(const struct maps_mapping *a, const struct maps_mapping *b)
{
	return a->end == b->end && a->size_kb == b->size_kb && a->rss_kb == b->rss_kb &&
	       a->dirty_kb == b->dirty_kb && a->swap_kb == b->swap_kb &&
	       !strcmp(mapping_label(a), mapping_label(b)) && !strcmp(a->perms, b->perms);
}

static const char *change_kind(const struct maps_mapping *a, const struct maps_mapping *b)
{
	if (!a)
		return "new";
	if (!b)
		return "gone";
	if (a->end != b->end)
		return b->end > a->end ? "grew" : "shrank";
	if (strcmp(mapping_label(a), mapping_label(b)))
		return "relabeled";
	return "changed";
}

/* Per-label totals keyed by label text (labels read from JSON may be unknown to us). */
struct dtot {
	char label[32];
	struct label_total a, b;
};

struct dstate {
	FILE *out;
	struct json_object *arr;
	size_t unchanged;
	struct dtot t[64];
	int nt;
};

static void dtot_add(struct dstate *d, const struct maps_mapping *m, bool is_b)
{
	const char *l = mapping_label(m);
	struct label_total *x;
	int i;

	for (i = 0; i < d->nt; i++)
		if (!strcmp(d->t[i].label, l))
			break;
	if (i == d->nt) {
		if (d->nt == 64)
			return;
		memset(&d->t[i], 0, sizeof(d->t[i]));
		snprintf(d->t[i].label, sizeof(d->t[i].label), "%s", l);
		d->nt++;
	}
	x = is_b ? &d->t[i].b : &d->t[i].a;
	x->count++;
	x->kbytes += m->size_kb;
	x->rss_kb += m->rss_kb;
	x->dirty_kb += m->dirty_kb;
	x->swap_kb += m->swap_kb;
}

static long field_delta(const struct maps_mapping *a, const struct maps_mapping *b, size_t off)
{
	long va = a ? (long)*(const unsigned long *)((const char *)a + off) : 0;
	long vb = b ? (long)*(const unsigned long *)((const char *)b + off) : 0;

	return vb - va;
}

#define DV(f) field_delta(a, b, offsetof(struct maps_mapping, f))

static void diff_one(const struct maps_mapping *a, const struct maps_mapping *b, void *arg)
{
	struct dstate *d = arg;
	const struct maps_mapping *m = b ? b : a;

	if (a)
		dtot_add(d, a, false);
	if (b)
		dtot_add(d, b, true);
	if (a && b && same(a, b)) {
		d->unchanged++;
		return;
	}
	if (d->out) {
		fprintf(d->out, "%016lx %-9s %+8ld %+8ld %+8ld %+7ld %-13s %s", m->start,
			change_kind(a, b), DV(size_kb), DV(rss_kb), DV(dirty_kb), DV(swap_kb),
			mapping_label(m), pmap_name(m));
		if (a && b)
			fprintf(d->out, "  (Kbytes %lu->%lu, RSS %lu->%lu%s%s)", a->size_kb,
				b->size_kb, a->rss_kb, b->rss_kb,
				strcmp(mapping_label(a), mapping_label(b)) ? ", was " : "",
				strcmp(mapping_label(a), mapping_label(b)) ? mapping_label(a) : "");
		fputc('\n', d->out);
	}
	if (d->arr) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "start", json_hex(m->start));
		json_object_object_add(j, "end", json_hex(m->end));
		json_object_object_add(j, "change", json_object_new_string(change_kind(a, b)));
		json_object_object_add(j, "label", json_object_new_string(mapping_label(m)));
		if (a && b && strcmp(mapping_label(a), mapping_label(b)))
			json_object_object_add(j, "label_before",
					       json_object_new_string(mapping_label(a)));
		json_object_object_add(j, "mapping", json_object_new_string(pmap_name(m)));
		json_object_object_add(j, "kbytes_before",
				       a ? json_object_new_int64(a->size_kb) : NULL);
		json_object_object_add(j, "kbytes_after",
				       b ? json_object_new_int64(b->size_kb) : NULL);
		json_object_object_add(j, "rss_kb_before",
				       a ? json_object_new_int64(a->rss_kb) : NULL);
		json_object_object_add(j, "rss_kb_after",
				       b ? json_object_new_int64(b->rss_kb) : NULL);
		json_object_object_add(j, "dirty_kb_before",
				       a ? json_object_new_int64(a->dirty_kb) : NULL);
		json_object_object_add(j, "dirty_kb_after",
				       b ? json_object_new_int64(b->dirty_kb) : NULL);
		json_object_object_add(j, "kbytes_delta", json_object_new_int64(DV(size_kb)));
		json_object_object_add(j, "rss_kb_delta", json_object_new_int64(DV(rss_kb)));
		json_object_object_add(j, "dirty_kb_delta", json_object_new_int64(DV(dirty_kb)));
		json_object_object_add(j, "swap_kb_delta", json_object_new_int64(DV(swap_kb)));
		json_object_array_add(d->arr, j);
	}
}

static void print_snapshot_title(FILE *out, const char *tag, const struct maps_snapshot *s)
{
	fprintf(out, "%s: pid %d %s", tag, s->pid, s->comm ? s->comm : "");
	if (s->time_ms) {
		time_t t = s->time_ms / 1000;
		char buf[64];

		strftime(buf, sizeof(buf), "%F %T", localtime(&t));
		fprintf(out, " at %s", buf);
	}
	fputc('\n', out);
}

void maps_diff__print(const struct maps_snapshot *a, const struct maps_snapshot *b, FILE *out)
{
	struct dstate d = {.out = out};

	print_snapshot_title(out, "A", a);
	print_snapshot_title(out, "B", b);
	if (a->pid != b->pid)
		fprintf(out, "note: different PIDs; mappings are matched by start address only\n");
	fprintf(out,
		"Address          Change     dKbytes     dRSS   dDirty   dSwap %-13s Mapping\n",
		"Label");
	diff_walk(a, b, diff_one, &d);
	fprintf(out, "(%zu mappings unchanged)\n", d.unchanged);
	fprintf(out, "\nBy label       Count A->B      Kbytes A->B (delta)        RSS A->B (delta)"
		     "      Dirty A->B (delta)\n");
	for (int i = 0; i < d.nt; i++) {
		struct dtot *t = &d.t[i];

		if (!memcmp(&t->a, &t->b, sizeof(t->a)))
			continue;
		fprintf(out,
			"%-14s %4lu->%-4lu %8lu->%-8lu(%+ld) %8lu->%-8lu(%+ld) %7lu->%-7lu(%+ld)\n",
			t->label, t->a.count, t->b.count, t->a.kbytes, t->b.kbytes,
			(long)(t->b.kbytes - t->a.kbytes), t->a.rss_kb, t->b.rss_kb,
			(long)(t->b.rss_kb - t->a.rss_kb), t->a.dirty_kb, t->b.dirty_kb,
			(long)(t->b.dirty_kb - t->a.dirty_kb));
	}
}

struct json_object *maps_diff__to_json(const struct maps_snapshot *a, const struct maps_snapshot *b)
{
	struct json_object *o = json_object_new_object(), *tot = json_object_new_object(), *x;
	struct dstate d = {.arr = json_object_new_array()};

	diff_walk(a, b, diff_one, &d);
	x = json_object_new_object();
	json_object_object_add(x, "pid", json_object_new_int(a->pid));
	json_object_object_add(x, "time_ms", json_object_new_int64(a->time_ms));
	json_object_object_add(o, "a", x);
	x = json_object_new_object();
	json_object_object_add(x, "pid", json_object_new_int(b->pid));
	json_object_object_add(x, "time_ms", json_object_new_int64(b->time_ms));
	json_object_object_add(o, "b", x);
	json_object_object_add(o, "mappings", d.arr);
	json_object_object_add(o, "unchanged", json_object_new_int64(d.unchanged));
	for (int i = 0; i < d.nt; i++) {
		struct json_object *t = json_object_new_object();

		json_object_object_add(t, "before", json_label_total(&d.t[i].a));
		json_object_object_add(t, "after", json_label_total(&d.t[i].b));
		json_object_object_add(
		    t, "kbytes_delta",
		    json_object_new_int64((long)(d.t[i].b.kbytes - d.t[i].a.kbytes)));
		json_object_object_add(
		    t, "rss_kb_delta",
		    json_object_new_int64((long)(d.t[i].b.rss_kb - d.t[i].a.rss_kb)));
		json_object_object_add(
		    t, "dirty_kb_delta",
		    json_object_new_int64((long)(d.t[i].b.dirty_kb - d.t[i].a.dirty_kb)));
		json_object_object_add(
		    t, "count_delta",
		    json_object_new_int64((long)(d.t[i].b.count - d.t[i].a.count)));
		json_object_object_add(tot, d.t[i].label, t);
	}
	json_object_object_add(o, "totals", tot);
	return o;
}
