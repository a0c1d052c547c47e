// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analyse/peralloc_int.h"
#include "analyse/symbolize.h"
#include "lib/encode.h"
#include "lib/outfile.h"
#include "lib/util.h"
#include "output/exports.h"
#include "output/frames.h"

#define PAGE 4096

const char *const fold_weight_names[] = {"bytes", "calls",     "faults", "resident",
					 "live",  "kernel_ns", NULL};

static uint64_t site_weight(const struct pa_site *s, enum fold_weight w)
{
	switch (w) {
	case FOLD_BYTES:
		return s->bytes;
	case FOLD_CALLS:
		return s->allocs;
	case FOLD_FAULTS:
		return s->f.faults;
	case FOLD_RESIDENT:
		return s->live_faults * PAGE;
	case FOLD_LIVE:
		return s->live_bytes;
	case FOLD_KERNEL_NS:
		return s->kernel_ns;
	default:
		return 0;
	}
}

int export_folded(struct peralloc *pa, enum fold_weight w, const char *path)
{
	FILE *out = out_open(path);

	if (!out)
		return 1;
	for (uint32_t i = 0; i < peralloc__nsites(pa); i++) {
		const struct pa_site *s = peralloc__site(pa, i);
		uint64_t v = site_weight(s, w);
		char fr[512];

		if (s->merged_into != PA_NIL || !v)
			continue;
		for (int f = s->nframes - 1; f >= 0; f--) {
			frame_label(&s->sym[f], s->frames[f], fr, sizeof(fr));
			for (char *c = fr; *c; c++) /* the format's separators */
				if (*c == ';' || *c == '\n')
					*c = ',';
			fprintf(out, "%s%s", fr, f ? ";" : "");
		}
		if (!s->nframes)
			fprintf(out, "[unknown]");
		fprintf(out, " %llu\n", (unsigned long long)v);
	}
	return out_close(out, path) ? 1 : 0;
}

/* profile.proto, written by hand: varints and length-delimited fields. */
struct pb {
	uint8_t *b;
	size_t n, cap;
};

