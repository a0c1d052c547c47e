// SPDX-License-Identifier: GPL-2.0
/*
 * The per-allocation collector. Records arrive in ring-buffer order: a thread's records are
 * in program order, and an allocation is always reported before another thread can see its
 * pointer (the record is written at the return of malloc), a free before glibc can hand the
 * block to someone else (at the entry of free). So looking an address up at the moment its
 * fault record arrives finds the allocation that held it then.
 *
 * The live allocations are in an address index (addr_index.c); a fault outside them is
 * classified by the region it fell in (heap, arena, stack, other mappings) and whether the
 * page held a freed block. The 16 bytes before ptr are glibc's chunk header (prev_size,
 * size).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <bpf/bpf.h>

#include "analyse/addr_index.h"
#include "analyse/codemap.h"
#include "analyse/peralloc_int.h"
#include "analyse/pools.h"
#include "analyse/unwind.h"
#include "lib/glibc_layout.h"
#include "lib/util.h"
#include "resolve/target.h"

#define PAGE_SHIFT  12
#define PAGE_SZ	    (1ULL << PAGE_SHIFT)
#define NIL	    ADDR_NIL
#define PENDING_MAX 8

const char *const pa_kind_names[PA_KIND_MAX] = {"in_allocations",  "in_allocator_metadata",
						"in_freed_memory", "thread_stacks",
						"other_anonymous", "other"};

enum region_type { R_ALLOC = 1, R_STACK, R_ANON, R_FILE };

struct pa_region {
	uint64_t start, end;
	int type;
};

struct pa_freed {
	uint64_t key;	  /* (addr >> 21) + 1; 0 = empty */
	uint64_t bits[8]; /* one per 4 KiB page of the 2 MiB */
};

struct pa_pending {
	uint64_t addr;
	uint16_t seq, flags;
	bool major;
};

struct pa_thread {
	uint32_t tid; /* 0 = empty slot */
	uint16_t free_seq;
	bool in_free;
	int npend;
	struct pa_pending pend[PENDING_MAX];
	/* the last fault, so its major-fault record can find it */
	uint64_t last_page;
	int64_t last_target; /* >= 0 site index; < 0: -(kind + 1) */
	bool last_in_alloc;
	uint64_t copy_top;   /* the kernel was told: this thread's frames end below it */
	uint64_t top_needed; /* the most a complete walk of this thread's copies needed */
	/* where its blocks came from: the main heap, an arena's heap, an mmapped chunk */
	struct pa_heap_use heaps[PA_THREAD_HEAPS];
	uint64_t heaps_other; /* blocks from heaps past the first PA_THREAD_HEAPS */
	/* its last call's block's site, for the call's kernel work (MS_EV_KWORK) */
	uint32_t work_site;
	uint16_t work_seq;
};

struct peralloc {
	pid_t pid;
	bool attached_late; /* --pid: blocks may have been allocated before tracing */
	const volatile uint64_t *lost_allocs; /* the kernel's count of dropped alloc records */
	struct pa_stats st;
	struct addr_index live; /* the live allocations */
	/* sites */
	struct pa_site *sites;
	uint32_t nsites, sites_cap;
	uint32_t *site_slot; /* index + 1, by key */
	uint64_t site_slot_cap;
	/* regions */
	struct pa_region *regions;
	int nregions, regions_cap;
	uint64_t heap_start, heap_end, stack_lo, stack_hi;
	struct pa_freed *freed;
	uint64_t freed_cap, freed_n;
	/* threads */
	struct pa_thread *threads;
	uint64_t threads_cap, threads_n;
	/* symbols and stacks: the trace's code map's */
	struct codemap *cm;
	bool own_cm; /* made here (no code map given): freed with PA */
	struct symbolizer *sym;
	struct unwinder *unwind;
	const struct unwind_kernel_ops *kops;	     /* the kernel side of unwinding, or NULL */
	bool sites_by_address;			     /* --sites address */
	const char *wrappers[PERALLOC_WRAPPERS_MAX]; /* --wrapper */
	int nwrappers;
	int stack_depth;		 /* frames kept from an unwound stack */
	const char *fn_names[MS_FN_MAX]; /* the report's names of the function slots */
	/* pool allocators: each pool's blocks, and the functions that allocate in pools */
	struct pools pools;
	uint32_t pooled_fns; /* 1 << fn */
	/* live blocks of the malloc family holding another allocator's blocks (kamailio's pkg
	 * pool is one malloc; a pool's first block may start where its arena does), kept
	 * apart: a fault inside one but in none of its blocks is charged to it */
	struct addr_index arenas;
	/* the last allocation record's stack, as unwound (memstudy record interns it) */
	uint64_t last_frames[MS_STACK_DEPTH];
	int last_nframes; /* -1: the record carried no stack */
	enum ms_unwind_end last_end;
	uint32_t last_site; /* its site, or NIL */
	/* where peralloc__finish reads stack ids (memstudy report: the recording's), or NULL */
	bool (*stack_lookup)(void *ctx, int32_t id, uint64_t *ips);
	void *stack_lookup_ctx;
	uint32_t ended_site; /* the site of the last block ended */
	/* faults in freed memory outside allocator calls (uses after free), the first ones */
	struct pa_freed_touch freed_touch[PA_FREED_TOUCH_MAX];
	uint64_t nfreed_touch;
	/* memstudy report: the site of each recorded stack (by its id), once found */
	uint32_t *recorded_site; /* site + 1 */
	uint64_t recorded_cap;
};

static uint64_t index_bytes(struct peralloc *pa)
{
	return addr_index__bytes(&pa->live) + pa->freed_cap * sizeof(struct pa_freed);
}

/* Sites -------------------------------------------------------------------------------------- */

/* The key of a call site: its stack map id, its unwound frames, or its caller alone. */
static uint64_t site_key(int32_t stack_id, uint64_t caller, const uint64_t *frames, int n)
{
	uint64_t k = 0x9e3779b97f4a7c15ULL;

	if (n > 0) {
		for (int i = 0; i < n; i++)
			k = hash64(k ^ frames[i]) + i;
		return k | 1ULL << 62;
	}
	return stack_id >= 0 ? (uint64_t)stack_id : (1ULL << 63 | caller);
}

static bool site_is(const struct pa_site *s, uint64_t key, const uint64_t *frames, int n)
{
	return s->key == key &&
	       (n <= 0 || (s->nframes == n && !memcmp(s->frames, frames, n * sizeof(*frames))));
}

static uint32_t site_get(struct peralloc *pa, int32_t stack_id, uint64_t caller, int fn,
			 const uint64_t *frames, int nframes)
{
	uint64_t key = site_key(stack_id, caller, frames, nframes), i;
	struct pa_site *s;

	if (pa->nsites * 2 >= pa->site_slot_cap) {
		uint64_t cap = pa->site_slot_cap ? pa->site_slot_cap * 2 : 1024;
		uint32_t *n = calloc(cap, sizeof(*n));

		if (!n)
			return NIL;
		free(pa->site_slot);
		pa->site_slot = n;
		pa->site_slot_cap = cap;
		for (uint32_t k = 0; k < pa->nsites; k++) {
			for (i = hash64(pa->sites[k].key) & (cap - 1); n[i];
			     i = (i + 1) & (cap - 1))
				;
			n[i] = k + 1;
		}
	}
	for (i = hash64(key) & (pa->site_slot_cap - 1); pa->site_slot[i];
	     i = (i + 1) & (pa->site_slot_cap - 1)) {
		s = &pa->sites[pa->site_slot[i] - 1];
		if (site_is(s, key, frames, nframes)) {
			s->fn_mask |= 1u << fn;
			return pa->site_slot[i] - 1;
		}
	}
	if (pa->nsites == pa->sites_cap) {
		uint32_t cap = pa->sites_cap ? pa->sites_cap * 2 : 256;
		struct pa_site *n = realloc(pa->sites, cap * sizeof(*n));

		if (!n)
			return NIL;
		pa->sites = n;
		pa->sites_cap = cap;
	}
	s = &pa->sites[pa->nsites];
	memset(s, 0, sizeof(*s));
	s->merged_into = NIL;
	s->key = key;
	s->stack_id = stack_id;
	s->caller = caller;
	s->fn_mask = 1u << fn;
	if (nframes > 0) { /* unwound here: the frames are known now */
		s->nframes = nframes;
		memcpy(s->frames, frames, nframes * sizeof(*frames));
	}
	pa->site_slot[i] = ++pa->nsites;
	return pa->nsites - 1;
}

