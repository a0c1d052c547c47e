// SPDX-License-Identifier: GPL-2.0
/* memstudy maps: walk glibc's heaps (chunk headers, top chunk, main_arena) to measure why memory
 * stays. */
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

/* ---- heaps: why memory stays ---- */

struct heap_ctx {
	struct memrd *r;
	const uint64_t *pm; /* pagemap of [pm_base, h->end), or NULL */
	unsigned long pm_base;
	long ps;
};

static void walk_fail(struct maps_heap *h, unsigned long at, char *why)
{
	h->walked = false;
	h->walk_stop = at;
	set_str(&h->walk_error, why);
}

/* A chunk is free when the next chunk's GLIBC_PREV_INUSE bit is clear. */
static void classify(struct maps_heap *h, const struct heap_ctx *c, unsigned long p,
		     unsigned long size, bool inuse)
{
	if (inuse) {
		h->inuse_chunks++;
		h->inuse_bytes += size;
		return;
	}
	h->free_chunks++;
	h->free_bytes += size;
	if (size > h->largest_free)
		h->largest_free = size;
	/* malloc_trim() can give back the whole pages past the free chunk's links (48 bytes). */
	if (c->pm && h->free_resident_pages >= 0)
		h->free_resident_pages +=
		    count_resident(c->pm, c->pm_base, p + 48, p + size, c->ps);
}

/*
 * Walk chunk headers from first to end. Every size is validated; the walk stops
 * at the first thing that does not look like glibc's heap (the target may also
 * be changing it right now: this is a snapshot of a live process).
 */
static void walk_heap(struct maps_heap *h, const struct heap_ctx *c, unsigned long first,
		      unsigned long end)
{
	unsigned long p = first, prev = 0, prev_size = 0;

	h->walked = false;
	h->free_resident_pages = c->pm ? 0 : -1;
	while (true) {
		unsigned long hdr[2], csize;

		if (h->chunks >= WALK_MAX_CHUNKS) {
			walk_fail(h, p, xasprintf("more than %lu chunks", WALK_MAX_CHUNKS));
			return;
		}
		if (!memrd_read(c->r, p, hdr, sizeof(hdr))) {
			walk_fail(h, p,
				  xasprintf("cannot read the chunk header: %s", strerror(errno)));
			return;
		}
		csize = hdr[1] & ~GLIBC_SIZE_FLAGS;
		if (prev) {
			bool inuse = hdr[1] & GLIBC_PREV_INUSE;

			/* A free chunk's size is repeated in the next chunk's prev_size. */
			if (!inuse && hdr[0] != prev_size) {
				walk_fail(h, prev,
					  xasprintf("free chunk of 0x%lx bytes without matching "
						    "footer (0x%lx)",
						    prev_size, hdr[0]));
				return;
			}
			classify(h, c, prev, prev_size, inuse);
		} else if (!(hdr[1] & GLIBC_PREV_INUSE)) {
			walk_fail(h, p,
				  xasprintf("first chunk lacks GLIBC_PREV_INUSE (size field 0x%lx)",
					    hdr[1]));
			return;
		}
		/* A full arena heap ends in two 16-byte fenceposts: its top moved on. */
		if (!h->main && csize == GLIBC_CHUNK_HDR && p + 2 * GLIBC_CHUNK_HDR == end) {
			h->walked = true;
			set_str(&h->top_source,
				xstrdup("none: heap is full, the arena continues in a later heap"));
			return;
		}
		if (csize < GLIBC_MINSIZE || csize % GLIBC_CHUNK_HDR || csize > end - p ||
		    (hdr[1] & GLIBC_IS_MMAPPED) || (h->main && (hdr[1] & GLIBC_NON_MAIN))) {
			walk_fail(h, p, xasprintf("implausible size field 0x%lx", hdr[1]));
			return;
		}
		h->chunks++;
		if (p + csize == end) {
			h->top = p;
			h->top_size = csize;
			h->chunks--; /* chunks counts in-use + free, not top */
			h->walked = true;
			set_str(&h->top_source,
				xstrdup("heap walk (last chunk ends at the heap end)"));
			return;
		}
		prev = p;
		prev_size = csize;
		p += csize;
	}
}

/* Is there a struct malloc_state at a whose top lies in [start, end) and that owns end - start
 * bytes? */
