// SPDX-License-Identifier: GPL-2.0
/* memstudy maps: a label for every mapping (heap, arena, stack, guard, mmapped chunk...). */
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

/* ---- labels ---- */

struct maps_mapping *maps_snapshot__find(struct maps_snapshot *s, unsigned long addr)
{
	size_t lo = 0, hi = s->nr_maps;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (addr < s->maps[mid].start)
			hi = mid;
		else if (addr >= s->maps[mid].end)
			lo = mid + 1;
		else
			return &s->maps[mid];
	}
	return NULL;
}

static void set_label(struct maps_mapping *m, enum maps_label l, char *evidence)
{
	m->label = l;
	set_str(&m->label_name, xstrdup(maps_label__name(l)));
	set_str(&m->evidence, evidence);
}

/*
 * glibc's mmapped chunks fill their whole mapping: header at start (+prev_size
 * for memalign), size field with exactly GLIBC_IS_MMAPPED set, prev_size + size ==
 * mapping length. Adjacent chunk mappings may be merged into one VMA by the
 * kernel, so follow chunk after chunk. Returns chunks found, 0 if none.
 */
static int check_mmap_chunks(struct memrd *r, struct maps_mapping *m, bool *partial)
{
	unsigned long p = m->start;
	int n = 0;

	*partial = false;
	while (p < m->end && n < 4096) {
		unsigned long hdr[2], pre, size;

		if (!memrd_read(r, p, hdr, sizeof(hdr)))
			break;
		pre = hdr[0];
		if (pre) {
			/* memalign moved the chunk up by prev_size; its header repeats it. */
			if (pre % GLIBC_CHUNK_HDR || pre >= m->end - p ||
			    !memrd_read(r, p + pre, hdr, sizeof(hdr)) || hdr[0] != pre)
				break;
		}
		size = hdr[1];
		if ((size & GLIBC_SIZE_FLAGS) != GLIBC_IS_MMAPPED ||
		    (size & ~GLIBC_SIZE_FLAGS) < GLIBC_MINSIZE ||
		    (pre + (size & ~GLIBC_SIZE_FLAGS)) % r->page_size ||
		    pre + (size & ~GLIBC_SIZE_FLAGS) > m->end - p)
			break;
		p += pre + (size & ~GLIBC_SIZE_FLAGS);
		n++;
	}
	*partial = n && p != m->end;
	m->mmap_chunks = n;
	m->mmap_chunk_bytes = p - m->start;
	return n;
}

/* heap_info at the start of an arena heap; returns true when it looks valid. */
bool read_heap_info(struct memrd *r, const struct maps_mapping *m, unsigned long hi[5])
{
	for (int i = 0; i < 5; i++)
		if (!memrd_word(r, m->start + i * 8, &hi[i]))
			return false;
	/* ar_ptr, prev, size, mprotect_size, pagesize */
	return hi[0] && hi[2] && hi[2] <= GLIBC_ARENA_HEAP_MAX && hi[3] <= GLIBC_ARENA_HEAP_MAX &&
	       hi[2] <= m->end - m->start + 0UL &&
	       (hi[4] == 0 || hi[4] == (unsigned long)r->page_size);
}

