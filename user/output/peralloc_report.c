// SPDX-License-Identifier: GPL-2.0
/* The per-allocation report: text tables, and the "per_allocation" JSON object. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/json.h"
#include "analyse/peralloc_int.h"
#include "output/frames.h"
#include "output/report.h"
#include "resolve/target.h"
#include "lib/util.h"

static const char frame_note[] =
    "frames are unwound with each module's CFI (.eh_frame, .debug_frame), no frame "
    "pointers needed, from the top of the stack copied at each allocation (--unwind copy, "
    "the default) or walked in the kernel (--unwind kernel), up to main or a thread's "
    "start; stacks whose frames read the same are one site (--sites address: not); a "
    "site's title is its first frame outside the allocator's wrappers (operator new, "
    "xmalloc, g_malloc..., --wrapper)";

/* One frame of S, for tables and "frames". */
static void frame_name(const struct pa_site *s, int f, char *buf, size_t size)
{
	frame_label(&s->sym[f], s->frames[f], buf, size);
}

static const char *hist_label(int b, char *buf, size_t size)
{
	if (b <= 1)
		snprintf(buf, size, "%d", b);
	else
		snprintf(buf, size, "%llu-%llu", 1ULL << (b - 1), (1ULL << b) - 1);
	return buf;
}

/* Records lost anywhere on the way: what the per-allocation figures lack. */
static uint64_t dropped_total(const struct pa_stats *st)
{
	return st->lost_records[MS_EV_ALLOC] + st->lost_records[MS_EV_FREE] +
	       st->lost_records[MS_EV_FAULT] + st->lost_records[MS_EV_MAP] +
	       st->lost_records[MS_EV_KWORK] + st->lost_records[MS_EV_RSS] + st->lost_thread_state +
	       st->lost_nomem;
}

static void print_incomplete(const struct pa_stats *st, FILE *out)
{
	if (!dropped_total(st))
		return;
	fprintf(out,
		"INCOMPLETE: %llu records were lost (the kernel dropped %llu allocations, %llu "
		"frees, %llu faults, %llu mappings and %llu others for a full ring buffer; %llu "
		"calls had no "
		"per-thread state; the collector had no memory for %llu): the figures below are "
		"low by about that much. A larger --ring-buffer (up to 1024 MiB), fewer stack "
		"bytes a record (--stack-bytes 2048; %.0f were copied on average), or a less "
		"loaded machine, helps\n",
		(unsigned long long)dropped_total(st),
		(unsigned long long)st->lost_records[MS_EV_ALLOC],
		(unsigned long long)st->lost_records[MS_EV_FREE],
		(unsigned long long)st->lost_records[MS_EV_FAULT],
		(unsigned long long)st->lost_records[MS_EV_MAP],
		(unsigned long long)(st->lost_records[MS_EV_KWORK] + st->lost_records[MS_EV_RSS]),
		(unsigned long long)st->lost_thread_state, (unsigned long long)st->lost_nomem,
		st->unwound_from_copy ? (double)st->copied_bytes / st->unwound_from_copy : 0.0);
}