static bool looks_like_main_arena(struct memrd *r, unsigned long a, unsigned long start,
				  unsigned long end)
{
	unsigned long top, sys, maxsys, next, tsize;

	if (!memrd_word(r, a + GLIBC_MSTATE_TOP, &top) || top < start || top >= end ||
	    top % GLIBC_CHUNK_HDR)
		return false;
	if (!memrd_word(r, a + GLIBC_MSTATE_SYSTEM_MEM, &sys) || sys != end - start ||
	    !memrd_word(r, a + GLIBC_MSTATE_MAX_SYSMEM, &maxsys) || maxsys < sys ||
	    !memrd_word(r, a + GLIBC_MSTATE_NEXT, &next) || !next)
		return false;
	return memrd_word(r, top + 8, &tsize) && top + (tsize & ~GLIBC_SIZE_FLAGS) == end;
}

/*
 * main_arena is a local symbol of libc (no address without debug symbols).
 * Find it anyway: every arena's malloc_state.next chains back to it, and it
 * sits in libc's writable data, so scan that for a malloc_state that matches
 * the [heap] exactly (top inside it, system_mem == its size).
 */
static unsigned long find_main_arena(struct maps_snapshot *s, struct memrd *r,
				     const struct maps_heap *mh, char **how)
{
	for (size_t i = 0; i < s->nr_heaps; i++) {
		unsigned long a = s->heaps[i].arena;

		for (int step = 0; a && step < 256; step++) {
			struct maps_mapping *m;

			if (!memrd_word(r, a + GLIBC_MSTATE_NEXT, &a))
				break;
			m = maps_snapshot__find(s, a);
			if (m && m->label == MAPS_L_FILE &&
			    looks_like_main_arena(r, a, mh->start, mh->end)) {
				*how =
				    xstrdup("found by following malloc_state.next from an arena");
				return a;
			}
		}
	}
	for (size_t i = 0; i < s->nr_maps; i++) {
		struct maps_mapping *m = &s->maps[i];
		const char *base = strrchr(m->name, '/');
		size_t len = m->end - m->start;
		unsigned long *buf;

		if (m->label != MAPS_L_FILE || !is_rw_private(m) || !base ||
		    strncmp(base, "/libc", 5) || len > 4 * MiB)
			continue;
		buf = xrealloc(NULL, len);
		if (memrd_raw(r, m->start, buf, len)) {
			for (size_t off = 0; off + GLIBC_MSTATE_SIZE <= len; off += 8) {
				unsigned long top = buf[(off + GLIBC_MSTATE_TOP) / 8];
				unsigned long sys = buf[(off + GLIBC_MSTATE_SYSTEM_MEM) / 8];

				if (top < mh->start || top >= mh->end || sys != mh->end - mh->start)
					continue;
				if (looks_like_main_arena(r, m->start + off, mh->start, mh->end)) {
					free(buf);
					*how = xstrdup("found by scanning libc's data for a "
						       "malloc_state matching [heap]");
					return m->start + off;
				}
			}
		}
		free(buf);
	}
	return 0;
}

static struct maps_heap *add_heap(struct maps_snapshot *s, const struct maps_mapping *m, bool main)
{
	struct maps_heap *h;

	s->heaps = xrealloc(s->heaps, (s->nr_heaps + 1) * sizeof(*s->heaps));
	h = &s->heaps[s->nr_heaps++];
	memset(h, 0, sizeof(*h));
	h->main = main;
	h->start = m->start;
	h->end = m->end;
	h->reserve_end = m->end;
	h->kbytes = m->size_kb;
	h->rss_kb = m->rss_kb;
	h->dirty_kb = m->dirty_kb;
	h->swap_kb = m->swap_kb;
	h->resident_pages = -1;
	h->top_resident_pages = -1;
	h->free_resident_pages = -1;
	return h;
}

static void heap_top_resident(const struct maps_snapshot *s, struct maps_heap *h,
			      const struct heap_ctx *c)
{
	if (c->pm && h->top_size)
		h->top_resident_pages = count_resident(c->pm, c->pm_base, h->top + GLIBC_CHUNK_HDR,
						       h->top + h->top_size, s->page_size);
}

/* ---- mallinfo2, reckoned from outside ---- */

/* Arena A's fastbins: their chunks and bytes (free to mallinfo2, in use to a heap walk: a
 * fastbin chunk keeps its next chunk's GLIBC_PREV_INUSE). False when a link is bad. */