static int hist_bucket(uint64_t faults)
{
	int b = faults ? 64 - __builtin_clzll(faults) : 0; /* 0, 1, 2-3 -> 2, 4-7 -> 3 */

	return b < PA_HIST ? b : PA_HIST - 1;
}

static void site_account_end(struct peralloc *pa, struct pa_entry *x)
{
	struct pa_site *s = &pa->sites[x->site];
	int b = hist_bucket(x->faults);

	s->hist[b]++;
	pa->st.hist[b]++;
	if (x->faults > s->max_faults)
		s->max_faults = x->faults;
}

/* A block still live at the end: its faults into the distributions, and its site's leaks. */
static void site_account_live(struct peralloc *pa, struct pa_entry *x)
{
	struct pa_site *s = &pa->sites[x->site];

	site_account_end(pa, x);
	s->live_blocks++;
	s->live_bytes += x->size;
	s->live_faults += x->faults;
}

/* Regions -------------------------------------------------------------------------------- */

static int region_find(struct peralloc *pa, uint64_t a)
{
	int lo = 0, hi = pa->nregions - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;

		if (a < pa->regions[mid].start)
			hi = mid - 1;
		else if (a >= pa->regions[mid].end)
			lo = mid + 1;
		else
			return mid;
	}
	return -1;
}

static int region_reserve(struct peralloc *pa, int more)
{
	if (pa->nregions + more > pa->regions_cap) {
		int cap = (pa->regions_cap + more) * 2;
		struct pa_region *n = realloc(pa->regions, cap * sizeof(*n));

		if (!n)
			return -1;
		pa->regions = n;
		pa->regions_cap = cap;
	}
	return 0;
}

/* Forget [start, end), keeping the parts of regions that stick out on either side. */
static void region_remove(struct peralloc *pa, uint64_t start, uint64_t end)
{
	struct pa_region keep[2];
	int i, j, n = 0;

	for (i = 0; i < pa->nregions && pa->regions[i].end <= start; i++)
		;
	for (j = i; j < pa->nregions && pa->regions[j].start < end; j++)
		;
	if (i == j)
		return;
	if (pa->regions[i].start < start)
		keep[n++] = (struct pa_region){pa->regions[i].start, start, pa->regions[i].type};
	if (pa->regions[j - 1].end > end)
		keep[n++] =
		    (struct pa_region){end, pa->regions[j - 1].end, pa->regions[j - 1].type};
	if (region_reserve(pa, 2)) {
		pa->st.lost_nomem++;
		return;
	}
	memmove(&pa->regions[i + n], &pa->regions[j], (pa->nregions - j) * sizeof(keep[0]));
	memcpy(&pa->regions[i], keep, n * sizeof(keep[0]));
	pa->nregions += n - (j - i);
}

static void region_set(struct peralloc *pa, uint64_t start, uint64_t end, int type)
{
	int i;

	region_remove(pa, start, end);
	if (region_reserve(pa, 1)) {
		pa->st.lost_nomem++;
		return;
	}
	for (i = 0; i < pa->nregions && pa->regions[i].start < start; i++)
		;
	memmove(&pa->regions[i + 1], &pa->regions[i], (pa->nregions - i) * sizeof(pa->regions[0]));
	pa->regions[i] = (struct pa_region){start, end, type};
	pa->nregions++;
}

/* Freed-page bits ------------------------------------------------------------------------ */

static struct pa_freed *freed_slot(struct peralloc *pa, uint64_t addr, bool create)
{
	uint64_t key = (addr >> 21) + 1, i;

	if (create && (pa->freed_n + 1) * 2 > pa->freed_cap) {
		uint64_t cap = pa->freed_cap ? pa->freed_cap * 2 : 256;
		struct pa_freed *n = calloc(cap, sizeof(*n)), *old = pa->freed;

		if (!n)
			return NULL;
		for (uint64_t k = 0; k < pa->freed_cap; k++) {
			if (!old[k].key)
				continue;
			for (i = hash64(old[k].key) & (cap - 1); n[i].key; i = (i + 1) & (cap - 1))
				;
			n[i] = old[k];
		}
		free(old);
		pa->freed = n;
		pa->freed_cap = cap;
	}
	if (!pa->freed_cap)
		return NULL;
	for (i = hash64(key) & (pa->freed_cap - 1); pa->freed[i].key;
	     i = (i + 1) & (pa->freed_cap - 1))
		if (pa->freed[i].key == key)
			return &pa->freed[i];
	if (!create)
		return NULL;
	pa->freed[i].key = key;
	pa->freed_n++;
	return &pa->freed[i];
}

/* Mark (SET) or clear the pages of [start, end). Clearing never drops slots: a slot of zero
 * bits is as good as none. */
static void freed_mark(struct peralloc *pa, uint64_t start, uint64_t end, bool set)
{
	uint64_t p;

	if (end <= start)
		return;
	if (!set && (end - start) >> 21 > pa->freed_cap) {
		/* more 2 MiB regions than slots (a large munmap): clear slot by slot */
		for (uint64_t k = 0; k < pa->freed_cap; k++) {
			uint64_t lo = (pa->freed[k].key - 1) << 21, hi = lo + (1ULL << 21);

			if (pa->freed[k].key && lo < end && hi > start)
				freed_mark(pa, lo > start ? lo : start, hi < end ? hi : end, false);
		}
		return;
	}
	for (p = start >> PAGE_SHIFT; p <= (end - 1) >> PAGE_SHIFT;) {
		struct pa_freed *f = freed_slot(pa, p << PAGE_SHIFT, set);
		uint64_t reg_end = ((p >> 9) + 1) << 9;

		if (!f) { /* nothing marked in this region */
			p = reg_end;
			continue;
		}
		for (; p <= (end - 1) >> PAGE_SHIFT && p < reg_end; p++) {
			if (set)
				f->bits[(p >> 6) & 7] |= 1ULL << (p & 63);
			else
				f->bits[(p >> 6) & 7] &= ~(1ULL << (p & 63));
		}
	}
}

static bool freed_test(struct peralloc *pa, uint64_t a)
{
	struct pa_freed *f = freed_slot(pa, a, false);
	uint64_t p = a >> PAGE_SHIFT;

	return f && (f->bits[(p >> 6) & 7] >> (p & 63) & 1);
}

/* Threads ------------------------------------------------------------------------------- */

static struct pa_thread *thread_get(struct peralloc *pa, uint32_t tid)
{
	uint64_t i;

	if ((pa->threads_n + 1) * 2 > pa->threads_cap) {
		uint64_t cap = pa->threads_cap ? pa->threads_cap * 2 : 64;
		struct pa_thread *n = calloc(cap, sizeof(*n)), *old = pa->threads;

		if (!n)
			return NULL;
		for (uint64_t k = 0; k < pa->threads_cap; k++) {
			if (!old[k].tid)
				continue;
			for (i = hash64(old[k].tid) & (cap - 1); n[i].tid; i = (i + 1) & (cap - 1))
				;
			n[i] = old[k];
		}
		free(old);
		pa->threads = n;
		pa->threads_cap = cap;
	}
	for (i = hash64(tid) & (pa->threads_cap - 1); pa->threads[i].tid;
	     i = (i + 1) & (pa->threads_cap - 1))
		if (pa->threads[i].tid == tid)
			return &pa->threads[i];
	pa->threads[i].tid = tid;
	pa->threads[i].work_site = NIL;
	pa->threads_n++;
	return &pa->threads[i];
}

