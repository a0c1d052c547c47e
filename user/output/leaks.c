// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "analyse/peralloc_int.h"
#include "lib/fmt.h"
#include "lib/util.h"
#include "output/frames.h"
#include "output/leaks.h"

#define PAGE 4096

int suppressions__add(struct suppressions *s, const char *pattern, const char *origin)
{
	size_t n = strlen(pattern);
	bool head = pattern[0] == '^', tail = n > (size_t)head && pattern[n - 1] == '$';

	if (s->n == SUPPRESSIONS_MAX)
		return -1;
	s->line[s->n] =
	    origin ? xasprintf("leak:%s, %s", pattern, origin) : xasprintf("leak:%s", pattern);
	s->pattern[s->n] = xasprintf("%s%.*s%s", head ? "" : "*", (int)(n - head - tail),
				     pattern + head, tail ? "" : "*");
	s->n++;
	return 0;
}

int suppressions__parse(struct suppressions *s, const char *text, const char *where,
			const char *origin, char *err, size_t len)
{
	const char *p = text;
	int no = 0;

	while (*p) {
		size_t n = strcspn(p, "\n");
		char line[1024], *l = line, *e;

		no++;
		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		p += n + (p[n] == '\n');
		while (*l == ' ' || *l == '\t')
			l++;
		e = l + strcspn(l, "\r");
		while (e > l && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*e = '\0';
		if (!*l || *l == '#' || strncmp(l, "leak:", 5))
			continue;
		if (!l[5] || suppressions__add(s, l + 5, origin)) {
			snprintf(err, len, "%s:%d: %s", where, no,
				 l[5] ? "too many suppressions (at most 256)"
				      : "'leak:' needs a pattern");
			return -1;
		}
	}
	return 0;
}

int suppressions__load(struct suppressions *s, const char *path, char *err, size_t len)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t cap = 0;
	ssize_t got;
	int ret;

	if (!f) {
		snprintf(err, len, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	got = getdelim(&text, &cap, '\0', f); /* the whole file */
	fclose(f);
	ret = suppressions__parse(s, got > 0 ? text : "", path, NULL, err, len);
	free(text);
	return ret;
}

void suppressions__free(struct suppressions *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->pattern[i]);
		free(s->line[i]);
	}
	s->n = 0;
}

int suppressions__match(const struct suppressions *s, const struct pa_site *site)
{
	for (int i = 0; i < s->n; i++)
		for (int f = 0; f < site->nframes; f++) {
			const struct sym_info *si = &site->sym[f];

			if ((si->function && !fnmatch(s->pattern[i], si->function, 0)) ||
			    (si->file && !fnmatch(s->pattern[i], si->file, 0)) ||
			    (si->module && !fnmatch(s->pattern[i], si->module, 0)))
				return i;
		}
	return -1;
}

/* Functions of the runtimes that allocate for themselves, and what they keep. */
static const struct {
	const char *function; /* a prefix of the demangled name */
	const char *owner;
} runtime_keepers[] = {
    {"(anonymous namespace)::pool::pool", "libstdc++'s emergency exception pool"},
    {"__gnu_cxx::__freeres", "libstdc++'s emergency exception pool"},
    {"_IO_file_doallocate", "a stdio buffer"},
    {"__tzfile_read", "timezone data"},
    {"__tzstring", "timezone strings"},
    {"tzset_internal", "timezone data"},
    {"allocate_dtv", "a thread's TLS (dynamic thread vector)"},
    {"_dl_allocate_tls", "a thread's TLS (dynamic thread vector)"},
    {"_dl_resize_dtv", "a thread's TLS (dynamic thread vector)"},
    {"_dl_update_slotinfo", "a thread's TLS (dynamic thread vector)"},
    {"_dl_new_object", "the dynamic loader's bookkeeping (dlopen)"},
    {"_dl_map_object", "the dynamic loader's bookkeeping (dlopen)"},
    {"dl_open_worker", "the dynamic loader's bookkeeping (dlopen)"},
    {"_dl_open", "the dynamic loader's bookkeeping (dlopen)"},
    {"_dlerror_run", "dlerror's message buffer"},
    {"_nl_", "locale data"},
    {"setlocale", "locale data"},
    {"__gconv", "iconv's conversion tables"},
    {"__libc_early_init", "glibc's start-up"},
    {"__cxa_get_globals", "libstdc++'s per-thread exception globals"},
    {"__cxa_thread_atexit", "libstdc++'s thread-exit destructors list"},
    {"__new_exitfn", "the atexit list"},
};