static bool fastbins(struct memrd *r, unsigned long a, unsigned long *n, unsigned long *bytes)
{
	for (int i = 0; i < GLIBC_NFASTBINS; i++) {
		unsigned long p, size, link, steps = 0;

		if (!memrd_word(r, a + GLIBC_MSTATE_FASTBINS + 8 * i, &p))
			return false;
		while (p) {
			if (p % GLIBC_CHUNK_HDR || ++steps > WALK_MAX_CHUNKS ||
			    !memrd_word(r, p + 8, &size) ||
			    !memrd_word(r, p + GLIBC_CHUNK_FD, &link))
				return false;
			(*n)++;
			*bytes += size & ~GLIBC_SIZE_FLAGS;
			p = GLIBC_REVEAL_PTR(p + GLIBC_CHUNK_FD, link);
		}
	}
	return true;
}

static void mallinfo_fail(struct maps_mallinfo *mi, char *why)
{
	mi->known = false;
	set_str(&mi->why_not, why);
}

/* As glibc's int_mallinfo sums its arenas: system memory, free chunks in the bins plus the
 * top (ordblks, fordblks), fastbins (smblks, fsmblks); the mmapped chunks (hblks, hblkhd);
 * the main arena's top (keepcost). */
static void reckon_mallinfo(struct maps_snapshot *s, struct memrd *r)
{
	struct maps_mallinfo *mi = &s->mallinfo;
	unsigned long seen[64];
	int nseen = 0;

	memset(mi, 0, sizeof(*mi));
	mi->known = true;
	if (!r)
		return mallinfo_fail(mi, xstrdup("the target's memory was not read"));
	for (size_t i = 0; i < s->nr_heaps; i++) {
		const struct maps_heap *h = &s->heaps[i];
		unsigned long a = h->arena, sys, top, fast = 0, fast_bytes = 0;
		bool dup = false;

		if (!h->walked)
			return mallinfo_fail(mi, xasprintf("the walk of the heap at 0x%lx did "
							   "not finish",
							   h->start));
		if (!a)
			return mallinfo_fail(mi, xasprintf("the malloc_state of the heap at 0x%lx "
							   "was not found",
							   h->start));
		/* an arena's heaps: their free chunks are its bins' */
		mi->ordblks += h->free_chunks;
		mi->fordblks += h->free_bytes;
		for (int k = 0; k < nseen; k++)
			dup |= seen[k] == a;
		if (dup)
			continue;
		if (nseen == (int)(sizeof(seen) / sizeof(seen[0])))
			return mallinfo_fail(mi, xstrdup("more than 64 arenas"));
		seen[nseen++] = a;
		mi->arenas++;
		if (!memrd_word(r, a + GLIBC_MSTATE_SYSTEM_MEM, &sys) ||
		    !memrd_word(r, a + GLIBC_MSTATE_TOP, &top) || !memrd_word(r, top + 8, &top) ||
		    !fastbins(r, a, &fast, &fast_bytes))
			return mallinfo_fail(mi, xasprintf("the malloc_state at 0x%lx could not "
							   "be read",
							   a));
		top &= ~GLIBC_SIZE_FLAGS;
		mi->arena += sys;
		mi->ordblks += 1; /* the top chunk */
		mi->fordblks += top + fast_bytes;
		mi->smblks += fast;
		mi->fsmblks += fast_bytes;
		if (h->main)
			mi->keepcost = top;
	}
	for (size_t i = 0; i < s->nr_maps; i++) {
		mi->hblks += s->maps[i].mmap_chunks;
		mi->hblkhd += s->maps[i].mmap_chunk_bytes;
	}
	mi->uordblks = mi->arena - mi->fordblks;
}