/* Classification ------------------------------------------------------------------------- */

/*
 * The heap a block came from, as the mappings tell: the main heap (brk), a non-main
 * arena's heap (glibc maps those HEAP_MAX-aligned, HEAP_MAX long: the heap at that
 * address), or a chunk mmapped for the block alone.
 */
static uint64_t heap_of(struct peralloc *pa, uint64_t ptr)
{
	int r;

	if (ptr >= pa->heap_start && ptr < pa->heap_end)
		return PA_HEAP_MAIN;
	r = region_find(pa, ptr);
	if (r >= 0 && !(pa->regions[r].start & (GLIBC_ARENA_HEAP_MAX - 1)) &&
	    pa->regions[r].end - pa->regions[r].start == GLIBC_ARENA_HEAP_MAX)
		return pa->regions[r].start;
	return r >= 0 && pa->regions[r].type == R_ALLOC ? PA_HEAP_MMAP : PA_HEAP_UNKNOWN;
}

static void heap_count(struct peralloc *pa, struct pa_thread *th, uint64_t ptr)
{
	uint64_t heap = heap_of(pa, ptr);

	for (int i = 0; i < PA_THREAD_HEAPS; i++) {
		if (th->heaps[i].heap == heap || !th->heaps[i].allocs) {
			th->heaps[i].heap = heap;
			th->heaps[i].allocs++;
			return;
		}
	}
	th->heaps_other++;
}

static enum pa_kind region_kind(struct peralloc *pa, uint64_t a, bool header)
{
	int r = region_find(pa, a);
	int type = r >= 0 ? pa->regions[r].type : 0;

	if (header)
		return PA_META;
	if ((a >= pa->heap_start && a < pa->heap_end) || type == R_ALLOC)
		return freed_test(pa, a) ? PA_FREED : PA_META;
	if (type == R_STACK || (a >= pa->stack_lo && a < pa->stack_hi))
		return PA_STACK;
	if (type == R_ANON)
		return PA_ANON;
	return PA_OTHER;
}

static void count(struct pa_counts *c, uint16_t flags, bool fault, bool major)
{
	if (fault) {
		c->faults++;
		c->in_alloc_code += !!(flags & MS_FAULT_IN_ALLOC);
		c->kernel += !!(flags & MS_FAULT_KERNEL);
	}
	c->major += major;
}

/* A custom allocator's block [PTR, PTR + SIZE), before it is in the index: when a live
 * block of the malloc family holds it, that one is an arena, moved out of the live index. */
static void arena_note(struct peralloc *pa, uint64_t ptr, uint64_t size)
{
	struct pa_entry *x, saved;
	bool header;
	uint32_t e, moved;

	if (addr_index__lookup(&pa->arenas, ptr, 0, &header) != NIL)
		return;
	e = addr_index__lookup(&pa->live, ptr, 0, &header);
	if (e == NIL)
		return;
	x = entry_at(&pa->live, e);
	if (!(pa->sites[x->site].fn_mask & ((1u << MS_FN_CUSTOM) - 1)) ||
	    ptr + size > x->ptr + x->size)
		return; /* another custom block, or not inside */
	saved = *x;
	addr_index__remove(&pa->live, e);
	if (addr_index__insert(&pa->arenas, saved.ptr, saved.size, saved.site, &moved))
		pa->st.lost_nomem++;
	else
		entry_at(&pa->arenas, moved)->faults = saved.faults;
}

/* Charge a fault (FAULT) and/or a major fault (MAJOR) at A to what holds it now, or to
 * entry E when given. Returns the target for a later major-fault record. */
static int64_t charge(struct peralloc *pa, uint64_t a, uint16_t flags, bool fault, bool major,
		      uint32_t e)
{
	struct addr_index *ix = &pa->live;
	bool header = false, h;
	enum pa_kind k;

	if (e == NIL)
		e = addr_index__lookup(&pa->live, a, GLIBC_CHUNK_HDR, &header);
	if (e == NIL && pa->arenas.live && (e = addr_index__lookup(&pa->arenas, a, 0, &h)) != NIL)
		ix = &pa->arenas;
	if (e != NIL) {
		struct pa_entry *x = entry_at(ix, e);

		x->faults += fault && x->faults != UINT32_MAX;
		count(&pa->sites[x->site].f, flags, fault, major);
		count(&pa->st.kind[PA_IN_ALLOC], flags, fault, major);
		return x->site;
	}
	k = region_kind(pa, a, header);
	count(&pa->st.kind[k], flags, fault, major);
	return -(int64_t)k - 1;
}

static void charge_target(struct peralloc *pa, int64_t target, uint16_t flags)
{
	if (target >= 0) {
		count(&pa->sites[target].f, flags, false, true);
		count(&pa->st.kind[PA_IN_ALLOC], flags, false, true);
	} else {
		count(&pa->st.kind[-target - 1], flags, false, true);
	}
}

static void pending_flush(struct peralloc *pa, struct pa_thread *th, int n)
{
	for (int i = 0; i < n && i < th->npend; i++) {
		struct pa_pending *p = &th->pend[i];

		charge(pa, p->addr, p->flags, true, p->major, NIL);
	}
	if (n >= th->npend) {
		th->npend = 0;
	} else {
		memmove(th->pend, th->pend + n, (th->npend - n) * sizeof(th->pend[0]));
		th->npend -= n;
	}
}

/* Event handlers ------------------------------------------------------------------------- */

/*
 * A free of a block never seen allocated. Its allocation record was dropped, if the kernel
 * has dropped more allocation records than frees already put down to that (the drop
 * happened before the free: the pointer had to reach the freeing thread); else, attached
 * to a running process, it predates tracing; else glibc allocated it for itself without a
 * call through its entry points (the tcache, ld.so's early blocks).
 */
static void unknown_free(struct peralloc *pa)
{
	struct pa_stats *st = &pa->st;

	st->unknown_frees++;
	if (pa->lost_allocs && *pa->lost_allocs > st->unknown_records_lost)
		st->unknown_records_lost++;
	else if (pa->attached_late)
		st->unknown_before_tracing++;
	else
		st->unknown_allocator_internal++;
}

/* Live block E is freed. */
static void end_block(struct peralloc *pa, struct addr_index *ix, uint32_t e)
{
	struct pa_entry *x = entry_at(ix, e);

	pa->ended_site = x->site;
	pa->sites[x->site].frees++;
	site_account_end(pa, x);
	freed_mark(pa, x->ptr, x->ptr + x->size, true);
	addr_index__remove(ix, e);
}

/* PTR freed by function FN: the malloc family frees an arena before a custom block that
 * starts at the same address, a custom allocator the other way round. */
static void free_ptr(struct peralloc *pa, uint64_t ptr, int fn)
{
	uint32_t e = NIL;

	if (fn < MS_FN_CUSTOM && pa->arenas.live && (e = addr_index__find(&pa->arenas, ptr)) != NIL)
		end_block(pa, &pa->arenas, e);
	else if ((e = addr_index__find(&pa->live, ptr)) != NIL)
		end_block(pa, &pa->live, e);
	else if (pa->arenas.live && (e = addr_index__find(&pa->arenas, ptr)) != NIL)
		end_block(pa, &pa->arenas, e);
	else
		unknown_free(pa);
}

/* A pool is cleared or destroyed: every block allocated in it since its last clear ends
 * (those still live and from a pool allocator: one freed otherwise is another's now). */
