// SPDX-License-Identifier: GPL-2.0
/* The reports of one trace, where they were asked for: JSON, text, the annotated map. */
#include <errno.h>
#include <string.h>

#include "analyse/peralloc.h"
#include "analyse/slowcalls.h"
#include "cli/trace_session.h"
#include "lib/glibc_layout.h"
#include "lib/json.h"
#include "lib/outfile.h"
#include "lib/util.h"
#include "maps/maps.h"
#include "output/report.h"
#include "output/trace_report.h"
#include "resolve/target.h"

/*
 * --maps: memstudy maps of the live target, with each mmapped malloc chunk named by the
 * call site of the live allocation it holds (docs/maps.md).
 */
static void print_annotated_maps(const struct target *t, struct peralloc *pa, FILE *out)
{
	struct maps_options mo = {0};
	struct maps_snapshot *s = maps_snapshot__read(t->pid);
	const char *alloc = target__allocator_name(t->allocator);
	char site[512];

	if (!s) {
		fprintf(out, "\n(--maps: PID %d has exited; its memory map is gone)\n", t->pid);
		return;
	}
	maps_snapshot__label(s, &mo);
	for (size_t i = 0; i < s->nr_maps; i++) {
		const struct maps_mapping *m = &s->maps[i];

		/* glibc's mmapped chunk: 16 bytes of header, then the block */
		uint64_t mine;

		if (m->label == MAPS_L_MMAP_CHUNK &&
		    peralloc__describe_addr(pa, m->start + GLIBC_CHUNK_HDR, site, sizeof(site))) {
			maps_snapshot__annotate(s, m->start, site);
			continue;
		}
		/* another allocator's memory (jemalloc's extents, mimalloc's segments...): what
		 * it mapped inside its own calls, as the trace saw */
		mine = m->label == MAPS_L_ANON || m->label == MAPS_L_ALLOCATOR
			   ? peralloc__bytes_mapped_in_alloc(pa, m->start, m->end)
			   : 0;
		if (!mine)
			continue;
		if (mine == m->end - m->start)
			snprintf(site, sizeof(site), "%s's memory: mapped inside its calls", alloc);
		else
			snprintf(site, sizeof(site),
				 "%s's memory: %llu KiB of it mapped inside its calls", alloc,
				 (unsigned long long)(mine >> 10));
		maps_snapshot__annotate(s, m->start, site);
	}
	fprintf(out, "\nMemory map at the end of the trace (mmapped chunks named by the call "
		     "that made them):\n");
	maps_snapshot__print(s, out);
	maps_snapshot__free(s);
}

/* The text report: the summary, then per-allocation mode's sections. */
static void print_text(const struct report *r, const struct trace_opts *o, struct peralloc *pa,
		       struct slowcalls *sc, FILE *out)
{
	struct report_text_opts to = {.histograms = !o->no_hist, .all_rows = o->all_rows};
	const char *names[MS_FN_MAX];

	target__fn_names(r->target, names);
	report__print_text(r, out, &to);
	if (sc)
		slowcalls__print_text(sc, out, names, r->target->nfn, r->total.start_ns,
				      o->top ? o->top : 10);
	report__print_threads(r, out, o->top ? o->top : 10);
	report__print_procs(r, out, o->top ? o->top : 10);
	if (pa)
		peralloc__print_text(pa, out, o->top ? o->top : 10);
	if (pa && o->maps)
		print_annotated_maps(r->target, pa, out);
}

json_object *trace_report__json(const struct report *r, struct peralloc *pa, struct slowcalls *sc)
{
	json_object *root = report__to_json(r);

	if (pa)
		json_object_object_add(root, "per_allocation", peralloc__json(pa));
	if (sc) {
		const char *names[MS_FN_MAX];

		target__fn_names(r->target, names);
		slowcalls__add_json(sc, root, names, r->target->nfn, r->total.start_ns);
	}
	return root;
}

/*
 * Write the JSON and the text report where they were asked for. A destination that fails
 * is named with the reason, and its report goes to stderr instead: a trace is not lost
 * because a disk was full. Returns memstudy's exit code.
 */
int trace_report__write(const struct report *r, const struct trace_opts *o, struct peralloc *pa,
			struct slowcalls *sc)
{
	const char *text_to = o->output ? o->output : "-";
	int ret = 0;
	FILE *out;

	if (o->tracer.floor) {
		fprintf(stderr,
			"memstudy: --probe-floor: empty programs were attached for %.3f s; "
			"nothing was counted\n",
			r->duration_s);
		return 0;
	}
	if (o->json) {
		json_object *root = trace_report__json(r, pa, sc);

		if (json_write_file(root, o->json)) {
			ms_err("the JSON report follows on stderr instead");
			json_print(root, stderr);
			ret = 1;
		}
		json_object_put(root);
	}
	if (o->json && ((!strcmp(o->json, "-") && !o->output) || o->record))
		return ret; /* stdout holds the JSON alone; record prints no text report */
	out = out_open(text_to);
	if (out)
		print_text(r, o, pa, sc, out);
	if (!out || out_close(out, text_to)) {
		ms_err("the report follows on stderr instead");
		print_text(r, o, pa, sc, stderr);
		ret = 1;
	}
	return ret;
}