static int by_faults(const void *a, const void *b, void *ctx)
{
	const struct pa_site *x = *(struct pa_site *const *)a, *y = *(struct pa_site *const *)b;

	if (x->f.faults != y->f.faults)
		return x->f.faults < y->f.faults ? 1 : -1;
	return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

static int by_bytes(const void *a, const void *b, void *ctx)
{
	const struct pa_site *x = *(struct pa_site *const *)a, *y = *(struct pa_site *const *)b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->f.faults < y->f.faults ? 1 : x->f.faults > y->f.faults ? -1 : 0;
}

/* The sites (those merged into another left out), sorted; how many in *N. */
static struct pa_site **sorted_sites(struct peralloc *pa, bool faults, uint32_t *n)
{
	uint32_t all = peralloc__nsites(pa);
	struct pa_site **v = calloc(all + 1, sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (uint32_t i = 0; i < all; i++)
		if (peralloc__site(pa, i)->merged_into == PA_NIL)
			v[(*n)++] = peralloc__site(pa, i);
	qsort_r(v, *n, sizeof(*v), faults ? by_faults : by_bytes, NULL);
	return v;
}

static void fn_list(const struct peralloc *pa, const struct pa_site *s, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < MS_FN_MAX && o < size; i++)
		if (s->fn_mask & 1u << i && peralloc__fn_name(pa, i))
			o += snprintf(buf + o, size - o, "%s%s", o ? "," : "",
				      peralloc__fn_name(pa, i));
}

bool peralloc__describe_site(struct peralloc *pa, uint32_t i, uint64_t size, char *buf, size_t len)
{
	const struct pa_site *s = peralloc__site(pa, i);
	char fns[128], fr[160];

	if (!s)
		return false;
	fn_list(pa, s, fns, sizeof(fns));
	snprintf(buf, len, "%s %llu B:", fns, (unsigned long long)size);
	if (s->inherited_from)
		appendf(buf, len, " inherited from PID %d", s->inherited_from);
	for (int f = 0; f < s->nframes && f < 4; f++) {
		frame_name(s, f, fr, sizeof(fr));
		appendf(buf, len, " %s%s", f ? "<- " : "", fr);
	}
	if (s->nframes && s->sym[0].file)
		appendf(buf, len, " (%s:%d)", s->sym[0].file, s->sym[0].line);
	return true;
}

static void print_site_table(struct peralloc *pa, FILE *out, bool faults, int top)
{
	uint32_t n;
	struct pa_site **v = sorted_sites(pa, faults, &n);

	if (!v)
		return;
	fprintf(out, "\nTop %d call sites by %s\n", top,
		faults ? "page faults" : "bytes requested");
	fprintf(out, "%8s %8s %8s %6s %10s %12s %7s  %s\n", "faults", "in-alloc", "user", "major",
		"allocs", "bytes", "max/blk", "function: stack (innermost first)");
	for (uint32_t i = 0; i < n && (int)i < top; i++) {
		const struct pa_site *s = v[i];
		char fns[128], fr[256];

		if (faults ? !s->f.faults : !s->bytes)
			break;
		fn_list(pa, s, fns, sizeof(fns));
		fprintf(out, "%8llu %8llu %8llu %6llu %10llu %12llu %7llu  %s:",
			(unsigned long long)s->f.faults, (unsigned long long)s->f.in_alloc_code,
			(unsigned long long)(s->f.faults - s->f.in_alloc_code),
			(unsigned long long)s->f.major, (unsigned long long)s->allocs,
			(unsigned long long)s->bytes, (unsigned long long)s->max_faults, fns);
		if (s->inherited_from)
			fprintf(out, " (inherited from PID %d: allocated before the fork)",
				s->inherited_from);
		for (int f = peralloc__title_frame(pa, s), k = 0; f < s->nframes && k < 6;
		     f++, k++) {
			frame_name(s, f, fr, sizeof(fr));
			fprintf(out, " %s%s", k ? "<- " : "", fr);
			if (!k && s->sym[f].file)
				fprintf(out, " (%s:%d)", s->sym[f].file, s->sym[f].line);
		}
		fputc('\n', out);
	}
	free(v);
}

/* Each top site's frames, innermost first, one a line with file:line and module+offset
 * (what addr2line -e MODULE takes), the way perf report prints call chains. */
static void print_call_chains(struct peralloc *pa, FILE *out, int top)
{
	uint32_t n, nb, shown = 0;
	struct pa_site **v = sorted_sites(pa, true, &n), **vb = sorted_sites(pa, false, &nb);
	struct pa_site **pick = calloc(2 * (size_t)top + 1, sizeof(*pick));
	char fns[128], fr[256];

	if (!v || !vb || !pick)
		goto out;
	/* the top by faults, then the top by bytes not already there */
	for (uint32_t i = 0; i < n && (int)i < top && v[i]->f.faults; i++)
		pick[shown++] = v[i];
	for (uint32_t i = 0; i < nb && (int)i < top && vb[i]->bytes; i++) {
		uint32_t k = 0;

		while (k < shown && pick[k] != vb[i])
			k++;
		if (k == shown)
			pick[shown++] = vb[i];
	}
	if (!shown)
		goto out;
	fprintf(out, "\nCall chains of the sites above, innermost frame first\n");
	for (uint32_t i = 0; i < shown; i++) {
		const struct pa_site *s = pick[i];
		int title = peralloc__title_frame(pa, s);

		fn_list(pa, s, fns, sizeof(fns));
		fprintf(out, "  %s: %llu allocations, %llu bytes, %llu page faults\n", fns,
			(unsigned long long)s->allocs, (unsigned long long)s->bytes,
			(unsigned long long)s->f.faults);
		for (int f = 0; f < s->nframes; f++) {
			const struct sym_info *si = &s->sym[f];

			frame_name(s, f, fr, sizeof(fr));
			fprintf(out, "    %c %s%s", f == title ? '>' : ' ', fr,
				si->inlined ? " (inlined)" : "");
			if (si->file)
				fprintf(out, " (%s:%d)", si->file, si->line);
			if (si->module && si->function)
				fprintf(out, " [%s+0x%llx]", si->module,
					(unsigned long long)si->module_offset);
			fputc('\n', out);
		}
	}
	fprintf(out, "  (> marks the frame a site is named after: the first outside the "
		     "allocator's wrappers)\n");
out:
	free(v);
	free(vb);
	free(pick);
}

/* "main heap", "mmapped chunk", "arena heap 0x7f...": where a block came from. */
static const char *heap_name(uint64_t heap, char *buf, size_t size)
{
	if (heap == PA_HEAP_MAIN)
		return "main heap";
	if (heap == PA_HEAP_MMAP)
		return "mmapped chunk";
	if (heap == PA_HEAP_UNKNOWN)
		return "unknown";
	snprintf(buf, size, "arena heap 0x%llx", (unsigned long long)heap);
	return buf;
}

/* Which heaps each thread's blocks came from, when more than one heap is in use. */
static void print_thread_heaps(struct peralloc *pa, FILE *out)
{
	const struct pa_heap_use *h;
	uint64_t other, arenas = 0;
	uint32_t tid;
	char b[64];
	int n;

	for (uint64_t i = 0; (n = peralloc__thread_heaps(pa, i, &tid, &h, &other)) >= 0; i++)
		for (int k = 0; k < n; k++)
			arenas += h[k].allocs && h[k].heap > PA_HEAP_MMAP;
	if (!arenas)
		return; /* every block from the main heap or its own mapping */
	fprintf(out, "\nHeaps by thread (the arena each thread's blocks came from):\n");
	for (uint64_t i = 0; (n = peralloc__thread_heaps(pa, i, &tid, &h, &other)) >= 0; i++) {
		if (!n)
			continue;
		fprintf(out, "  tid %-8u", tid);
		for (int k = 0; k < n && h[k].allocs; k++)
			fprintf(out, "%s %s: %llu", k ? "," : "",
				heap_name(h[k].heap, b, sizeof(b)),
				(unsigned long long)h[k].allocs);
		if (other)
			fprintf(out, ", %llu from other heaps", (unsigned long long)other);
		fputc('\n', out);
	}
}

void peralloc__print_text(struct peralloc *pa, FILE *out, int top)
{
	const struct pa_stats *st = peralloc__stats(pa);
	uint64_t total = 0, ia = 0, maj = 0;
	char lb[32];
	int k;

	for (k = 0; k < PA_KIND_MAX; k++) {
		total += st->kind[k].faults;
		ia += st->kind[k].in_alloc_code;
		maj += st->kind[k].major;
	}
	fprintf(out,
		"\nPer allocation: %llu allocations from %llu call sites, %llu frees, most live at "
		"once %llu, live at the end %llu\n",
		(unsigned long long)st->allocs,
		(unsigned long long)(peralloc__nsites(pa) - st->sites_merged),
		(unsigned long long)st->frees, (unsigned long long)st->live_max,
		(unsigned long long)st->live_at_end);
	print_incomplete(st, out);
	if (st->unknown_frees)
		fprintf(out,
			"Frees of blocks never seen allocated: %llu (%llu allocated before "
			"tracing, %llu whose allocation record was lost, %llu glibc's own, "
			"allocated inside it without a call through its entry points)\n",
			(unsigned long long)st->unknown_frees,
			(unsigned long long)st->unknown_before_tracing,
			(unsigned long long)st->unknown_records_lost,
			(unsigned long long)st->unknown_allocator_internal);
	if (st->ended_by_exec)
		fprintf(out,
			"%llu blocks were live when the target exec'ed: gone with its old "
			"image\n",
			(unsigned long long)st->ended_by_exec);
	if (st->pool_clears || st->pool_destroys)
		fprintf(out,
			"Pools: %llu cleared and %llu destroyed (children included), freeing %llu "
			"blocks (not in the frees above)\n",
			(unsigned long long)st->pool_clears, (unsigned long long)st->pool_destroys,
			(unsigned long long)st->pool_frees);
	fprintf(out, "Page faults: %llu (%llu inside allocator calls, %llu major)\n",
		(unsigned long long)total, (unsigned long long)ia, (unsigned long long)maj);
	fprintf(out, "  %-24s %10s %10s %8s\n", "where", "faults", "in-alloc", "major");
	for (k = 0; k < PA_KIND_MAX; k++)
		fprintf(out, "  %-24s %10llu %10llu %8llu\n", pa_kind_names[k],
			(unsigned long long)st->kind[k].faults,
			(unsigned long long)st->kind[k].in_alloc_code,
			(unsigned long long)st->kind[k].major);
	fprintf(out, "Faults per allocation:");
	for (k = 0; k < PA_HIST; k++)
		if (st->hist[k])
			fprintf(out, "  %s: %llu", hist_label(k, lb, sizeof(lb)),
				(unsigned long long)st->hist[k]);
	fputc('\n', out);
	print_site_table(pa, out, true, top);
	print_site_table(pa, out, false, top);
	print_call_chains(pa, out, top < 5 ? top : 5);
	print_thread_heaps(pa, out);
	fprintf(out, "\nStacks: %s.", frame_note);
	if (st->stack_errors)
		fprintf(out, " %llu calls had no stack stored (caller only).",
			(unsigned long long)st->stack_errors);
	fprintf(out,
		"\nCollector: %.1f MiB of index at the peak of %llu live allocations "
		"(%.1f bytes each); peak RSS %.1f MiB; %llu records\n",
		st->index_bytes_at_max / 1048576.0, (unsigned long long)st->live_max,
		st->live_max ? (double)st->index_bytes_at_max / st->live_max : 0.0,
		st->peak_rss_kb / 1024.0, (unsigned long long)st->events);
}

#define U64(v) json_object_new_uint64(v)

static json_object *json_counts(const struct pa_counts *c)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "faults", U64(c->faults));
	json_object_object_add(o, "in_allocator_code", U64(c->in_alloc_code));
	json_object_object_add(o, "in_user_code", U64(c->faults - c->in_alloc_code));
	json_object_object_add(o, "kernel_mode", U64(c->kernel));
	json_object_object_add(o, "major", U64(c->major));
	return o;
}