static void pool_release(struct peralloc *pa, uint64_t pool, bool destroy)
{
	struct pool_blocks *b = pools__find(&pa->pools, pool);

	if (destroy)
		pa->st.pool_destroys++;
	else
		pa->st.pool_clears++;
	if (!b)
		return;
	for (uint32_t i = 0; i < b->n; i++) {
		uint32_t e = addr_index__find(&pa->live, b->ptr[i]);

		if (e != NIL && pa->sites[entry_at(&pa->live, e)->site].fn_mask & pa->pooled_fns) {
			pa->st.pool_frees++;
			end_block(pa, &pa->live, e);
		}
	}
	pools__clear(b);
}

/*
 * --unwind copy: a walk that ended inside its copy (at the program's entry, mostly) read
 * it up to SP + USED; the thread's frames end there (its first frames stay where they are
 * while it lives), so the kernel copies no further: the most any such walk of the thread
 * needed. A copy that proved too short makes the kernel copy all it may until a walk ends
 * inside its copy again.
 */
static void learn_copy_top(struct peralloc *pa, struct pa_thread *th, uint64_t sp,
			   enum ms_unwind_end end, size_t used)
{
	uint64_t top = 0;

	if (!pa->kops || !pa->kops->set_copy_top)
		return;
	if (end != MS_UNWIND_COPY) { /* the walk ended inside its copy: the rest went unread */
		if (sp + used > th->top_needed)
			th->top_needed = sp + used;
		top = th->top_needed;
	}
	if (top != th->copy_top) {
		pa->kops->set_copy_top(pa->kops->ctx, th->tid, top);
		th->copy_top = top;
		pa->st.copy_top_updates++;
	}
}

/* memstudy report: a recorded allocation, its frames as the trace unwound them. */
static int recorded_frames(struct peralloc *pa, const struct ms_event_alloc_stack *big, size_t size,
			   uint64_t *frames)
{
	const size_t at_frames = offsetof(struct ms_event_alloc_stack, frames);
	int n = big->nframes;
	enum ms_unwind_end end = big->end < MS_UNWIND_END_MAX ? big->end : MS_UNWIND_EXPRESSION;

	if ((size_t)n > (size - at_frames) / 8)
		n = (int)((size - at_frames) / 8);
	if (n > pa->stack_depth)
		n = pa->stack_depth;
	memcpy(frames, big->frames, n * sizeof(*frames));
	pa->st.unwound++;
	pa->st.unwind_end[end]++;
	pa->last_nframes = n;
	pa->last_end = end;
	return n;
}

/*
 * An allocation record that carries its stack: the frames the kernel walked, and where it
 * stopped for want of rows with a copy of the stack from there, the rest unwound here with
 * the same CFI.
 */
static int record_frames(struct peralloc *pa, struct pa_thread *th, const struct ms_event_alloc *ev,
			 size_t size, uint64_t *frames)
{
	const size_t at_frames = offsetof(struct ms_event_alloc_stack, frames),
		     at_stack = offsetof(struct ms_event_alloc_stack, stack);
	const struct ms_event_alloc_stack *big = (const void *)ev;
	enum ms_unwind_end end;
	int n, max = pa->stack_depth;
	size_t len, used = 0;

	pa->last_nframes = -1;
	if (ev->stack_id == MS_STACK_UNWOUND && size >= at_frames)
		return recorded_frames(pa, big, size, frames);
	if (ev->stack_id != MS_STACK_IN_RECORD || size < at_frames)
		return 0;
	n = big->nframes;
	if ((size_t)n > (size - at_frames) / 8) /* never past the record */
		n = (int)((size - at_frames) / 8);
	if (n > max)
		n = max;
	memcpy(frames, big->frames, n * sizeof(*frames));
	end = big->end < MS_UNWIND_END_MAX ? big->end : MS_UNWIND_EXPRESSION;
	if (n) { /* walked in the kernel: to the same end as a walk here */
		int kept = unwinder__trim_at_entry(pa->unwind, frames, n, &end);

		if (kept < n) {
			n = kept;
			goto done;
		}
	}
	if (big->stack_len && size > at_stack && n < max) {
		/* the copy starts at the frame the walk stopped at: frames[n - 1], or the caller */
		int from = n ? n - 1 : 0;

		len = size - at_stack < big->stack_len ? size - at_stack : big->stack_len;
		n = from + unwinder__walk(pa->unwind, big->pc, big->sp, big->bp, big->stack, len,
					  frames + from, max - from, &end, &used);
		pa->st.unwound_from_copy++;
		pa->st.copied_bytes += len;
		/* a copy from the caller's own frame (--unwind copy, or a kernel walk that could
		 * not take its first step) tells where the thread's frames end */
		if (big->nframes <= 1)
			learn_copy_top(pa, th, big->sp, end, used);
	}
done:
	pa->st.unwound++;
	pa->st.unwind_end[end]++;
	pa->last_nframes = n;
	pa->last_end = end;
	return n;
}

/* A recorded allocation whose stack's site is known already: that site (its stack's walk
 * counted as the first one's was); NIL when it is not known yet, or has no frames. */
static uint32_t recorded_hit(struct peralloc *pa, const struct ms_event_alloc_stack *big,
			     size_t size)
{
	uint32_t id = big->stack_len, site;
	enum ms_unwind_end end;

	if (size < offsetof(struct ms_event_alloc_stack, frames) || !big->nframes ||
	    id >= pa->recorded_cap || !pa->recorded_site[id])
		return NIL;
	site = pa->recorded_site[id] - 1;
	pa->sites[site].fn_mask |= 1u << big->a.fn;
	end = big->end < MS_UNWIND_END_MAX ? big->end : MS_UNWIND_EXPRESSION;
	pa->st.unwound++;
	pa->st.unwind_end[end]++;
	pa->last_nframes = -1;
	return site;
}

/* The site of a recorded stack: the same id, the same frames, so the same site (a stack
 * from the record, as it was while recording). */
static uint32_t recorded_site(struct peralloc *pa, const struct ms_event_alloc_stack *big,
			      const uint64_t *frames, int nframes)
{
	uint32_t id = big->stack_len, site;

	if (!nframes) /* no frames: a site by its caller, not by its stack */
		return site_get(pa, MS_STACK_IN_RECORD, big->a.caller, big->a.fn, frames, 0);
	if (id < pa->recorded_cap && pa->recorded_site[id]) {
		site = pa->recorded_site[id] - 1;
		pa->sites[site].fn_mask |= 1u << big->a.fn;
		return site;
	}
	site = site_get(pa, MS_STACK_IN_RECORD, big->a.caller, big->a.fn, frames, nframes);
	if (site == NIL)
		return NIL;
	if (id >= pa->recorded_cap) {
		uint64_t cap = pa->recorded_cap ? pa->recorded_cap : 1024;
		uint32_t *v;

		while (cap <= id)
			cap *= 2;
		v = realloc(pa->recorded_site, cap * sizeof(*v));
		if (!v)
			return site;
		memset(v + pa->recorded_cap, 0, (cap - pa->recorded_cap) * sizeof(*v));
		pa->recorded_site = v;
		pa->recorded_cap = cap;
	}
	pa->recorded_site[id] = site + 1;
	return site;
}

