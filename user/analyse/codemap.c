// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyse/codemap.h"
#include "analyse/symbolize.h"
#include "analyse/unwind.h"
#include "lib/util.h"

struct codemap *codemap__new(pid_t pid)
{
	struct codemap *cm = calloc(1, sizeof(*cm));

	if (!cm)
		return NULL;
	cm->pid = pid; /* not read until a record says the target's code is there */
	cm->sym = symbolize__new();
	cm->unwind = cm->sym ? unwinder__new(cm->sym) : NULL;
	if (!cm->unwind) {
		symbolize__free(cm->sym);
		free(cm);
		return NULL;
	}
	return cm;
}

void codemap__free(struct codemap *cm)
{
	if (!cm)
		return;
	unwinder__free(cm->unwind);
	symbolize__free(cm->sym);
	free(cm);
}

void codemap__module(struct codemap *cm, const struct ms_event_module *e)
{
	char path[MS_MODULE_PATH_LEN + 2];
	const char *comp[MS_MODULE_MAX_DEPTH];
	size_t at = 0, n = 0;

	/* the components come leaf first */
	for (int i = 0; i < e->ncomp && i < MS_MODULE_MAX_DEPTH && at < sizeof(e->name); i++) {
		comp[n++] = e->name + at;
		at += strnlen(e->name + at, sizeof(e->name) - at) + 1;
	}
	if (!n || (e->flags & MS_MODULE_TRUNCATED)) {
		cm->st.modules_unnamed++;
		return;
	}
	path[0] = '\0';
	for (size_t i = n; i-- > 0;)
		appendf(path, sizeof(path), "/%.*s", MS_MODULE_NAME_MAX, comp[i]);
	cm->st.modules_from_kernel++;
	if (e->flags & MS_MODULE_IMAGE)
		symbolize__add_image(cm->sym, e->start, path);
	else
		symbolize__add_mapping(cm->sym, e->start, e->end, e->offset, path);
	unwinder__sync_kernel(cm->unwind);
}

void codemap__feed_maps(struct codemap *cm, const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	cm->read = true;
	cm->st.refreshes++;
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		unsigned long long start, stop, off, inode;
		char line[4096 + 256], perms[8], file[4096] = "";

		if (n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = '\0';
			if (sscanf(line, "%llx-%llx %7s %llx %*s %llu %4095[^\n]", &start, &stop,
				   perms, &off, &inode, file) >= 5) {
				if (perms[2] == 'x' && file[0] == '/')
					symbolize__add_mapping(cm->sym, start, stop, off, file);
				else if (cm->layout && file[0])
					cm->layout(cm->layout_ctx, start, stop, file);
			}
		}
		p += n + 1;
	}
	unwinder__sync_kernel(cm->unwind);
}

/* /proc/PID/maps whole, into a malloc'ed buffer (*LEN bytes); NULL when it is gone. */
static char *read_maps(pid_t pid, size_t *len)
{
	char path[64], *buf = NULL;
	size_t cap = 0, n = 0, got;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	do {
		if (n + 65536 > cap) {
			cap = cap ? cap * 2 : 262144;
			buf = xrealloc(buf, cap);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got);
	fclose(f);
	*len = n;
	return buf;
}

void codemap__refresh(struct codemap *cm, bool force)
{
	size_t len;
	char *text;

	if (!force && !cm->dirty)
		return;
	if (cm->offline || getenv("MEMSTUDY_NO_PROC_MODULES")) /* tests: the kernel's alone */
		return;
	cm->dirty = false;
	text = read_maps(cm->pid, &len);
	if (!text)
		return;	  /* exited: what we kept is what we have */
	if (cm->maps_tap) /* memstudy record: the report reads the same text here */
		cm->maps_tap(cm->maps_tap_ctx, cm, text, len);
	codemap__feed_maps(cm, text, len);
	free(text);
}

void codemap__exec(struct codemap *cm)
{
	unwinder__reset(cm->unwind);
	cm->dirty = true;
}

int codemap__unwind(struct codemap *cm, uint64_t pc, uint64_t sp, uint64_t bp, const uint8_t *stack,
		    size_t len, uint64_t *frames, int max, enum ms_unwind_end *end)
{
	size_t used;

	return unwinder__walk(cm->unwind, pc, sp, bp, stack, len, frames, max, end, &used);
}

int codemap__symbolize(struct codemap *cm, const uint64_t *frames, int n, bool pc_first,
		       struct sym_info *out, uint64_t *out_addr, int max)
{
	int k = 0;

	for (int f = 0; f < n && k < max; f++) {
		int got =
		    symbolize__frames(cm->sym, frames[f], !(pc_first && !f), out + k, max - k);

		for (int j = 0; j < got; j++)
			out_addr[k + j] = frames[f];
		k += got;
	}
	return k;
}