static void label_arenas(struct maps_snapshot *s, struct memrd *r)
{
	for (size_t i = 0; i < s->nr_maps; i++) {
		struct maps_mapping *m = &s->maps[i], *nx = i + 1 < s->nr_maps ? m + 1 : NULL;
		unsigned long hi[5];
		bool reserve;

		if (m->label != MAPS_L__COUNT || !is_anon(m) || !is_rw_private(m) ||
		    m->start % GLIBC_ARENA_HEAP_MAX || m->end - m->start > GLIBC_ARENA_HEAP_MAX)
			continue;
		/* The aligned reservation: rw part, then PROT_NONE up to start + 64 MiB. */
		reserve = nx && is_anon(nx) && is_prot_none(nx) && nx->start == m->end &&
			  nx->end <= m->start + GLIBC_ARENA_HEAP_MAX;
		if (!reserve && m->end - m->start != GLIBC_ARENA_HEAP_MAX)
			continue;
		if (r && read_heap_info(r, m, hi))
			set_label(
			    m, MAPS_L_ARENA_HEAP,
			    xasprintf("64 MiB-aligned; heap_info: arena 0x%lx, size %lu KiB%s",
				      hi[0], hi[2] / KiB,
				      hi[1] ? ", continues an earlier heap" : ""));
		else
			set_label(
			    m, MAPS_L_ARENA_HEAP,
			    xstrdup(r ? "64 MiB-aligned rw + PROT_NONE rest (heap_info unreadable "
					"or invalid)"
				      : "64 MiB-aligned rw + PROT_NONE rest (layout only)"));
		if (reserve)
			set_label(nx, MAPS_L_ARENA_RESERVE,
				  xasprintf("PROT_NONE rest of the arena heap at 0x%lx", m->start));
	}
}

static void label_guard_below(struct maps_snapshot *s, size_t i)
{
	struct maps_mapping *g = i > 0 ? &s->maps[i - 1] : NULL;

	if (g && g->label == MAPS_L__COUNT && is_anon(g) && is_prot_none(g) &&
	    g->end == s->maps[i].start)
		set_label(g, MAPS_L_GUARD,
			  xasprintf("PROT_NONE just below the stack at 0x%lx", s->maps[i].start));
}

static void label_stacks_by_sp(struct maps_snapshot *s)
{
	for (size_t t = 0; t < s->nr_threads; t++) {
		struct maps_thread *th = &s->threads[t];
		struct maps_mapping *m = th->sp ? maps_snapshot__find(s, th->sp) : NULL;

		if (!m)
			continue;
		if (m->label == MAPS_L_STACK) {
			m->tid = th->tid;
			set_str(&m->evidence, xasprintf("sp of tid %d", th->tid));
			continue;
		}
		if (m->label != MAPS_L__COUNT && m->label != MAPS_L_THREAD_STACK)
			continue;
		if (!is_anon(m))
			continue;
		set_label(
		    m, MAPS_L_THREAD_STACK,
		    xasprintf("sp of tid %d (0x%lx, from %s)", th->tid, th->sp, th->sp_source));
		m->tid = th->tid;
		label_guard_below(s, m - s->maps);
	}
}