static void pb_raw(struct pb *p, const void *d, size_t n)
{
	if (p->n + n > p->cap) {
		p->cap = (p->n + n) * 2 + 256;
		p->b = xrealloc(p->b, p->cap);
	}
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void pb_varint(struct pb *p, uint64_t v)
{
	uint8_t b[10];
	int n = 0;

	do {
		b[n++] = (v & 0x7f) | (v > 0x7f ? 0x80 : 0);
		v >>= 7;
	} while (v);
	pb_raw(p, b, n);
}

static void pb_uint(struct pb *p, int field, uint64_t v)
{
	if (!v)
		return; /* proto3: a zero is not written */
	pb_varint(p, (uint64_t)field << 3);
	pb_varint(p, v);
}

static void pb_bytes(struct pb *p, int field, const void *d, size_t n)
{
	pb_varint(p, (uint64_t)field << 3 | 2);
	pb_varint(p, n);
	pb_raw(p, d, n);
}

/* SUB as field FIELD of P, and SUB emptied for the next one. */
static void pb_sub(struct pb *p, int field, struct pb *sub)
{
	pb_bytes(p, field, sub->b, sub->n);
	sub->n = 0;
}

static void pb_packed(struct pb *p, int field, const uint64_t *v, int n)
{
	struct pb s = {0};

	for (int i = 0; i < n; i++)
		pb_varint(&s, v[i]);
	pb_bytes(p, field, s.b ? s.b : (uint8_t *)"", s.n);
	free(s.b);
}

/* Interning: strings, functions and locations get their numbers once. */
struct intern {
	char **key;
	uint64_t *val;
	uint64_t cap, n;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

/* KEY's number (1, 2, ...), and *ISNEW when it was just given. */
static uint64_t intern(struct intern *t, const char *key, bool *isnew)
{
	uint64_t i;

	if ((t->n + 1) * 2 > t->cap) {
		struct intern g = {.cap = t->cap ? t->cap * 2 : 1024};

		g.key = calloc(g.cap, sizeof(*g.key));
		g.val = calloc(g.cap, sizeof(*g.val));
		if (!g.key || !g.val)
			ms_err("out of memory"), exit(1);
		for (uint64_t k = 0; k < t->cap; k++) {
			if (!t->key[k])
				continue;
			for (i = hash_str(t->key[k]) & (g.cap - 1); g.key[i];
			     i = (i + 1) & (g.cap - 1))
				;
			g.key[i] = t->key[k];
			g.val[i] = t->val[k];
		}
		g.n = t->n;
		free(t->key);
		free(t->val);
		*t = g;
	}
	for (i = hash_str(key) & (t->cap - 1); t->key[i]; i = (i + 1) & (t->cap - 1))
		if (!strcmp(t->key[i], key)) {
			*isnew = false;
			return t->val[i];
		}
	t->key[i] = xstrdup(key);
	t->val[i] = ++t->n;
	*isnew = true;
	return t->val[i];
}

static void intern_free(struct intern *t)
{
	for (uint64_t i = 0; i < t->cap; i++)
		free(t->key[i]);
	free(t->key);
	free(t->val);
}

struct pprof {
	struct pb prof, tmp, line;
	struct intern strings, functions, locations;
	struct symbolizer *sym;
	int nmaps;
	uint64_t *map_start, *map_end;
};

/* String S's index in the string table (0 is ""). */
static uint64_t str_id(struct pprof *pp, const char *s)
{
	bool isnew;
	uint64_t id;

	if (!s || !*s)
		return 0;
	id = intern(&pp->strings, s, &isnew);
	if (isnew)
		pb_bytes(&pp->prof, 6, s, strlen(s)); /* string_table[id] */
	return id;
}

static uint64_t function_id(struct pprof *pp, const struct sym_info *si, uint64_t addr)
{
	char name[512], *key;
	uint64_t id;
	bool isnew;

	frame_label(si, addr, name, sizeof(name));
	key = xasprintf("%s\t%s", name, si->file ? si->file : "");
	id = intern(&pp->functions, key, &isnew);
	free(key);
	if (isnew) {
		uint64_t n = str_id(pp, name), f = str_id(pp, si->file);
		struct pb fn = {0};

		pb_uint(&fn, 1, id);
		pb_uint(&fn, 2, n);
		pb_uint(&fn, 3, n);
		pb_uint(&fn, 4, f);
		pb_sub(&pp->prof, 5, &fn);
		free(fn.b);
	}
	return id;
}

static uint64_t mapping_of(const struct pprof *pp, uint64_t addr)
{
	for (int i = 0; i < pp->nmaps; i++)
		if (addr >= pp->map_start[i] && addr < pp->map_end[i])
			return i + 1;
	return 0;
}

/* The location of frames F..F+K-1 of S (one address: the inlined frames, then their
 * caller), written when new. */
static uint64_t location_id(struct pprof *pp, const struct pa_site *s, int f, int k)
{
	char key[64];
	uint64_t id;
	bool isnew;

	snprintf(key, sizeof(key), "%llx", (unsigned long long)s->frames[f]);
	id = intern(&pp->locations, key, &isnew);
	if (isnew) {
		struct pb loc = {0};

		pb_uint(&loc, 1, id);
		pb_uint(&loc, 2, mapping_of(pp, s->frames[f]));
		pb_uint(&loc, 3, s->frames[f]);
		for (int j = f; j < f + k; j++) { /* innermost first, as profile.proto says */
			pb_uint(&pp->line, 1, function_id(pp, &s->sym[j], s->frames[j]));
			pb_uint(&pp->line, 2, s->sym[j].line > 0 ? s->sym[j].line : 0);
			pb_sub(&loc, 4, &pp->line);
		}
		pb_sub(&pp->prof, 4, &loc);
		free(loc.b);
	}
	return id;
}

static void sample_type(struct pprof *pp, int field, const char *type, const char *unit)
{
	pb_uint(&pp->tmp, 1, str_id(pp, type));
	pb_uint(&pp->tmp, 2, str_id(pp, unit));
	pb_sub(&pp->prof, field, &pp->tmp);
}

static void mappings(struct pprof *pp)
{
	pp->nmaps = symbolize__nmappings(pp->sym);
	pp->map_start = calloc(pp->nmaps + 1, sizeof(uint64_t));
	pp->map_end = calloc(pp->nmaps + 1, sizeof(uint64_t));
	for (int i = 0; i < pp->nmaps; i++) {
		char build_id[128];
		uint64_t off;
		const char *file;

		symbolize__mapping(pp->sym, i, &pp->map_start[i], &pp->map_end[i]);
		file = symbolize__mapping_file(pp->sym, i, &off, build_id, sizeof(build_id));
		pb_uint(&pp->tmp, 1, i + 1);
		pb_uint(&pp->tmp, 2, pp->map_start[i]);
		pb_uint(&pp->tmp, 3, pp->map_end[i]);
		pb_uint(&pp->tmp, 4, off);
		pb_uint(&pp->tmp, 5, str_id(pp, file));
		pb_uint(&pp->tmp, 6, str_id(pp, build_id));
		for (int f = 7; f <= 10; f++) /* functions, files, lines, inlined frames: known */
			pb_uint(&pp->tmp, f, 1);
		pb_sub(&pp->prof, 3, &pp->tmp);
	}
}

static int write_gzip(const struct pb *p, const char *path)
{
	FILE *out = out_open(path);
	int rc;

	if (!out)
		return 1;
	rc = gzip_stream(p->b, p->n, encode_put_file, out);
	if (rc)
		ms_err("cannot compress %s", path);
	return out_close(out, path) || rc ? 1 : 0;
}

int export_pprof(struct peralloc *pa, struct symbolizer *sym, uint64_t start_ns,
		 uint64_t duration_ns, const char *path)
{
	struct pprof pp = {.sym = sym};
	struct pb sample = {0};
	int ret;

	pb_bytes(&pp.prof, 6, "", 0); /* string_table[0] is "" */
	sample_type(&pp, 1, "alloc_objects", "count");
	sample_type(&pp, 1, "alloc_space", "bytes");
	sample_type(&pp, 1, "inuse_objects", "count");
	sample_type(&pp, 1, "inuse_space", "bytes");
	sample_type(&pp, 1, "page_faults", "count");
	sample_type(&pp, 1, "resident_bytes", "bytes");
	sample_type(&pp, 1, "kernel_time", "nanoseconds");
	mappings(&pp);
	for (uint32_t i = 0; i < peralloc__nsites(pa); i++) {
		const struct pa_site *s = peralloc__site(pa, i);
		uint64_t locs[MS_STACK_DEPTH],
		    v[7] = {s->allocs,	   s->bytes,	s->live_blocks,
			    s->live_bytes, s->f.faults, s->live_faults * PAGE,
			    s->kernel_ns};
		int n = 0;

		if (s->merged_into != PA_NIL || (!s->allocs && !s->live_blocks && !s->f.faults))
			continue;
		for (int f = 0; f < s->nframes;) {
			int k = 1;

			while (f + k < s->nframes && s->frames[f + k] == s->frames[f])
				k++; /* inlined frames share their caller's address */
			locs[n++] = location_id(&pp, s, f, k);
			f += k;
		}
		pb_packed(&sample, 1, locs, n);
		pb_packed(&sample, 2, v, 7);
		pb_sub(&pp.prof, 2, &sample);
	}
	pb_uint(&pp.prof, 9, start_ns);
	pb_uint(&pp.prof, 10, duration_ns);
	sample_type(&pp, 11, "space", "bytes"); /* period_type */
	pb_uint(&pp.prof, 14, str_id(&pp, "inuse_space"));
	ret = write_gzip(&pp.prof, path);
	free(sample.b);
	free(pp.prof.b);
	free(pp.tmp.b);
	free(pp.line.b);
	free(pp.map_start);
	free(pp.map_end);
	intern_free(&pp.strings);
	intern_free(&pp.functions);
	intern_free(&pp.locations);
	return ret;
}