static json_object *json_hist(const uint64_t *h)
{
	json_object *a = json_object_new_array();
	char lb[32];

	for (int k = 0; k < PA_HIST; k++) {
		json_object *b;

		if (!h[k])
			continue;
		b = json_object_new_object();
		json_object_object_add(b, "faults",
				       json_object_new_string(hist_label(k, lb, sizeof(lb))));
		json_object_object_add(b, "min", U64(k ? 1ULL << (k - 1) : 0));
		json_object_object_add(b, "allocations", U64(h[k]));
		json_object_array_add(a, b);
	}
	return a;
}

static json_object *json_site(struct peralloc *pa, const struct pa_site *s)
{
	json_object *o = json_object_new_object(), *frames, *locs;
	json_object *fns = json_object_new_array();
	char fr[256];

	frames_json(s->sym, s->frames, s->nframes, &frames, &locs);
	for (int i = 0; i < MS_FN_MAX; i++)
		if (s->fn_mask & 1u << i && peralloc__fn_name(pa, i))
			json_object_array_add(fns,
					      json_object_new_string(peralloc__fn_name(pa, i)));
	json_object_object_add(o, "frames", frames);
	if (s->nframes) {
		frame_name(s, peralloc__title_frame(pa, s), fr, sizeof(fr));
		json_object_object_add(o, "title", json_object_new_string(fr));
	} else if (s->inherited_from) {
		snprintf(fr, sizeof(fr), "(inherited from PID %d)", s->inherited_from);
		json_object_object_add(o, "title", json_object_new_string(fr));
		json_object_object_add(o, "inherited_from", json_object_new_int(s->inherited_from));
	}
	json_object_object_add(o, "locations", locs);
	json_object_object_add(o, "functions", fns);
	json_object_object_add(o, "allocations", U64(s->allocs));
	json_object_object_add(o, "bytes", U64(s->bytes));
	json_object_object_add(o, "failed", U64(s->failed));
	json_object_object_add(o, "frees", U64(s->frees));
	json_object_object_add(o, "page_faults", U64(s->f.faults));
	json_object_object_add(o, "major_faults", U64(s->f.major));
	json_object_object_add(o, "faults_in_allocator_code", U64(s->f.in_alloc_code));
	json_object_object_add(o, "faults_in_user_code", U64(s->f.faults - s->f.in_alloc_code));
	json_object_object_add(o, "faults_kernel_mode", U64(s->f.kernel));
	json_object_object_add(o, "max_faults_per_allocation", U64(s->max_faults));
	/* its blocks not freed by the end: count, bytes, pages faulted in them */
	json_object_object_add(o, "live_at_end", U64(s->live_blocks));
	json_object_object_add(o, "live_bytes_at_end", U64(s->live_bytes));
	json_object_object_add(o, "live_faulted_pages", U64(s->live_faults));
	/* the syscalls inside its allocations and inside the frees of its blocks */
	json_object_object_add(o, "kernel_ns", U64(s->kernel_ns));
	json_object_object_add(o, "kernel_syscalls", U64(s->kernel_syscalls));
	json_object_object_add(o, "faults_per_allocation", json_hist(s->hist));
	json_object_object_add(o, "stack_stored", json_object_new_boolean(s->stack_id >= 0));
	return o;
}

