// SPDX-License-Identifier: GPL-2.0
/* memstudy maps: the pmap -x style table, totals by label and the heap explanations. */
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

/* ---- output ---- */

/* The Mapping column as pmap -x shows it. */
const char *pmap_name(const struct maps_mapping *m)
{
	const char *b;

	if (!strcmp(m->name, "[stack]"))
		return "[ stack ]";
	if (is_anon(m) || m->name[0] == '[' || !m->name[0])
		return "[ anon ]";
	b = strrchr(m->name, '/');
	return b ? b + 1 : m->name;
}

void pmap_mode(const struct maps_mapping *m, char mode[6])
{
	mode[0] = m->perms[0];
	mode[1] = m->perms[1];
	mode[2] = m->perms[2];
	mode[3] = m->perms[3] == 's' ? 's' : '-';
	mode[4] = '-';
	mode[5] = 0;
}

void totals(const struct maps_snapshot *s, struct label_total t[MAPS_L__COUNT + 1])
{
	memset(t, 0, sizeof(*t) * (MAPS_L__COUNT + 1));
	for (size_t i = 0; i < s->nr_maps; i++) {
		const struct maps_mapping *m = &s->maps[i];
		struct label_total *x = &t[m->label < MAPS_L__COUNT ? m->label : MAPS_L__COUNT];

		x->count++;
		x->kbytes += m->size_kb;
		x->rss_kb += m->rss_kb;
		x->dirty_kb += m->dirty_kb;
		x->swap_kb += m->swap_kb;
	}
}

const char *mapping_label(const struct maps_mapping *m)
{
	return m->label_name ? m->label_name : maps_label__name(m->label);
}

void maps_snapshot__print(const struct maps_snapshot *s, FILE *out)
{
	struct label_total t[MAPS_L__COUNT + 1], all = {0};

	fprintf(out, "%d:   %s%s%s%s\n", s->pid, s->comm, s->exe && s->exe[0] ? " (" : "",
		s->exe ? s->exe : "", s->exe && s->exe[0] ? ")" : "");
	fprintf(out, "Address           Kbytes     RSS   Dirty    Swap Mode  %-13s Mapping\n",
		"Label");
	for (size_t i = 0; i < s->nr_maps; i++) {
		const struct maps_mapping *m = &s->maps[i];
		char mode[6];

		pmap_mode(m, mode);
		fprintf(out, "%016lx %7lu %7lu %7lu %7lu %s %-13s %s", m->start, m->size_kb,
			m->rss_kb, m->dirty_kb, m->swap_kb, mode, mapping_label(m), pmap_name(m));
		if (m->tid)
			fprintf(out, " (tid %d)", m->tid);
		if (m->annotation)
			fprintf(out, " <- %s", m->annotation);
		fputc('\n', out);
		all.kbytes += m->size_kb;
		all.rss_kb += m->rss_kb;
		all.dirty_kb += m->dirty_kb;
		all.swap_kb += m->swap_kb;
	}
	fprintf(out, "---------------- ------- ------- ------- -------\n");
	fprintf(out, "total kB         %7lu %7lu %7lu %7lu\n", all.kbytes, all.rss_kb, all.dirty_kb,
		all.swap_kb);

	totals(s, t);
	fprintf(out, "\nBy label          Kbytes     RSS   Dirty    Swap  Count\n");
	for (int l = 0; l < MAPS_L__COUNT; l++)
		if (t[l].count)
			fprintf(out, "%-16s %7lu %7lu %7lu %7lu %6lu\n", maps_label__name(l),
				t[l].kbytes, t[l].rss_kb, t[l].dirty_kb, t[l].swap_kb, t[l].count);

	if (s->nr_heaps)
		fprintf(out, "\nHeaps: why memory stays\n");
	for (size_t i = 0; i < s->nr_heaps; i++) {
		const struct maps_heap *h = &s->heaps[i];
		char *why = xstrdup(h->why), *save = NULL;

		fprintf(out, "%s %016lx-%016lx", h->main ? "main-heap " : "arena-heap", h->start,
			h->end);
		if (h->arena)
			fprintf(out, "  (malloc_state at 0x%lx)", h->arena);
		fputc('\n', out);
		for (char *l = strtok_r(why, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			fprintf(out, "  - %s\n", l);
		free(why);
	}
	if (s->mallinfo.known)
		fprintf(
		    out,
		    "\nmallinfo2, reckoned from outside (%d arena%s): arena %lu, ordblks %lu, "
		    "smblks %lu, hblks %lu, hblkhd %lu, fsmblks %lu, uordblks %lu, fordblks %lu, "
		    "keepcost %lu\n",
		    s->mallinfo.arenas, s->mallinfo.arenas == 1 ? "" : "s", s->mallinfo.arena,
		    s->mallinfo.ordblks, s->mallinfo.smblks, s->mallinfo.hblks, s->mallinfo.hblkhd,
		    s->mallinfo.fsmblks, s->mallinfo.uordblks, s->mallinfo.fordblks,
		    s->mallinfo.keepcost);
	else if (s->nr_heaps && s->mallinfo.why_not)
		fprintf(out, "\nmallinfo2: not reckoned (%s)\n", s->mallinfo.why_not);
	if (s->nr_notes)
		fputc('\n', out);
	for (size_t i = 0; i < s->nr_notes; i++)
		fprintf(out, "note: %s\n", s->notes[i]);
}