static void on_alloc(struct peralloc *pa, const struct ms_event_alloc *ev, size_t size)
{
	uint64_t *frames = pa->last_frames;
	struct pa_thread *th = thread_get(pa, ev->tid);
	uint32_t site, e = NIL;
	int i, o, nframes;

	if (!th) {
		pa->last_nframes = -1;
		pa->st.lost_nomem++;
		return;
	}
	/* memstudy report: a recorded stack seen before is its site; its frames not read */
	site = ev->stack_id == MS_STACK_UNWOUND ? recorded_hit(pa, (const void *)ev, size) : NIL;
	nframes = site == NIL ? record_frames(pa, th, ev, size, frames) : 0;
	th->in_free = false;
	/* realloc moved, or freed (size 0); an allocation's old_ptr is its pool */
	if (ev->old_ptr && ev->kind != MS_KIND_ALLOC && (ev->ptr || !ev->size))
		free_ptr(pa, ev->old_ptr, ev->fn);
	if (site == NIL && ev->stack_id == MS_STACK_UNWOUND)
		site = recorded_site(pa, (const struct ms_event_alloc_stack *)ev, frames, nframes);
	else if (site == NIL)
		site = site_get(pa, ev->stack_id, ev->caller, ev->fn, frames, nframes);
	pa->last_site = site;
	th->work_site = site; /* its kernel work, if any, comes next */
	th->work_seq = ev->seq;
	if (site == NIL) {
		pa->st.lost_nomem++;
		return;
	}
	pa->sites[site].allocs++;
	pa->sites[site].bytes += ev->size;
	pa->st.allocs++;
	if (!ev->ptr) {
		pa->sites[site].failed += ev->size != 0;
		pa->st.failed += ev->size != 0;
	} else {
		uint32_t old;

		if (ev->fn >= MS_FN_CUSTOM) /* inside a malloc'ed arena? */
			arena_note(pa, ev->ptr, ev->size);
		old = addr_index__find(&pa->live, ev->ptr);

		if (old != NIL) { /* its free record is still on its way (realloc race) */
			pa->st.reuse_conflicts++;
			site_account_end(pa, entry_at(&pa->live, old));
			addr_index__remove(&pa->live, old);
		}
		heap_count(pa, th, ev->ptr);
		if (addr_index__insert(&pa->live, ev->ptr, ev->size, site, &e)) {
			pa->st.lost_nomem++;
		} else if (ev->kind == MS_KIND_ALLOC && ev->old_ptr) {
			pa->pooled_fns |= 1u << ev->fn;
			if (pools__add(&pa->pools, ev->old_ptr, ev->ptr))
				pa->st.lost_nomem++;
		}
		if (e != NIL && pa->live.live > pa->st.live_max) {
			pa->st.live_max = pa->live.live;
			pa->st.index_bytes_at_max = index_bytes(pa);
		}
	}
	/* Faults this call took outside any live block: the new block's header and bytes, and
	 * the next chunk's header glibc writes right after it, belong to this allocation. */
	for (i = o = 0; i < th->npend; i++) {
		struct pa_pending *p = &th->pend[i];

		if (p->seq != ev->seq) {
			th->pend[o++] = *p;
			continue;
		}
		if (e != NIL && p->addr + GLIBC_CHUNK_HDR >= ev->ptr &&
		    p->addr < ev->ptr + ev->size + GLIBC_NEXT_HDR_END)
			charge(pa, p->addr, p->flags, true, p->major, e);
		else
			charge(pa, p->addr, p->flags, true, p->major, NIL);
	}
	th->npend = o;
	if (o)
		pending_flush(pa, th, o); /* from calls whose record never came */
}

static void on_free(struct peralloc *pa, const struct ms_event_free *ev)
{
	struct pa_thread *th = thread_get(pa, ev->tid);

	if (th) {
		pending_flush(pa, th, th->npend);
		th->in_free = true;
		th->free_seq = ev->seq;
	}
	if (ev->kind == MS_KIND_POOL_CLEAR || ev->kind == MS_KIND_POOL_DESTROY) {
		pool_release(pa, ev->ptr, ev->kind == MS_KIND_POOL_DESTROY);
		return;
	}
	pa->st.frees++;
	pa->ended_site = NIL;
	free_ptr(pa, ev->ptr, ev->fn);
	if (th) { /* the free's kernel work (munmap, a trim) is its block's site's */
		th->work_site = pa->ended_site;
		th->work_seq = ev->seq;
	}
}

static void on_kwork(struct peralloc *pa, const struct ms_event_kwork *ev)
{
	struct pa_thread *th = thread_get(pa, ev->tid);

	if (!th || th->work_site == NIL || th->work_seq != ev->seq || th->work_site >= pa->nsites) {
		pa->st.kwork_unmatched++;
		return;
	}
	pa->sites[th->work_site].kernel_ns += ev->sys_ns;
	pa->sites[th->work_site].kernel_syscalls += ev->syscalls;
}

static void on_fault(struct peralloc *pa, const struct ms_event_fault *ev)
{
	struct pa_thread *th = thread_get(pa, ev->tid);
	uint64_t page = ev->addr >> PAGE_SHIFT;
	bool header;

	if (!th) {
		pa->st.lost_nomem++;
		return;
	}
	if (ev->flags & MS_FAULT_MAJOR) {
		/* The fault's own record came first, from this thread: mark it major. */
		if (th->npend && th->pend[th->npend - 1].addr >> PAGE_SHIFT == page)
			th->pend[th->npend - 1].major = true;
		else if (th->last_page == page + 1)
			charge_target(pa, th->last_target,
				      th->last_in_alloc ? MS_FAULT_IN_ALLOC : 0);
		else
			charge(pa, ev->addr, ev->flags, false, true, NIL);
		th->last_page = 0;
		return;
	}
	th->last_page = page + 1;
	th->last_in_alloc = ev->flags & MS_FAULT_IN_ALLOC;
	if ((ev->flags & MS_FAULT_IN_ALLOC) && !(th->in_free && th->free_seq == ev->seq) &&
	    addr_index__lookup(&pa->live, ev->addr, GLIBC_CHUNK_HDR, &header) == NIL) {
		/* inside malloc & co., not in a live block: wait for the call's own record */
		if (th->npend == PENDING_MAX) {
			pa->st.pending_overflow++;
			pending_flush(pa, th, 1);
		}
		th->pend[th->npend++] = (struct pa_pending){ev->addr, ev->seq, ev->flags, false};
		th->last_page = 0; /* a major record finds it among the pending */
		return;
	}
	th->last_target = charge(pa, ev->addr, ev->flags, true, false, NIL);
	if (th->last_target == -(int64_t)PA_FREED - 1 && !(ev->flags & MS_FAULT_IN_ALLOC)) {
		/* the program touched memory it had freed, after its page was given back */
		if (pa->nfreed_touch < PA_FREED_TOUCH_MAX)
			pa->freed_touch[pa->nfreed_touch] =
			    (struct pa_freed_touch){ev->addr, ev->ip, ev->ts_ns, ev->tid};
		pa->nfreed_touch++;
	}
}

static void on_map(struct peralloc *pa, const struct ms_event_map *ev)
{
	uint64_t len = (ev->len + PAGE_SZ - 1) & ~(PAGE_SZ - 1);
	int type, r;

	switch (ev->sys) {
	case MS_SYS_BRK:
		pa->heap_start = ev->old_len;
		if (ev->addr < ev->old_addr)
			freed_mark(pa, ev->addr, ev->old_addr, false);
		pa->heap_end = ev->addr;
		break;
	case MS_SYS_MMAP:
		if (!(ev->flags & MAP_ANONYMOUS)) {
			type = R_FILE;
			if (ev->prot & PROT_EXEC)
				pa->cm->dirty = true;
		} else {
			type = ev->in_alloc ? R_ALLOC : (ev->flags & MAP_STACK) ? R_STACK : R_ANON;
		}
		freed_mark(pa, ev->addr, ev->addr + len, false);
		region_set(pa, ev->addr, ev->addr + len, type);
		break;
	case MS_SYS_MUNMAP:
		freed_mark(pa, ev->addr, ev->addr + len, false);
		region_remove(pa, ev->addr, ev->addr + len);
		break;
	case MS_SYS_MREMAP:
		r = region_find(pa, ev->old_addr);
		type = r >= 0 ? pa->regions[r].type : R_ANON;
		freed_mark(pa, ev->old_addr,
			   ev->old_addr + ((ev->old_len + PAGE_SZ - 1) & ~(PAGE_SZ - 1)), false);
		region_remove(pa, ev->old_addr,
			      ev->old_addr + ((ev->old_len + PAGE_SZ - 1) & ~(PAGE_SZ - 1)));
		freed_mark(pa, ev->addr, ev->addr + len, false);
		region_set(pa, ev->addr, ev->addr + len, type);
		break;
	}
}