/* The libraries of the C and C++ runtimes, by the start of their file names. */
static bool runtime_module(const char *m)
{
	static const char *const names[] = {"libc.so", "ld-linux", "libstdc++.so", "libgcc_s.so",
					    "libm.so"};

	for (size_t i = 0; m && i < ARRAY_SIZE(names); i++)
		if (!strncmp(m, names[i], strlen(names[i])))
			return true;
	return false;
}

const char *leak_runtime_owner(const struct pa_site *site)
{
	for (int f = 0; f < site->nframes; f++) {
		const char *fn = site->sym[f].function;

		for (size_t k = 0; fn && k < ARRAY_SIZE(runtime_keepers); k++)
			if (!strncmp(fn, runtime_keepers[k].function,
				     strlen(runtime_keepers[k].function)))
				return runtime_keepers[k].owner;
		/* a library's initializer, run by ld.so before main: a runtime library's own
		 * (libstdc++'s has no symbols to name its pool by on Debian) */
		if (fn && (!strcmp(fn, "call_init") || !strcmp(fn, "_dl_init")) && f) {
			const char *m = site->sym[f - 1].module;

			if (m && !strncmp(m, "libstdc++.so", 12))
				return "libstdc++'s emergency exception pool (made at its "
				       "start-up)";
			if (runtime_module(m))
				return "a runtime library's start-up";
			return NULL;
		}
	}
	return NULL;
}

enum leak_kind { LEAK_PROGRAM, LEAK_RUNTIME, LEAK_SUPPRESSED, LEAK_KINDS };
static const char *const kind_names[LEAK_KINDS] = {"program", "runtime", "suppressed"};

struct leak {
	struct pa_site *site;
	enum leak_kind kind;
	const char *why; /* the runtime's part, or the suppression's line */
};

static int by_live_bytes(const void *a, const void *b)
{
	const struct leak *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->site->live_bytes != y->site->live_bytes)
		return x->site->live_bytes < y->site->live_bytes ? 1 : -1;
	return x->site->live_blocks < y->site->live_blocks ? 1 : -1;
}

/* The sites with live blocks, classified, program's first, each kind by bytes. */
static struct leak *leaks_of(struct peralloc *pa, const struct suppressions *s, uint32_t *n)
{
	uint32_t all = peralloc__nsites(pa);
	struct leak *v = calloc(all + 1, sizeof(*v));

	*n = 0;
	for (uint32_t i = 0; v && i < all; i++) {
		struct pa_site *site = peralloc__site(pa, i);
		struct leak *l = &v[*n];
		int sup;

		if (site->merged_into != PA_NIL || !site->live_blocks)
			continue;
		l->site = site;
		if ((sup = s ? suppressions__match(s, site) : -1) >= 0) {
			l->kind = LEAK_SUPPRESSED;
			l->why = s->line[sup];
		} else if ((l->why = leak_runtime_owner(site))) {
			l->kind = LEAK_RUNTIME;
		}
		(*n)++;
	}
	if (v)
		qsort(v, *n, sizeof(*v), by_live_bytes);
	return v;
}

static void print_site(struct peralloc *pa, const struct leak *l, FILE *out)
{
	const struct pa_site *s = l->site;
	int t = peralloc__title_frame(pa, s);
	char fr[256], b[32], r[32];

	frame_label(&s->sym[t], s->frames[t], fr, sizeof(fr));
	fmt_bytes(b, sizeof(b), s->live_bytes);
	fmt_bytes(r, sizeof(r), s->live_faults * PAGE);
	fprintf(out, "%10llu %10s %10s  %s", (unsigned long long)s->live_blocks, b, r, fr);
	if (s->sym[t].file)
		fprintf(out, " (%s:%d)", s->sym[t].file, s->sym[t].line);
	if (l->why)
		fprintf(out, "  [%s]", l->why);
	fputc('\n', out);
	for (int f = t + 1; f < s->nframes && f < t + 4; f++) {
		frame_label(&s->sym[f], s->frames[f], fr, sizeof(fr));
		fprintf(out, "%34s<- %s", "", fr);
		if (s->sym[f].file)
			fprintf(out, " (%s:%d)", s->sym[f].file, s->sym[f].line);
		fputc('\n', out);
	}
}

static const char *const kind_titles[LEAK_KINDS] = {
    "The program's",
    ("Kept by the C and C++ runtimes for themselves (freed at exit, or never: not the "
     "program's leaks)"),
    "Suppressed (--suppressions, or the program's __lsan_default_suppressions)",
};

