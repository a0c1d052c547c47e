/* SPDX-License-Identifier: GPL-2.0 */
/* Internals shared by the per-allocation collector (peralloc.c) and its report. */
#ifndef MEMSTUDY_PERALLOC_INT_H
#define MEMSTUDY_PERALLOC_INT_H

#include "memstudy.h"
#include "analyse/peralloc.h"
#include "analyse/symbolize.h"
#include "analyse/unwind.h"

#define PA_HIST 24 /* faults per allocation: 0, 1, 2-3, 4-7, ... */

/* Where a fault landed when it was not inside a live allocation. */
enum pa_kind {
	PA_IN_ALLOC, /* inside [ptr, ptr+size) of a live allocation */
	PA_META,     /* allocator memory: chunk headers, top chunk, arena and tcache headers */
	PA_FREED,    /* allocator memory that held a freed allocation */
	PA_STACK,    /* thread stacks: [stack], MAP_STACK mappings */
	PA_ANON,     /* other anonymous mappings */
	PA_OTHER,    /* file mappings (data, relocations), vdso, unknown */
	PA_KIND_MAX,
};

struct pa_counts {
	uint64_t faults;
	uint64_t in_alloc_code; /* taken inside an allocator call */
	uint64_t kernel;	/* taken in kernel mode on the target's behalf */
	uint64_t major;
};

struct pa_site {
	uint64_t key;
	int32_t stack_id;
	uint32_t fn_mask; /* 1 << enum ms_fn */
	uint64_t caller;
	uint64_t allocs, bytes, frees, failed;
	struct pa_counts f;
	uint64_t hist[PA_HIST]; /* faults per allocation, for freed and (at the end) live ones */
	uint64_t max_faults;	/* most faults in one allocation */
	/* its blocks still live at the end: how many, their bytes, the pages faulted in them
	 * (each fault in a block brought a page in: resident unless released since) */
	uint64_t live_blocks, live_bytes, live_faults;
	/* syscalls made inside its allocations and inside the frees of its blocks: time, count */
	uint64_t kernel_ns, kernel_syscalls;
	/* filled by peralloc__finish */
	uint32_t merged_into; /* NIL, or the site with the same symbolized frames it joined */
	int inherited_from;   /* --follow: the blocks a child got from this parent at fork */
	bool named;	      /* its frames named already: before its process's exec */
	int nframes;
	uint64_t frames[MS_STACK_DEPTH];
	struct sym_info sym[MS_STACK_DEPTH];
};

struct pa_stats {
	uint64_t events, allocs, frees, failed, unknown_frees, reuse_conflicts;
	/* unknown_frees by cause (peralloc.c, unknown_free) */
	uint64_t unknown_before_tracing, unknown_records_lost, unknown_allocator_internal;
	uint64_t ended_by_exec; /* live blocks of an image the target exec'ed away from */
	uint64_t pool_clears, pool_destroys; /* pool allocators: calls seen */
	uint64_t pool_frees;		     /* blocks they freed */
	uint64_t inherited; /* --follow: live blocks copied from the parent at fork */
	uint64_t lost_records[MS_EV_TYPES]; /* dropped by the kernel, by record type */
	uint64_t lost_thread_state;	    /* calls not followed: no per-thread state */
	uint64_t live, live_max, live_at_end;
	uint64_t index_bytes_at_max, index_bytes_peak;
	uint64_t lost_nomem;	   /* records dropped for lack of collector memory */
	uint64_t pending_overflow; /* faults in allocator calls classified without waiting */
	uint64_t kwork_unmatched;  /* kernel-work records whose call's block was not known */
	uint64_t stack_errors;
	uint64_t peak_rss_kb;
	struct pa_counts kind[PA_KIND_MAX];
	uint64_t hist[PA_HIST];
	uint64_t module_refreshes;
	uint64_t modules_from_kernel, modules_unnamed;	 /* MS_EV_MODULE records */
	uint64_t unwound, unwind_end[MS_UNWIND_END_MAX]; /* stacks unwound, why each walk ended */
	uint64_t unwound_from_copy; /* of those, finished here from a copy of the stack */
	uint64_t copy_top_updates;  /* the kernel told where a thread's frames end */
	uint64_t copied_bytes;	    /* of stack, in the records unwound here */
	uint64_t sites_merged;	    /* sites that read the same as another, folded into it */
	struct unwind_kernel_stats kernel_unwind; /* the rows given to the kernel's walk */
};

#define PA_NIL 0xffffffffu

/* Which heaps a thread's blocks came from (the heap walk's view of arenas). */
enum { PA_HEAP_UNKNOWN, PA_HEAP_MAIN, PA_HEAP_MMAP }; /* else: an arena heap's address */
#define PA_THREAD_HEAPS 4
struct pa_heap_use {
	uint64_t heap;
	uint64_t allocs;
};
/* Slot I of the collector's thread table (I from 0; -1 past the end): its TID, its HEAPS
 * (PA_THREAD_HEAPS, those with allocations in use) and blocks from further heaps; 0 for
 * an empty slot. */
int peralloc__thread_heaps(struct peralloc *pa, uint64_t i, uint32_t *tid,
			   const struct pa_heap_use **heaps, uint64_t *other);
uint32_t peralloc__nsites(struct peralloc *pa);
/* After peralloc__finish: the frame a site is named after, its first one outside the
 * allocator's wrappers (operator new..., xmalloc, g_malloc, PyMem_*, and --wrapper's). */
int peralloc__title_frame(struct peralloc *pa, const struct pa_site *s);
struct pa_site *peralloc__site(struct peralloc *pa, uint32_t i);
const struct pa_stats *peralloc__stats(struct peralloc *pa);
/* The report's name of function slot FN (peralloc__set_fn_names), or NULL. */
const char *peralloc__fn_name(const struct peralloc *pa, int fn);
extern const char *const pa_kind_names[PA_KIND_MAX];
/* "malloc 4194304 B: f <- g (file:line)" for one block of SIZE bytes from site I. */
bool peralloc__describe_site(struct peralloc *pa, uint32_t i, uint64_t size, char *buf, size_t len);

#endif