void peralloc__event(struct peralloc *pa, const void *data, size_t size)
{
	uint32_t type = *(const uint32_t *)data;

	pa->st.events++;
	switch (type) {
	case MS_EV_ALLOC:
		on_alloc(pa, data, size);
		break;
	case MS_EV_FREE:
		on_free(pa, data);
		break;
	case MS_EV_FAULT:
		on_fault(pa, data);
		return; /* faults do not trigger the first module read (pre-exec faults) */
	case MS_EV_MAP:
		on_map(pa, data);
		break;
	case MS_EV_KWORK:
		on_kwork(pa, data);
		return;
	}
	if (!pa->cm->read)
		pa->cm->dirty = true;
}

/* Copy the live blocks of index FROM into TO under SITE; their functions into *MASK. */
static void inherit_index(struct peralloc *pa, struct addr_index *to, struct peralloc *parent,
			  struct addr_index *from, uint32_t site, uint32_t *mask)
{
	uint32_t e, n;

	for (uint64_t cur = 0; (e = addr_index__next(from, &cur)) != NIL;) {
		const struct pa_entry *x = entry_at(from, e);

		if (addr_index__insert(to, x->ptr, x->size, site, &n)) {
			pa->st.lost_nomem++;
			continue;
		}
		*mask |= parent->sites[x->site].fn_mask;
		pa->sites[site].allocs++;
		pa->sites[site].bytes += x->size;
	}
}

void peralloc__inherit(struct peralloc *pa, struct peralloc *parent, pid_t ppid)
{
	uint32_t site = site_get(pa, MS_STACK_NO_FP, 0, 0, NULL, 0), mask = 0;

	if (site == NIL) {
		pa->st.lost_nomem++;
		return;
	}
	pa->sites[site].inherited_from = ppid;
	inherit_index(pa, &pa->live, parent, &parent->live, site, &mask);
	inherit_index(pa, &pa->arenas, parent, &parent->arenas, site, &mask);
	pa->sites[site].fn_mask = mask;
	pa->st.inherited = pa->sites[site].allocs;
	if (pools__copy(&pa->pools, &parent->pools))
		pa->st.lost_nomem++;
	pa->pooled_fns = parent->pooled_fns | (parent->pooled_fns ? mask : 0);
	/* the same memory layout: heap, stack, mappings, freed pages */
	pa->heap_start = parent->heap_start;
	pa->heap_end = parent->heap_end;
	pa->stack_lo = parent->stack_lo;
	pa->stack_hi = parent->stack_hi;
	if (parent->nregions && !region_reserve(pa, parent->nregions)) {
		memcpy(pa->regions, parent->regions, parent->nregions * sizeof(*pa->regions));
		pa->nregions = parent->nregions;
	}
	if (parent->freed_cap && (pa->freed = calloc(parent->freed_cap, sizeof(*pa->freed)))) {
		memcpy(pa->freed, parent->freed, parent->freed_cap * sizeof(*pa->freed));
		pa->freed_cap = parent->freed_cap;
		pa->freed_n = parent->freed_n;
	}
}

/* Modules and the initial layout, from /proc/PID/maps ------------------------------------ */

/* A line of /proc/PID/maps that is not code: where the heap and the main stack are. */
static void layout_line(void *ctx, uint64_t start, uint64_t end, const char *file)
{
	struct peralloc *pa = ctx;

	if (!strcmp(file, "[heap]") && !pa->heap_end) {
		pa->heap_start = start;
		pa->heap_end = end;
	} else if (!strcmp(file, "[stack]")) {
		/* the main stack grows down into what the rlimit allows (8 MiB default;
		 * 64 MiB is well below the mmap base) */
		pa->stack_hi = end;
		pa->stack_lo = end > (64ULL << 20) ? end - (64ULL << 20) : 0;
	}
}

void peralloc__refresh_modules(struct peralloc *pa, bool force)
{
	codemap__refresh(pa->cm, force);
}

struct peralloc *peralloc__new(pid_t pid, bool attached_late, struct codemap *cm)
{
	struct peralloc *pa = calloc(1, sizeof(*pa));

	if (!pa)
		return NULL;
	pa->pid = pid;
	pa->attached_late = attached_late;
	addr_index__init(&pa->live);
	addr_index__init(&pa->arenas);
	pa->own_cm = !cm;
	pa->cm = cm ? cm : codemap__new(pid);
	if (!pa->cm) {
		free(pa);
		return NULL;
	}
	peralloc__set_codemap(pa, pa->cm);
	pa->stack_depth = MS_STACK_DEPTH;
	for (int f = 0; f < MS_FN_MAX; f++) /* the built-in table until told the target's */
		pa->fn_names[f] = f < MS_FN_COUNT ? ms_fn_names[f] : NULL;
	return pa;
}

void peralloc__set_codemap(struct peralloc *pa, struct codemap *cm)
{
	pa->cm = cm;
	/* every read of the maps, whoever asks for it, tells us the heap and the stack (a
	 * forked child sharing its parent's map has its layout from the fork) */
	if (!cm->layout) {
		cm->layout = layout_line;
		cm->layout_ctx = pa;
	}
	pa->sym = cm->sym;
	pa->unwind = cm->unwind;
}

void peralloc__set_fn_names(struct peralloc *pa, const char *const *names)
{
	memcpy(pa->fn_names, names, sizeof(pa->fn_names));
}

const char *peralloc__fn_name(const struct peralloc *pa, int fn)
{
	return fn >= 0 && fn < MS_FN_MAX ? pa->fn_names[fn] : NULL;
}

void peralloc__free(struct peralloc *pa)
{
	if (!pa)
		return;
	addr_index__free(&pa->live);
	addr_index__free(&pa->arenas);
	free(pa->sites);
	free(pa->site_slot);
	free(pa->recorded_site);
	free(pa->regions);
	free(pa->freed);
	free(pa->threads);
	pools__free(&pa->pools);
	if (pa->cm->layout_ctx == pa)
		pa->cm->layout = NULL;
	if (pa->own_cm)
		codemap__free(pa->cm);
	free(pa);
}

void peralloc__set_kernel_unwind(struct peralloc *pa, const struct unwind_kernel_ops *ops)
{
	pa->kops = ops;
	if (ops->add_rows)
		unwinder__set_kernel(pa->unwind, ops);
}

void peralloc__set_stack_depth(struct peralloc *pa, int depth)
{
	pa->stack_depth = depth < 1 ? 1 : depth > MS_STACK_DEPTH ? MS_STACK_DEPTH : depth;
}

static uint64_t peak_rss_kb(void)
{
	char buf[4096], *p;

	if (read_file("/proc/self/status", buf, sizeof(buf)) <= 0)
		return 0;
	p = strstr(buf, "VmHWM:");
	return p ? strtoull(p + 6, NULL, 10) : 0;
}

/* Sites by symbols --------------------------------------------------------------------- */

/* Functions that only pass an allocation on: a site is named after its first other frame.
 * (docs/per-allocation.md lists them; --wrapper adds more.) */
static const char *const default_wrappers[] = {
    "operator new",	"operator delete",    "xmalloc",
    "xcalloc",		"xrealloc",	      "xstrdup",
    "xmemdupz",		"xstrndup",	      "g_malloc",
    "g_malloc0",	"g_realloc",	      "g_try_malloc",
    "PyMem_RawMalloc",	"PyMem_RawCalloc",    "PyMem_RawRealloc",
    "PyMem_Malloc",	"PyMem_Calloc",	      "PyMem_Realloc",
    "PyObject_Malloc",	"_PyObject_Malloc",   "PyObject_Calloc",
    "PyObject_Realloc", "_PyMem_RawMalloc",   "_PyMem_RawRealloc",
    "__libc_malloc",	"__GI___libc_malloc",
};

/* NAME is WRAPPER, or WRAPPER's overload, array form or specialisation: "operator
 * new(unsigned long)", "operator new[](unsigned long)" */