void leaks__print_text(struct peralloc *pa, const struct suppressions *s, FILE *out, int top,
		       const char *when)
{
	const struct pa_stats *st = peralloc__stats(pa);
	uint64_t blocks[LEAK_KINDS] = {0}, bytes[LEAK_KINDS] = {0}, pages[LEAK_KINDS] = {0};
	uint32_t n, shown[LEAK_KINDS] = {0}, sites[LEAK_KINDS] = {0};
	struct leak *v = leaks_of(pa, s, &n);
	char b[32], r[32];

	if (!v)
		return;
	for (uint32_t i = 0; i < n; i++) {
		blocks[v[i].kind] += v[i].site->live_blocks;
		bytes[v[i].kind] += v[i].site->live_bytes;
		pages[v[i].kind] += v[i].site->live_faults;
		sites[v[i].kind]++;
	}
	fmt_bytes(b, sizeof(b), bytes[0]);
	fmt_bytes(r, sizeof(r), pages[0] * PAGE);
	fprintf(out,
		"Leaks: %llu blocks (%s) of the program still allocated %s, from %u call "
		"sites; %llu pages (%s) faulted in them are resident\n",
		(unsigned long long)blocks[0], b, when, sites[0], (unsigned long long)pages[0], r);
	fmt_bytes(b, sizeof(b), bytes[1]);
	fprintf(out, "       %llu blocks (%s) kept by the C and C++ runtimes; %llu suppressed\n",
		(unsigned long long)blocks[1], b, (unsigned long long)blocks[2]);
	if (st->unknown_frees || st->live_at_end > blocks[0] + blocks[1] + blocks[2])
		fprintf(out, "       (%llu frees of blocks never seen allocated)\n",
			(unsigned long long)st->unknown_frees);
	for (int k = 0; k < LEAK_KINDS; k++) {
		if (!sites[k])
			continue;
		fprintf(out, "\n%s:\n%10s %10s %10s  %s\n", kind_titles[k], "blocks", "bytes",
			"resident", "call site (allocated at)");
		for (uint32_t i = 0; i < n; i++)
			if (v[i].kind == (enum leak_kind)k && shown[k]++ < (uint32_t)top)
				print_site(pa, &v[i], out);
		if (shown[k] > (uint32_t)top)
			fprintf(out, "%10s (%u more sites: --top N)\n", "", shown[k] - top);
	}
	free(v);
}

static json_object *totals_json(uint64_t blocks, uint64_t bytes, uint64_t pages)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "blocks", json_object_new_uint64(blocks));
	json_object_object_add(o, "bytes", json_object_new_uint64(bytes));
	json_object_object_add(o, "resident_pages", json_object_new_uint64(pages));
	return o;
}

json_object *leaks__json(struct peralloc *pa, const struct suppressions *s)
{
	json_object *root = json_object_new_object(), *arr = json_object_new_array();
	uint64_t blocks[LEAK_KINDS] = {0}, bytes[LEAK_KINDS] = {0}, pages[LEAK_KINDS] = {0};
	uint32_t n;
	struct leak *v = leaks_of(pa, s, &n);

	for (uint32_t i = 0; v && i < n; i++) {
		const struct pa_site *site = v[i].site;
		json_object *o = json_object_new_object(), *labels, *locs;
		int t = peralloc__title_frame(pa, site);
		char fr[256];

		blocks[v[i].kind] += site->live_blocks;
		bytes[v[i].kind] += site->live_bytes;
		pages[v[i].kind] += site->live_faults;
		json_object_object_add(o, "kind", json_object_new_string(kind_names[v[i].kind]));
		if (v[i].why)
			json_object_object_add(
			    o, v[i].kind == LEAK_RUNTIME ? "runtime" : "suppressed_by",
			    json_object_new_string(v[i].why));
		json_object_object_add(o, "blocks", json_object_new_uint64(site->live_blocks));
		json_object_object_add(o, "bytes", json_object_new_uint64(site->live_bytes));
		json_object_object_add(o, "resident_pages",
				       json_object_new_uint64(site->live_faults));
		json_object_object_add(o, "resident_bytes",
				       json_object_new_uint64(site->live_faults * PAGE));
		json_object_object_add(o, "allocs", json_object_new_uint64(site->allocs));
		frame_label(&site->sym[t], site->frames[t], fr, sizeof(fr));
		json_object_object_add(o, "function", json_object_new_string(fr));
		if (site->sym[t].file) {
			json_object_object_add(o, "file",
					       json_object_new_string(site->sym[t].file));
			json_object_object_add(o, "line", json_object_new_int(site->sym[t].line));
		}
		frames_json(site->sym, site->frames, site->nframes, &labels, &locs);
		json_object_object_add(o, "frames", labels);
		json_object_object_add(o, "locations", locs);
		json_object_array_add(arr, o);
	}
	free(v);
	for (int k = 0; k < LEAK_KINDS; k++)
		json_object_object_add(root, kind_names[k],
				       totals_json(blocks[k], bytes[k], pages[k]));
	json_object_object_add(root, "sites", arr);
	json_object_object_add(root, "page_bytes", json_object_new_int(PAGE));
	return root;
}