static json_object *json_thread_heaps(struct peralloc *pa)
{
	json_object *a = json_object_new_array();
	const struct pa_heap_use *h;
	uint64_t other;
	uint32_t tid;
	char b[64];
	int n;

	for (uint64_t i = 0; (n = peralloc__thread_heaps(pa, i, &tid, &h, &other)) >= 0; i++) {
		json_object *t, *hs;

		if (!n)
			continue;
		t = json_object_new_object();
		hs = json_object_new_array();
		json_object_object_add(t, "tid", U64(tid));
		for (int k = 0; k < n && h[k].allocs; k++) {
			json_object *o = json_object_new_object();

			json_object_object_add(
			    o, "heap", json_object_new_string(heap_name(h[k].heap, b, sizeof(b))));
			json_object_object_add(o, "allocations", U64(h[k].allocs));
			json_object_array_add(hs, o);
		}
		json_object_object_add(t, "heaps", hs);
		json_object_object_add(t, "allocations_from_other_heaps", U64(other));
		json_object_array_add(a, t);
	}
	return a;
}

json_object *peralloc__json(struct peralloc *pa)
{
	const struct pa_stats *st = peralloc__stats(pa);
	json_object *o = json_object_new_object(), *sites = json_object_new_array();
	json_object *faults = json_object_new_object(), *detail = json_object_new_object();
	json_object *col = json_object_new_object(), *lost = json_object_new_object();
	json_object *causes = json_object_new_object(), *dropped = json_object_new_object();
	json_object *top_f = json_object_new_array(), *top_b = json_object_new_array();
	uint32_t n, nb, i;
	struct pa_site **v = sorted_sites(pa, true, &n), **vb = sorted_sites(pa, false, &nb);
	uint64_t total = 0, ia = 0, maj = 0;
	int k;

	/* sites[] in order of faults, then bytes; top_* are indexes into it */
	for (i = 0; v && i < n; i++)
		json_object_array_add(sites, json_site(pa, v[i]));
	for (i = 0; v && i < n && i < 20; i++)
		json_object_array_add(top_f, json_object_new_int(i));
	for (i = 0; v && vb && i < n && i < 20; i++)
		for (uint32_t j = 0; j < n; j++)
			if (v[j] == vb[i]) {
				json_object_array_add(top_b, json_object_new_int(j));
				break;
			}
	for (k = 0; k < PA_KIND_MAX; k++) {
		total += st->kind[k].faults;
		ia += st->kind[k].in_alloc_code;
		maj += st->kind[k].major;
	}
	json_object_object_add(faults, "total", U64(total));
	json_object_object_add(faults, "in_allocator_code", U64(ia));
	json_object_object_add(faults, "in_user_code", U64(total - ia));
	json_object_object_add(faults, "major", U64(maj));
	for (k = 0; k < PA_KIND_MAX; k++)
		json_object_object_add(faults, pa_kind_names[k], U64(st->kind[k].faults));
	json_object_object_add(
	    faults, "elsewhere",
	    U64(st->kind[PA_STACK].faults + st->kind[PA_ANON].faults + st->kind[PA_OTHER].faults));
	for (k = 0; k < PA_KIND_MAX; k++)
		json_object_object_add(detail, pa_kind_names[k], json_counts(&st->kind[k]));
	json_object_object_add(faults, "by_region", detail);

	json_object_object_add(o, "sites", sites);
	json_object_object_add(o, "threads", json_thread_heaps(pa));
	json_object_object_add(o, "top_by_faults", top_f);
	json_object_object_add(o, "top_by_bytes", top_b);
	json_object_object_add(o, "faults", faults);
	json_object_object_add(o, "faults_per_allocation", json_hist(st->hist));
	json_object_object_add(o, "allocations", U64(st->allocs));
	json_object_object_add(o, "failed", U64(st->failed));
	json_object_object_add(o, "frees", U64(st->frees));
	json_object_object_add(o, "unknown_frees", U64(st->unknown_frees));
	json_object_object_add(causes, "before_tracing", U64(st->unknown_before_tracing));
	json_object_object_add(causes, "records_lost", U64(st->unknown_records_lost));
	json_object_object_add(causes, "allocator_internal", U64(st->unknown_allocator_internal));
	json_object_object_add(o, "unknown_frees_by_cause", causes);
	json_object_object_add(o, "ended_by_exec", U64(st->ended_by_exec));
	json_object_object_add(o, "pool_clears", U64(st->pool_clears));
	json_object_object_add(o, "pool_destroys", U64(st->pool_destroys));
	json_object_object_add(o, "pool_frees", U64(st->pool_frees));
	json_object_object_add(o, "inherited", U64(st->inherited));
	json_object_object_add(o, "complete", json_object_new_boolean(!dropped_total(st)));
	json_object_object_add(dropped, "alloc_records", U64(st->lost_records[MS_EV_ALLOC]));
	json_object_object_add(dropped, "free_records", U64(st->lost_records[MS_EV_FREE]));
	json_object_object_add(dropped, "fault_records", U64(st->lost_records[MS_EV_FAULT]));
	json_object_object_add(dropped, "map_records", U64(st->lost_records[MS_EV_MAP]));
	/* a call's syscall time for its site; the resident set's steps (memstudy record) */
	json_object_object_add(dropped, "kernel_work_records", U64(st->lost_records[MS_EV_KWORK]));
	json_object_object_add(dropped, "rss_records", U64(st->lost_records[MS_EV_RSS]));
	json_object_object_add(dropped, "thread_state", U64(st->lost_thread_state));
	json_object_object_add(dropped, "collector_memory", U64(st->lost_nomem));
	json_object_object_add(o, "dropped", dropped);
	json_object_object_add(o, "reuse_conflicts", U64(st->reuse_conflicts));
	json_object_object_add(o, "live_max", U64(st->live_max));
	json_object_object_add(o, "live_at_end", U64(st->live_at_end));
	json_object_object_add(o, "stack_errors", U64(st->stack_errors));
	json_object_object_add(o, "stack_note", json_object_new_string(frame_note));
	{
		json_object *stk = json_object_new_object(), *why = json_object_new_object(),
			    *k = json_object_new_object();
		const struct unwind_kernel_stats *ks = &st->kernel_unwind;

		json_object_object_add(stk, "unwound", U64(st->unwound));
		json_object_object_add(
		    stk, "complete",
		    U64(st->unwind_end[MS_UNWIND_OUTERMOST] + st->unwind_end[MS_UNWIND_ENTRY]));
		json_object_object_add(stk, "reached_program_entry",
				       U64(st->unwind_end[MS_UNWIND_ENTRY]));
		for (int e = 0; e < MS_UNWIND_END_MAX; e++)
			if (e != MS_UNWIND_OUTERMOST && e != MS_UNWIND_ENTRY)
				json_object_object_add(why, unwind_end_names[e],
						       U64(st->unwind_end[e]));
		json_object_object_add(stk, "truncated_by_reason", why);
		json_object_object_add(stk, "finished_from_copy", U64(st->unwound_from_copy));
		json_object_object_add(
		    stk, "bytes_copied_per_stack",
		    json_object_new_double(st->unwound_from_copy
					       ? (double)st->copied_bytes / st->unwound_from_copy
					       : 0));
		json_object_object_add(stk, "copy_top_updates", U64(st->copy_top_updates));
		json_object_object_add(stk, "sites_merged_by_symbols", U64(st->sites_merged));
		json_object_object_add(k, "modules", U64(ks->modules));
		json_object_object_add(k, "modules_without_rows", U64(ks->modules_without_rows));
		json_object_object_add(k, "rows", U64(ks->rows));
		json_object_object_add(k, "build_ms", json_object_new_double(ks->build_ns / 1e6));
		json_object_object_add(stk, "kernel_tables", k);
		json_object_object_add(o, "stacks", stk);
	}
	json_object_object_add(col, "records", U64(st->events));
	json_object_object_add(col, "index_bytes_at_live_max", U64(st->index_bytes_at_max));
	json_object_object_add(
	    col, "bytes_per_live_allocation",
	    json_object_new_double(st->live_max ? (double)st->index_bytes_at_max / st->live_max
						: 0));
	json_object_object_add(col, "peak_rss_kb", U64(st->peak_rss_kb));
	/* a site holds its frames and their symbols inline, plus its hash slot */
	json_object_object_add(col, "bytes_per_site",
			       U64(sizeof(struct pa_site) + 2 * sizeof(uint32_t)));
	json_object_object_add(col, "sites", U64(peralloc__nsites(pa)));
	json_object_object_add(col, "module_refreshes", U64(st->module_refreshes));
	json_object_object_add(col, "modules_from_kernel", U64(st->modules_from_kernel));
	json_object_object_add(col, "modules_unnamed", U64(st->modules_unnamed));
	json_object_object_add(col, "pending_overflow", U64(st->pending_overflow));
	json_object_object_add(o, "collector", col);
	json_object_object_add(lost, "collector_memory", U64(st->lost_nomem));
	json_object_object_add(o, "lost", lost);
	free(v);
	free(vb);
	return o;
}