void maps_heaps__analyze(struct maps_snapshot *s, struct memrd *r)
{
	struct maps_heap *mh = NULL;
	size_t main_idx = 0;
	int narenas = 0;

	/* Arena heaps first: their malloc_states lead to main_arena. */
	for (size_t i = 0; i < s->nr_maps; i++) {
		struct maps_mapping *m = &s->maps[i];
		struct heap_ctx c = {.r = r, .ps = s->page_size, .pm_base = m->start};
		unsigned long hi[5], first, end, top = 0, tsize = 0;
		uint64_t *pm;
		struct maps_heap *h;

		if (m->label != MAPS_L_ARENA_HEAP)
			continue;
		narenas++;
		h = add_heap(s, m, false);
		if (i + 1 < s->nr_maps && m[1].label == MAPS_L_ARENA_RESERVE)
			h->reserve_end = m[1].end;
		pm = read_pagemap(s->pid, m->start, m->end, s->page_size);
		c.pm = pm;
		if (pm)
			h->resident_pages =
			    count_resident(pm, m->start, m->start, m->end, s->page_size);
		if (r && read_heap_info(r, m, hi)) {
			h->arena = hi[0];
			end = m->start + hi[2];
			if (!hi[1] && hi[0] != m->start + GLIBC_HEAP_INFO_SIZE) {
				walk_fail(h, m->start,
					  xasprintf("heap_info.ar_ptr 0x%lx is not right "
						    "after heap_info",
						    hi[0]));
			} else {
				first = hi[1]
					    ? m->start + GLIBC_HEAP_INFO_SIZE
					    : align_up(hi[0] + GLIBC_MSTATE_SIZE, GLIBC_CHUNK_HDR);
				walk_heap(h, &c, first, end);
			}
			/* The arena's own top pointer, when it points into this heap. */
			if (memrd_word(r, hi[0] + GLIBC_MSTATE_TOP, &top) && top >= m->start &&
			    top < end && memrd_word(r, top + 8, &tsize) &&
			    top + (tsize & ~GLIBC_SIZE_FLAGS) == end) {
				if (h->walked && h->top == top)
					set_str(&h->top_source,
						xstrdup("heap walk; agrees with malloc_state.top"));
				else if (!h->walked) {
					h->top = top;
					h->top_size = tsize & ~GLIBC_SIZE_FLAGS;
					set_str(&h->top_source, xstrdup("malloc_state.top"));
				}
			}
		} else if (r) {
			walk_fail(h, m->start, xstrdup("no valid heap_info at the start"));
		}
		heap_top_resident(s, h, &c);
		free(pm);
	}

	for (size_t i = 0; i < s->nr_maps; i++)
		if (s->maps[i].label == MAPS_L_MAIN_HEAP) {
			main_idx = s->nr_heaps;
			mh = add_heap(s, &s->maps[i], true);
			break;
		}
	if (mh) {
		struct heap_ctx c = {.r = r, .ps = s->page_size, .pm_base = mh->start};
		uint64_t *pm = read_pagemap(s->pid, mh->start, mh->end, s->page_size);
		unsigned long ma = 0, top, tsize;
		char *how = NULL;

		c.pm = pm;
		if (pm)
			mh->resident_pages =
			    count_resident(pm, mh->start, mh->start, mh->end, s->page_size);
		if (r) {
			/* brk starts page-aligned: the first chunk (tcache_perthread_struct) is at
			 * the start. */
			walk_heap(mh, &c, mh->start, mh->end);
			ma = find_main_arena(s, r, mh, &how);
		}
		if (ma) {
			mh->arena = ma;
			if (memrd_word(r, ma + GLIBC_MSTATE_TOP, &top) &&
			    memrd_word(r, top + 8, &tsize)) {
				if (mh->walked && mh->top == top)
					set_str(
					    &mh->top_source,
					    xasprintf("heap walk; agrees with main_arena.top (%s)",
						      how));
				else if (!mh->walked) {
					mh->top = top;
					mh->top_size = tsize & ~GLIBC_SIZE_FLAGS;
					set_str(&mh->top_source,
						xasprintf("main_arena.top (%s)", how));
				}
			}
		} else if (r && !mh->walked) {
			set_str(&mh->top_source, xstrdup("unknown"));
		}
		free(how);
		heap_top_resident(s, mh, &c);
		free(pm);
	}

	for (size_t i = 0; i < s->nr_heaps; i++)
		maps_heap__explain(s, &s->heaps[i]);
	reckon_mallinfo(s, r);
	/* Main heap first in the list. */
	if (mh && main_idx) {
		struct maps_heap tmp = s->heaps[main_idx];

		memmove(&s->heaps[1], &s->heaps[0], main_idx * sizeof(tmp));
		s->heaps[0] = tmp;
	}
	if (narenas)
		maps_snapshot__add_note(
		    s, xasprintf("%d arena heap(s) besides the main heap: glibc gives a thread "
				 "its own arena when others are in use (up to 8 x CPUs arenas "
				 "on 64-bit) so threads do not wait on one lock; each arena "
				 "heap reserves 64 MiB of address space",
				 narenas));
	if (r)
		maps_snapshot__add_note(
		    s, xstrdup("heap figures read from a running process: a snapshot, the "
			       "target may change them while they are read"));
	else if (s->mem_error)
		maps_snapshot__add_note(
		    s, xasprintf("target memory not read (%s): mmap-chunk labels and heap "
				 "walks need it; run as root or as the process owner",
				 s->mem_error));
}