static bool name_is(const char *name, const char *wrapper)
{
	size_t n = strlen(wrapper);

	return !strncmp(name, wrapper, n) &&
	       (!name[n] || name[n] == '(' || name[n] == '[' || name[n] == '<' || name[n] == '@');
}

static bool is_wrapper(const struct peralloc *pa, const char *fn)
{
	if (!fn)
		return false;
	for (size_t i = 0; i < sizeof(default_wrappers) / sizeof(default_wrappers[0]); i++)
		if (name_is(fn, default_wrappers[i]))
			return true;
	for (int i = 0; i < pa->nwrappers; i++)
		if (name_is(fn, pa->wrappers[i]))
			return true;
	return false;
}

int peralloc__title_frame(struct peralloc *pa, const struct pa_site *s)
{
	for (int f = 0; f < s->nframes; f++)
		if (!is_wrapper(pa, s->sym[f].function))
			return f;
	return 0;
}

void peralloc__add_wrapper(struct peralloc *pa, const char *name)
{
	if (pa->nwrappers < PERALLOC_WRAPPERS_MAX)
		pa->wrappers[pa->nwrappers++] = name;
}

void peralloc__set_sites_by_address(struct peralloc *pa, bool by_address)
{
	pa->sites_by_address = by_address;
}

/* What makes two sites one: each frame's function, file and line (or module and offset
 * where there is no name), and the stack's depth. */
static char *symbol_key(const struct pa_site *s)
{
	size_t cap = 256, len = 0;
	char *k = malloc(cap);

	if (!k)
		return NULL;
	k[0] = '\0';
	for (int f = 0; f < s->nframes; f++) {
		const struct sym_info *si = &s->sym[f];
		char one[1024];
		int n;

		if (si->function)
			n = snprintf(one, sizeof(one), "%s\x1f%s\x1f%d\x1e", si->function,
				     si->file ? si->file : "", si->line);
		else
			n = snprintf(
			    one, sizeof(one), "%s+%llx\x1e", si->module ? si->module : "?",
			    (unsigned long long)(si->module ? si->module_offset : s->frames[f]));
		if (n < 0)
			continue;
		if ((size_t)n >= sizeof(one))
			n = sizeof(one) - 1;
		if (len + n + 1 > cap) {
			char *g = realloc(k, cap = 2 * (len + n + 1));

			if (!g) {
				free(k);
				return NULL;
			}
			k = g;
		}
		memcpy(k + len, one, n + 1);
		len += n;
	}
	return k;
}

struct site_key_ref {
	char *key;
	uint32_t site;
};

static int key_cmp(const void *a, const void *b)
{
	const struct site_key_ref *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : x->site < y->site ? -1 : x->site > y->site;
}

/* Fold site FROM's counts into INTO. */
static void site_merge(struct pa_site *into, struct pa_site *from)
{
	into->fn_mask |= from->fn_mask;
	into->allocs += from->allocs;
	into->bytes += from->bytes;
	into->frees += from->frees;
	into->failed += from->failed;
	into->f.faults += from->f.faults;
	into->f.in_alloc_code += from->f.in_alloc_code;
	into->f.kernel += from->f.kernel;
	into->f.major += from->f.major;
	for (int k = 0; k < PA_HIST; k++)
		into->hist[k] += from->hist[k];
	if (from->max_faults > into->max_faults)
		into->max_faults = from->max_faults;
	into->live_blocks += from->live_blocks;
	into->live_bytes += from->live_bytes;
	into->live_faults += from->live_faults;
	into->kernel_ns += from->kernel_ns;
	into->kernel_syscalls += from->kernel_syscalls;
	if (into->stack_id < 0 && from->stack_id >= 0)
		into->stack_id = from->stack_id;
	memset(&from->allocs, 0,
	       offsetof(struct pa_site, merged_into) - offsetof(struct pa_site, allocs));
}

/* Sites whose frames read the same are one: the first of them keeps the counts. */
static void merge_sites_by_symbols(struct peralloc *pa)
{
	struct site_key_ref *v = calloc(pa->nsites ? pa->nsites : 1, sizeof(*v));
	uint32_t n = 0;

	if (!v)
		return; /* unmerged: more rows, nothing wrong */
	for (uint32_t i = 0; i < pa->nsites; i++)
		if (pa->sites[i].nframes && (v[n].key = symbol_key(&pa->sites[i])))
			v[n++].site = i;
	qsort(v, n, sizeof(*v), key_cmp);
	for (uint32_t i = 1; i < n; i++) {
		uint32_t prev = v[i - 1].site, first;

		if (strcmp(v[i].key, v[i - 1].key))
			continue;
		/* sorted by site within a key: the run's first site is unmerged */
		first = pa->sites[prev].merged_into != NIL ? pa->sites[prev].merged_into : prev;
		site_merge(&pa->sites[first], &pa->sites[v[i].site]);
		pa->sites[v[i].site].merged_into = first;
		pa->st.sites_merged++;
	}
	for (uint32_t i = 0; i < n; i++)
		free(v[i].key);
	free(v);
}

/*
 * SITE's frames from the N return addresses in IPS, symbolized, with the functions DWARF
 * says were inlined at each one as frames of their own (marked inlined). STOP_AT_UNKNOWN:
 * a frame past the first in no code mapping ends the stack.
 */
static void symbolize_site(struct peralloc *pa, struct pa_site *site, const uint64_t *ips, int n,
			   bool stop_at_unknown)
{
	struct sym_info one[MS_STACK_DEPTH];
	uint64_t phys[MS_STACK_DEPTH];
	int out = 0;

	memcpy(phys, ips, n * sizeof(*phys)); /* IPS may be SITE's own frames, rewritten below */
	for (int f = 0; f < n && out < MS_STACK_DEPTH; f++) {
		int k = symbolize__frames(pa->sym, phys[f], true, one, MS_STACK_DEPTH - out);

		if (stop_at_unknown && f && !one[k - 1].module)
			break;
		for (int j = 0; j < k; j++) {
			site->frames[out] = phys[f];
			site->sym[out++] = one[j];
		}
	}
	site->nframes = out;
}

void peralloc__finish(struct peralloc *pa, int stack_fd, uint64_t stack_errors,
		      const uint64_t lost_records[MS_EV_TYPES], uint64_t thread_state_lost)
{
	uint64_t i;
	uint32_t e;

	memcpy(pa->st.lost_records, lost_records, sizeof(pa->st.lost_records));
	pa->st.lost_thread_state = thread_state_lost;
	for (i = 0; i < pa->threads_cap; i++)
		if (pa->threads[i].tid)
			pending_flush(pa, &pa->threads[i], pa->threads[i].npend);
	/* allocations still live: their fault counts go into the distributions too */
	pa->st.live_at_end = pa->live.live + pa->arenas.live;
	pa->st.index_bytes_peak = index_bytes(pa);
	for (uint64_t cur = 0; (e = addr_index__next(&pa->live, &cur)) != NIL;)
		site_account_live(pa, entry_at(&pa->live, e));
	for (uint64_t cur = 0; (e = addr_index__next(&pa->arenas, &cur)) != NIL;)
		site_account_live(pa, entry_at(&pa->arenas, e));
	pa->st.stack_errors = stack_errors;
	pa->st.kernel_unwind = *unwinder__kernel_stats(pa->unwind);
	pa->st.module_refreshes = pa->cm->st.refreshes;
	pa->st.modules_from_kernel = pa->cm->st.modules_from_kernel;
	pa->st.modules_unnamed = pa->cm->st.modules_unnamed;
	pa->st.peak_rss_kb = peak_rss_kb();
	for (uint32_t s = 0; s < pa->nsites; s++) {
		struct pa_site *site = &pa->sites[s];
		uint64_t ips[MS_STACK_DEPTH] = {};
		int n = 0;

		if (site->inherited_from || site->named)
			continue; /* no stack: allocated in the parent, before the fork */
		if (site->stack_id == MS_STACK_IN_RECORD && site->nframes) {
			/* unwound from the record: every frame is a real return address */
			symbolize_site(pa, site, site->frames, site->nframes, false);
			continue;
		}
		if (site->stack_id >= 0 &&
		    (pa->stack_lookup
			 ? pa->stack_lookup(pa->stack_lookup_ctx, site->stack_id, ips)
			 : stack_fd >= 0 && !bpf_map_lookup_elem(stack_fd, &site->stack_id, ips))) {
			while (n < MS_STACK_DEPTH && ips[n])
				n++;
		}
		if (!n) { /* no stack stored: the caller alone */
			ips[0] = site->caller;
			n = 1;
		}
		/* past the caller, a frame in no code mapping means the frame-pointer walk
		 * followed a register that was not a frame pointer: the rest is noise */
		symbolize_site(pa, site, ips, n, true);
	}
	if (!pa->sites_by_address)
		merge_sites_by_symbols(pa);
}

