// SPDX-License-Identifier: GPL-2.0
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyse/codemap.h"
#include "analyse/peralloc.h"
#include "analyse/symbolize.h"
#include "lib/outfile.h"
#include "output/mtrace.h"

struct mtrace_log {
	FILE *out;
	char *path;
};

struct mtrace_log *mtrace_log__open(const char *path)
{
	struct mtrace_log *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->out = out_open(path);
	if (!m->out) {
		free(m);
		return NULL;
	}
	m->path = strdup(path);
	fprintf(m->out, "= Start\n");
	return m;
}

/* "@ FILE:(SYMBOL+0xOFF)[0xADDR] " as glibc's tr_where writes it; the symbol only where it
 * has no space (a demangled C++ name would split the script's columns). */
static void where(struct mtrace_log *m, struct peralloc *pa, uint64_t caller)
{
	struct codemap *cm = peralloc__codemap(pa);
	struct sym_info si;

	if (!caller)
		return;
	symbolize__addr(cm->sym, caller, true, &si);
	if (!si.module) {
		fprintf(m->out, "@ [0x%" PRIx64 "] ", caller);
		return;
	}
	fprintf(m->out, "@ %s:", symbolize__module_path(cm->sym, caller));
	if (si.function && !strpbrk(si.function, " \t"))
		fprintf(m->out, "(%s+0x%" PRIx64 ")", si.function, si.offset);
	fprintf(m->out, "[0x%" PRIx64 "] ", si.module_offset);
}

void mtrace_log__record(void *ctx, struct peralloc *pa, uint32_t pid, const void *rec, uint32_t len)
{
	struct mtrace_log *m = ctx;
	uint32_t type = *(const uint32_t *)rec;

	if (type == MS_EV_ALLOC && len >= sizeof(struct ms_event_alloc)) {
		const struct ms_event_alloc *a = rec;

		if (a->fn >= MS_FN_CUSTOM)
			return; /* mtrace is the malloc family's log (and C++'s, through it) */
		if (a->kind == MS_KIND_REALLOC && a->old_ptr) {
			if (!a->ptr && !a->size) { /* realloc(p, 0): a free */
				where(m, pa, a->caller);
				fprintf(m->out, "- 0x%" PRIx64 "\n", (uint64_t)a->old_ptr);
			} else if (a->ptr) {
				where(m, pa, a->caller);
				fprintf(m->out, "< 0x%" PRIx64 "\n", (uint64_t)a->old_ptr);
				where(m, pa, a->caller);
				fprintf(m->out, "> 0x%" PRIx64 " %#" PRIx64 "\n", (uint64_t)a->ptr,
					(uint64_t)a->size);
			}
			return;
		}
		if (!a->ptr)
			return; /* failed: nothing to free */
		where(m, pa, a->caller);
		fprintf(m->out, "+ 0x%" PRIx64 " %#" PRIx64 "\n", (uint64_t)a->ptr,
			(uint64_t)a->size);
	} else if (type == MS_EV_FREE && len >= sizeof(struct ms_event_free)) {
		const struct ms_event_free *f = rec;

		if (f->fn < MS_FN_CUSTOM && f->kind == MS_KIND_FREE && f->ptr)
			fprintf(m->out, "- 0x%" PRIx64 "\n", (uint64_t)f->ptr);
	}
}

int mtrace_log__close(struct mtrace_log *m)
{
	int ret;

	if (!m)
		return 0;
	fprintf(m->out, "= End\n");
	ret = out_close(m->out, m->path) ? 1 : 0;
	free(m->path);
	free(m);
	return ret;
}
