// SPDX-License-Identifier: GPL-2.0
/* memstudy maps: the sentences that say why a heap's memory stays mapped and resident. */
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

unsigned long maps_trim_threshold(const struct maps_snapshot *s)
{
	return s->env_trim_threshold ? s->env_trim_threshold : GLIBC_TRIM_THRESHOLD;
}

unsigned long maps_top_pad(const struct maps_snapshot *s)
{
	return s->env_top_pad ? s->env_top_pad : GLIBC_TOP_PAD;
}

/* Append one sentence (and a newline) to *dst. */
static void append_sentence(char **dst, const char *fmt, ...)
{
	va_list ap;
	char *line, *all;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		exit(1);
	va_end(ap);
	all = xasprintf("%s%s\n", *dst ? *dst : "", line);
	free(line);
	free(*dst);
	*dst = all;
}

void maps_heap__explain(const struct maps_snapshot *s, struct maps_heap *h)
{
	unsigned long trim = maps_trim_threshold(s), pad = maps_top_pad(s);
	char *w = NULL;

	if (h->resident_pages >= 0)
		append_sentence(
		    &w,
		    "measured: %lu KiB mapped rw, %lu KiB resident (%ld of %lu pages), %lu KiB "
		    "dirty%s",
		    h->kbytes, h->rss_kb, h->resident_pages, (h->end - h->start) / s->page_size,
		    h->dirty_kb, h->swap_kb ? " (plus swapped)" : "");
	else
		append_sentence(&w, "measured: %lu KiB mapped rw, %lu KiB resident, %lu KiB dirty",
				h->kbytes, h->rss_kb, h->dirty_kb);
	if (h->rss_kb < h->kbytes)
		append_sentence(
		    &w, "only pages the program touched are resident: the rest is mapped but costs "
			"no memory");
	if (h->walked && h->top_size) {
		append_sentence(
		    &w,
		    "measured (%s): %lu chunks in use = %lu KiB (chunks cached in tcache/fastbins "
		    "count as in use), %lu free = %lu KiB, top chunk %lu KiB at 0x%lx",
		    h->walk_error ? "malloc_state.top" : "heap walk", h->inuse_chunks,
		    h->inuse_bytes / KiB, h->free_chunks, h->free_bytes / KiB, h->top_size / KiB,
		    h->top);
	} else if (h->top_size) {
		append_sentence(&w, "measured (%s): top chunk %lu KiB at 0x%lx", h->top_source,
				h->top_size / KiB, h->top);
	}
	if (h->walk_error)
		append_sentence(&w, "walk stopped at 0x%lx: %s", h->walk_stop, h->walk_error);

	if (h->main) {
		if (h->top_size) {
			append_sentence(
			    &w,
			    "the heap cannot shrink below 0x%lx (start of the top chunk): "
			    "brk moves only at the end",
			    h->top);
			if (h->top_size < trim)
				append_sentence(
				    &w,
				    "free() trims only when the top chunk reaches M_TRIM_THRESHOLD "
				    "(%lu KiB%s); it is %lu KiB, so it stays mapped",
				    trim / KiB,
				    s->env_trim_threshold ? ", from the environment" : "",
				    h->top_size / KiB);
			else {
				/* systrim(): gives back whole pages beyond top_pad + GLIBC_MINSIZE.
				 */
				unsigned long extra =
				    h->top_size > pad + GLIBC_MINSIZE
					? (h->top_size - pad - GLIBC_MINSIZE - 1) &
					      ~(s->page_size - 1)
					: 0;

				append_sentence(
				    &w,
				    "the top chunk (%lu KiB) reaches M_TRIM_THRESHOLD (%lu KiB), "
				    "but "
				    "a trim keeps M_TOP_PAD (%lu KiB): estimated (glibc defaults) "
				    "%lu KiB would go back on the next free()",
				    h->top_size / KiB, trim / KiB, pad / KiB, extra / KiB);
			}
			if (h->top_resident_pages > 0)
				append_sentence(
				    &w,
				    "measured: %ld KiB of the top chunk are resident (touched "
				    "before, freed, never given back)",
				    h->top_resident_pages * s->page_size / KiB);
			else if (h->top_resident_pages == 0)
				append_sentence(
				    &w, "measured: no page of the top chunk is resident: it costs "
					"address space only");
		} else {
			append_sentence(
			    &w,
			    "estimated (top chunk unknown): with glibc defaults up to "
			    "M_TRIM_THRESHOLD (%lu KiB) above the last in-use chunk stays mapped "
			    "after free()",
			    trim / KiB);
		}
		if (h->walked && h->free_bytes)
			append_sentence(
			    &w,
			    "%lu KiB are free in holes below in-use chunks: they stay mapped "
			    "until the chunks above them are freed%s",
			    h->free_bytes / KiB,
			    h->free_resident_pages > 0 ? "; malloc_trim(0) could release their "
							 "resident whole pages"
						       : "");
		if (h->free_resident_pages > 0)
			append_sentence(
			    &w, "measured: %ld KiB of whole pages inside free chunks are resident",
			    h->free_resident_pages * s->page_size / KiB);
		if (h->kbytes * KiB <= 2 * pad + 64 * KiB)
			append_sentence(
			    &w,
			    "glibc grows the heap by the request + M_TOP_PAD (%lu KiB), rounded to "
			    "pages: a first small malloc maps %lu KiB+ at once (e.g. 132 KiB)",
			    pad / KiB, pad / KiB);
	} else {
		append_sentence(
		    &w,
		    "arena heap of a non-main arena (a thread's malloc): a 64 MiB-aligned "
		    "reservation; only the first %lu KiB are rw, %lu KiB more are PROT_NONE "
		    "(address space, no memory)",
		    h->kbytes, (h->reserve_end - h->end) / KiB);
		append_sentence(
		    &w, "glibc grows it with mprotect; when it shrinks it gives pages back with "
			"MADV_DONTNEED but keeps them rw: Kbytes stays at the high-water mark, RSS "
			"drops");
		if (h->top_size && h->top_size < trim)
			append_sentence(
			    &w, "top chunk %lu KiB < M_TRIM_THRESHOLD (%lu KiB): not trimmed",
			    h->top_size / KiB, trim / KiB);
		if (h->top_resident_pages > 0)
			append_sentence(&w, "%ld KiB of the top chunk are resident",
					h->top_resident_pages * s->page_size / KiB);
		if (h->walked && h->free_bytes)
			append_sentence(&w, "%lu KiB free in holes below in-use chunks",
					h->free_bytes / KiB);
	}
	if (w)
		w[strlen(w) - 1] = 0;
	set_str(&h->why, w);
}