bool peralloc__describe_addr(struct peralloc *pa, uint64_t addr, char *buf, size_t size)
{
	bool header;
	uint32_t e = addr_index__lookup(&pa->live, addr, GLIBC_CHUNK_HDR, &header), site;

	if (e == NIL || entry_at(&pa->live, e)->site >= pa->nsites)
		return false;
	site = entry_at(&pa->live, e)->site;
	if (pa->sites[site].merged_into != NIL)
		site = pa->sites[site].merged_into;
	return peralloc__describe_site(pa, site, entry_at(&pa->live, e)->size, buf, size);
}

void peralloc__watch_lost_allocs(struct peralloc *pa, const volatile uint64_t *count)
{
	pa->lost_allocs = count;
}

void peralloc__name_sites(struct peralloc *pa)
{
	for (uint32_t s = 0; s < pa->nsites; s++) {
		struct pa_site *site = &pa->sites[s];

		if (site->inherited_from || site->named || site->stack_id != MS_STACK_IN_RECORD ||
		    !site->nframes)
			continue; /* named at the end, from the stack map or the caller */
		symbolize_site(pa, site, site->frames, site->nframes, false);
		site->named = true;
	}
}

void peralloc__exec(struct peralloc *pa)
{
	uint32_t e;

	/* the old image's memory is gone: its live blocks end here, unfreed */
	for (uint64_t cur = 0; (e = addr_index__next(&pa->live, &cur)) != NIL;) {
		site_account_end(pa, entry_at(&pa->live, e));
		pa->st.ended_by_exec++;
	}
	for (uint64_t cur = 0; (e = addr_index__next(&pa->arenas, &cur)) != NIL;) {
		site_account_end(pa, entry_at(&pa->arenas, e));
		pa->st.ended_by_exec++;
	}
	addr_index__free(&pa->live);
	addr_index__free(&pa->arenas);
	pools__reset(&pa->pools);
	codemap__exec(pa->cm);
	pa->nregions = 0;
	pa->heap_start = pa->heap_end = pa->stack_lo = pa->stack_hi = 0;
	for (uint64_t i = 0; i < pa->freed_cap; i++)
		pa->freed[i] = (struct pa_freed){0};
	pa->freed_n = 0;
}

int peralloc__last_stack(const struct peralloc *pa, const uint64_t **frames,
			 enum ms_unwind_end *end, uint32_t *site)
{
	*frames = pa->last_frames;
	*end = pa->last_end;
	*site = pa->last_site;
	return pa->last_nframes;
}

void peralloc__set_stack_lookup(struct peralloc *pa,
				bool (*lookup)(void *ctx, int32_t id, uint64_t *ips), void *ctx)
{
	pa->stack_lookup = lookup;
	pa->stack_lookup_ctx = ctx;
}

void peralloc__recorded(const struct peralloc *pa, struct pa_recorded *r)
{
	r->unwound_from_copy = pa->st.unwound_from_copy;
	r->copied_bytes = pa->st.copied_bytes;
	r->copy_top_updates = pa->st.copy_top_updates;
	r->peak_rss_kb = pa->st.peak_rss_kb;
	r->kernel_unwind = pa->st.kernel_unwind;
}

void peralloc__set_recorded(struct peralloc *pa, const struct pa_recorded *r)
{
	pa->st.unwound_from_copy = r->unwound_from_copy;
	pa->st.copied_bytes = r->copied_bytes;
	pa->st.copy_top_updates = r->copy_top_updates;
	pa->st.peak_rss_kb = r->peak_rss_kb;
	pa->st.kernel_unwind = r->kernel_unwind;
}

uint64_t peralloc__lost(const struct peralloc *pa)
{
	return pa->st.lost_nomem;
}

uint64_t peralloc__events(const struct peralloc *pa)
{
	return pa->st.events;
}

const struct pa_freed_touch *peralloc__freed_touches(const struct peralloc *pa, uint64_t *n)
{
	*n = pa->nfreed_touch;
	return pa->freed_touch;
}

struct codemap *peralloc__codemap(const struct peralloc *pa)
{
	return pa->cm;
}

uint64_t peralloc__live_bytes(const struct peralloc *pa)
{
	return pa->live.live_bytes + pa->arenas.live_bytes;
}

uint64_t peralloc__allocator_mapped(struct peralloc *pa)
{
	uint64_t heap = pa->heap_end > pa->heap_start ? pa->heap_end - pa->heap_start : 0;

	return heap + peralloc__bytes_mapped_in_alloc(pa, 0, UINT64_MAX);
}

bool peralloc__mapping(const struct peralloc *pa, int i, struct pa_mapping *m)
{
	static const enum pa_map_kind kinds[] = {
	    [R_ALLOC] = PA_MAP_ALLOCATOR,
	    [R_STACK] = PA_MAP_STACK,
	    [R_ANON] = PA_MAP_ANON,
	    [R_FILE] = PA_MAP_FILE,
	};
	bool heap = pa->heap_end > pa->heap_start;
	int at = 0;

	/* the regions, with the heap in its place among them */
	for (int r = 0; r <= pa->nregions; r++) {
		bool heap_here =
		    heap && (r == pa->nregions || pa->regions[r].start >= pa->heap_end);

		if (heap_here) {
			if (at++ == i) {
				*m = (struct pa_mapping){pa->heap_start, pa->heap_end, PA_MAP_HEAP};
				return true;
			}
			heap = false;
		}
		if (r < pa->nregions && at++ == i) {
			const struct pa_region *x = &pa->regions[r];

			*m = (struct pa_mapping){x->start, x->end, kinds[x->type]};
			return true;
		}
	}
	return false;
}

uint64_t peralloc__bytes_mapped_in_alloc(struct peralloc *pa, uint64_t start, uint64_t end)
{
	uint64_t bytes = 0;

	/* regions are sorted and disjoint: from the one holding START, or the next */
	for (int i = 0; i < pa->nregions; i++) {
		const struct pa_region *r = &pa->regions[i];

		if (r->end <= start || r->type != R_ALLOC)
			continue;
		if (r->start >= end)
			break;
		bytes += (r->end < end ? r->end : end) - (r->start > start ? r->start : start);
	}
	return bytes;
}

int peralloc__thread_heaps(struct peralloc *pa, uint64_t i, uint32_t *tid,
			   const struct pa_heap_use **heaps, uint64_t *other)
{
	const struct pa_thread *th;

	if (i >= pa->threads_cap)
		return -1;
	th = &pa->threads[i];
	*tid = th->tid;
	*heaps = th->heaps;
	*other = th->heaps_other;
	return th->tid ? PA_THREAD_HEAPS : 0;
}

uint32_t peralloc__nsites(struct peralloc *pa)
{
	return pa->nsites;
}

struct pa_site *peralloc__site(struct peralloc *pa, uint32_t i)
{
	return &pa->sites[i];
}

const struct pa_stats *peralloc__stats(struct peralloc *pa)
{
	return &pa->st;
}
