// SPDX-License-Identifier: GPL-2.0
/*
 * memstudy maps: memory of allocators other than glibc's, told from what they leave
 * readable. kamailio keeps its pools' addresses in exported globals (_pkg_root, _shm_root,
 * with pkg_mem_size and shm_mem_size); jemalloc, tcmalloc and mimalloc map their memory
 * anonymously with nothing that names it, so only the process's choice of malloc is known,
 * and the label says that much and no more.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fmt.h"
#include "lib/util.h"
#include "maps/maps_int.h"
#include "resolve/elfsyms.h"
#include "resolve/target.h"

/* The address of EXE's data object NAME in the snapshot's process, or 0. */
static unsigned long object_addr(struct maps_snapshot *s, struct elf_syms *es, const char *name)
{
	uint64_t vaddr, size;

	if (!elf_syms__object(es, name, &vaddr, &size))
		return 0;
	for (size_t i = 0; i < s->nr_maps; i++)
		if (!s->maps[i].offset && !strcmp(s->maps[i].name, s->exe))
			return s->maps[i].start + vaddr - elf_syms__first_vaddr(es);
	return 0;
}

/* A string of at most LEN - 1 printable bytes at ADDR. */
static bool read_name(struct memrd *r, unsigned long addr, char *buf, size_t len)
{
	if (!addr || !memrd_read(r, addr, buf, len - 1))
		return false;
	buf[len - 1] = '\0';
	for (size_t i = 0; buf[i]; i++)
		if (buf[i] < ' ' || buf[i] > '~')
			return false;
	return buf[0] != '\0';
}

static void annotate(struct maps_mapping *m, char *what)
{
	if (m->annotation) {
		char *both = xasprintf("%s; %s", m->annotation, what);

		free(what);
		what = both;
	}
	set_str(&m->annotation, what);
}

/*
 * kamailio's pkg and shm pools: ROOT (its sr_pkg_api_t / sr_shm_api_t) starts with the
 * memory manager's name, the pool's memory and the manager's block; SIZE_SYM holds the
 * pool's size. Checked: the name is a string, and the pool is inside a mapping.
 */
static void label_kamailio_pool(struct maps_snapshot *s, struct memrd *r, struct elf_syms *es,
				const char *root, const char *size_sym, const char *what)
{
	unsigned long at = object_addr(s, es, root), size_at = object_addr(s, es, size_sym);
	unsigned long api[3], size = 0;
	struct maps_mapping *m;
	char name[16], sz[40] = "", b[32];

	if (!at || !memrd_read(r, at, api, sizeof(api)) || !read_name(r, api[0], name, 9) ||
	    !api[1])
		return;
	if (size_at && memrd_word(r, size_at, &size) && size)
		snprintf(sz, sizeof(sz), ", %s", fmt_bytes(b, sizeof(b), (double)size));
	m = maps_snapshot__find(s, api[1]);
	if (!m)
		return;
	annotate(m, xasprintf("kamailio's %s pool (%s manager%s) at 0x%lx, from %s", what, name, sz,
			      api[1], root));
	if (m->label == MAPS_L_ANON || m->label == MAPS_L_FILE)
		set_str(&m->evidence, xasprintf("%s.mem_pool points here", root));
}

void maps_allocators__label(struct maps_snapshot *s, struct memrd *r)
{
	const char *malloc_by = NULL, *file = NULL;
	struct elf_syms *es;

	if (r && s->exe && (es = elf_syms__open(s->exe))) {
		label_kamailio_pool(s, r, es, "_pkg_root", "pkg_mem_size", "pkg");
		label_kamailio_pool(s, r, es, "_shm_root", "shm_mem_size", "shm");
		elf_syms__close(es);
	}
	/* a replacement malloc is mapped before libc in every process that uses one */
	for (size_t i = 0; i < s->nr_maps && !malloc_by; i++) {
		const char *n = target__allocator_name(s->maps[i].name);

		if (s->maps[i].name[0] == '/' &&
		    (!strcmp(n, "jemalloc") || !strcmp(n, "tcmalloc") || !strcmp(n, "mimalloc"))) {
			malloc_by = n;
			file = s->maps[i].name;
		}
	}
	for (size_t i = 0; malloc_by && i < s->nr_maps; i++) {
		struct maps_mapping *m = &s->maps[i];

		if (m->label != MAPS_L__COUNT || !is_anon(m) || !is_rw_private(m))
			continue;
		if (i && !is_anon(m - 1) && m[-1].end == m->start)
			continue; /* a file's .bss, right after its data */
		m->label = MAPS_L_ALLOCATOR;
		set_str(&m->label_name, xstrdup(maps_label__name(MAPS_L_ALLOCATOR)));
		set_str(
		    &m->evidence,
		    xasprintf("anonymous rw in a process whose malloc is %s's (%s): it maps its "
			      "memory this way, and nothing in the mapping says whose it is; "
			      "'memstudy run --per-allocation --maps' names the calls that "
			      "made each",
			      malloc_by, file));
		set_str(&m->annotation, xasprintf("probably %s's", malloc_by));
	}
}