void maps_snapshot__label(struct maps_snapshot *s, const struct maps_options *opts)
{
	struct memrd rd, *r = NULL;

	/* Pass 1: what the kernel names. */
	for (size_t i = 0; i < s->nr_maps; i++) {
		struct maps_mapping *m = &s->maps[i];
		const char *n = m->name;

		if (!strcmp(n, "[heap]"))
			set_label(m, MAPS_L_MAIN_HEAP,
				  xstrdup("[heap]: the brk area of main_arena"));
		else if (!strcmp(n, "[stack]"))
			set_label(m, MAPS_L_STACK, xstrdup("[stack]: the main thread's stack"));
		else if (!strcmp(n, "[vdso]"))
			set_label(m, MAPS_L_VDSO, xstrdup("kernel-provided code"));
		else if (!strncmp(n, "[vvar", 5))
			set_label(m, MAPS_L_VVAR, xstrdup("kernel-provided data for the vdso"));
		else if (!strcmp(n, "[vsyscall]"))
			set_label(m, MAPS_L_VSYSCALL, xstrdup("legacy vsyscall page"));
		else if (!strncmp(n, "[anon: glibc: malloc arena", 26))
			set_label(m, MAPS_L_ARENA_HEAP, xstrdup("named by glibc"));
		else if (!strncmp(n, "[anon: glibc: pthread stack", 27))
			set_label(m, MAPS_L_THREAD_STACK, xstrdup("named by glibc"));
		else if (!strncmp(n, "[anon: glibc: malloc", 20))
			set_label(m, MAPS_L_MMAP_CHUNK, xstrdup("named by glibc"));
		else if (!is_anon(m) && n[0] == '[')
			set_label(m, MAPS_L_SPECIAL, xstrdup("kernel-named area"));
		else if (!is_anon(m))
			set_label(m, MAPS_L_FILE, xstrdup("file-backed"));
		else
			m->label = MAPS_L__COUNT; /* decided below */
	}

	if (!opts || !opts->no_mem) {
		memrd_open(&rd, s);
		r = &rd;
		/* Probe: can we read anything at all (the first readable mapping)? */
		s->mem_read = false;
		for (size_t i = 0; i < s->nr_maps && !s->mem_read; i++) {
			unsigned long w;

			if (s->maps[i].perms[0] == 'r' && s->maps[i].label != MAPS_L_VVAR &&
			    s->maps[i].label != MAPS_L_VSYSCALL)
				s->mem_read = memrd_word(r, s->maps[i].start, &w);
		}
		if (!s->mem_read) {
			if (!s->mem_error)
				s->mem_error = xasprintf("reading memory of PID %d: %s", s->pid,
							 strerror(errno));
			memrd_close(r);
			r = NULL;
		} else {
			set_str(&s->mem_error, NULL);
		}
	} else {
		s->mem_error = xstrdup("--no-mem: target memory not read");
	}

	label_arenas(s, r);
	label_stacks_by_sp(s);

	/* mmapped malloc chunks: header says so. */
	for (size_t i = 0; r && i < s->nr_maps; i++) {
		struct maps_mapping *m = &s->maps[i];
		bool partial;
		int n;

		if (m->label == MAPS_L_MMAP_CHUNK && !m->mmap_chunks) { /* named by glibc */
			check_mmap_chunks(r, m, &partial);
			continue;
		}
		if (m->label != MAPS_L__COUNT || !is_anon(m) || !is_rw_private(m))
			continue;
		n = check_mmap_chunks(r, m, &partial);
		if (n == 1 && !partial)
			set_label(
			    m, MAPS_L_MMAP_CHUNK,
			    xstrdup(
				"chunk header at start with GLIBC_IS_MMAPPED, fills the mapping"));
		else if (n)
			set_label(m, MAPS_L_MMAP_CHUNK,
				  xasprintf("%d mmapped chunk(s) in kernel-merged mapping%s", n,
					    partial ? "; the rest unexplained" : ""));
	}

	/* Stacks nobody's sp pointed into: rw just above a PROT_NONE guard. */
	for (size_t i = 1; i < s->nr_maps; i++) {
		struct maps_mapping *m = &s->maps[i], *g = m - 1;

		if (m->label != MAPS_L__COUNT || !is_anon(m) || !is_rw_private(m) ||
		    g->end != m->start || !is_anon(g) || !is_prot_none(g) ||
		    (g->label != MAPS_L__COUNT && g->label != MAPS_L_GUARD) ||
		    g->end - g->start > 1 * MiB)
			continue;
		set_label(
		    m, MAPS_L_THREAD_STACK,
		    xasprintf("rw just above a PROT_NONE guard (no thread's sp inside: a thread "
			      "on a CPU, an unreadable sp, or a cached stack of an exited "
			      "thread)%s",
			      m->end - m->start == 8 * MiB ? "; 8 MiB = glibc default" : ""));
		label_guard_below(s, i);
	}

	maps_allocators__label(s, r);
	for (size_t i = 0; i < s->nr_maps; i++) {
		struct maps_mapping *m = &s->maps[i];

		if (m->label != MAPS_L__COUNT)
			continue;
		if (is_prot_none(m) && m->end - m->start <= 64 * KiB)
			set_label(m, MAPS_L_GUARD, xstrdup("small PROT_NONE anonymous area"));
		else if (is_rw_private(m) && !r)
			set_label(
			    m, MAPS_L_ANON,
			    xstrdup("anonymous; memory not readable, so mmap-chunk not checked"));
		else
			set_label(m, MAPS_L_ANON, xstrdup("anonymous, not otherwise explained"));
	}

	maps_heaps__analyze(s, r);
	if (r)
		memrd_close(r);
}
