// SPDX-License-Identifier: GPL-2.0
/*
 * The live-allocation index (addr_index.h), for 10 million allocations and more at ~40
 * bytes each:
 *   entries  a pool of 32-byte records (ptr, size, site, faults, two links), in 1M blocks
 *            so growing never copies;
 *   by_ptr   open addressing, linear probing, u32 slots naming an entry: free() lookups;
 *   by_page  the same, keyed by the page of ptr, naming the head of a doubly linked list of
 *            the small allocations (< 1 page) starting in that page. A small allocation holding
 *            address A starts in page(A) or the page before: two short lists to walk;
 *   large    allocations of a page or more, in a treap by ptr (the links double as the
 *            children): the one holding A is the greatest ptr <= A.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "analyse/addr_index.h"

#define PAGE_SHIFT 12
#define PAGE_SZ	   (1ULL << PAGE_SHIFT)

static uint32_t entry_new(struct addr_index *ix)
{
	uint32_t i;

	if (ix->free_list != ADDR_NIL) {
		i = ix->free_list;
		ix->free_list = entry_at(ix, i)->next;
		return i;
	}
	if (ix->used == ix->nblocks * ADDR_BLOCK_ENTRIES) {
		struct pa_entry **b = realloc(ix->blocks, (ix->nblocks + 1) * sizeof(*b));

		if (!b)
			return ADDR_NIL;
		ix->blocks = b;
		/* mmap: untouched entries cost no memory, and freeing gives it back */
		b[ix->nblocks] = mmap(NULL, ADDR_BLOCK_ENTRIES * sizeof(struct pa_entry),
				      PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (b[ix->nblocks] == MAP_FAILED)
			return ADDR_NIL;
		ix->nblocks++;
	}
	return ix->used++;
}

static void entry_put(struct addr_index *ix, uint32_t i)
{
	entry_at(ix, i)->next = ix->free_list;
	ix->free_list = i;
}

/* Hashes of entries by key (ptr >> shift) --------------------------------------------- */

static inline uint64_t ih_home(const struct pa_ihash *h, uint64_t key)
{
	return hash64(key) & (h->cap - 1);
}

/* Slot position holding KEY, or -1. */
static int64_t ih_find(struct addr_index *ix, struct pa_ihash *h, uint64_t key)
{
	uint64_t i;

	if (!h->cap)
		return -1;
	for (i = ih_home(h, key); h->slot[i]; i = (i + 1) & (h->cap - 1))
		if (entry_at(ix, h->slot[i] - 1)->ptr >> h->shift == key)
			return i;
	return -1;
}

static int ih_grow(struct addr_index *ix, struct pa_ihash *h)
{
	uint64_t cap = h->cap ? h->cap * 2 : 1 << 16, oldcap = h->cap, i, j;
	uint32_t *old = h->slot, *s = calloc(cap, sizeof(*s));

	if (!s)
		return -1;
	h->slot = s;
	h->cap = cap;
	for (i = 0; i < oldcap; i++) {
		if (!old[i])
			continue;
		for (j = ih_home(h, entry_at(ix, old[i] - 1)->ptr >> h->shift); s[j];
		     j = (j + 1) & (cap - 1))
			;
		s[j] = old[i];
	}
	free(old);
	return 0;
}

/* KEY must not be present. */
static int ih_insert(struct addr_index *ix, struct pa_ihash *h, uint32_t entry)
{
	uint64_t i;

	/* at most 3/4 full: ~1.5 probes a lookup, 5.3 bytes a live allocation */
	if ((h->n + 1) * 4 > h->cap * 3 && ih_grow(ix, h))
		return -1;
	for (i = ih_home(h, entry_at(ix, entry)->ptr >> h->shift); h->slot[i];
	     i = (i + 1) & (h->cap - 1))
		;
	h->slot[i] = entry + 1;
	h->n++;
	return 0;
}

/* Backward-shift deletion: no tombstones, so probe lengths stay short under churn. */
static void ih_delete_at(struct addr_index *ix, struct pa_ihash *h, uint64_t i)
{
	uint64_t j = i, k, m = h->cap - 1;

	for (;;) {
		j = (j + 1) & m;
		if (!h->slot[j])
			break;
		k = ih_home(h, entry_at(ix, h->slot[j] - 1)->ptr >> h->shift);
		/* move slot j to the hole at i when its home is not in (i, j] (cyclically) */
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			h->slot[i] = h->slot[j];
			i = j;
		}
	}
	h->slot[i] = 0;
	h->n--;
}

/* Treap of large allocations ------------------------------------------------------------ */

static inline uint64_t prio(struct addr_index *ix, uint32_t t)
{
	return hash64(entry_at(ix, t)->ptr ^ 0x5bd1e995);
}

static uint32_t treap_merge(struct addr_index *ix, uint32_t a, uint32_t b)
{
	if (a == ADDR_NIL)
		return b;
	if (b == ADDR_NIL)
		return a;
	if (prio(ix, a) > prio(ix, b)) {
		entry_at(ix, a)->prev = treap_merge(ix, entry_at(ix, a)->prev, b);
		return a;
	}
	entry_at(ix, b)->next = treap_merge(ix, a, entry_at(ix, b)->next);
	return b;
}

/* next = left child, prev = right child. L gets ptr < KEY. */
static void treap_split(struct addr_index *ix, uint32_t t, uint64_t key, uint32_t *l, uint32_t *r)
{
	if (t == ADDR_NIL) {
		*l = *r = ADDR_NIL;
	} else if (entry_at(ix, t)->ptr < key) {
		treap_split(ix, entry_at(ix, t)->prev, key, &entry_at(ix, t)->prev, r);
		*l = t;
	} else {
		treap_split(ix, entry_at(ix, t)->next, key, l, &entry_at(ix, t)->next);
		*r = t;
	}
}

static void treap_insert(struct addr_index *ix, uint32_t e)
{
	uint32_t l, r;

	entry_at(ix, e)->next = entry_at(ix, e)->prev = ADDR_NIL;
	treap_split(ix, ix->large_root, entry_at(ix, e)->ptr, &l, &r);
	ix->large_root = treap_merge(ix, treap_merge(ix, l, e), r);
}

static void treap_erase(struct addr_index *ix, uint64_t ptr)
{
	uint32_t l, m, r;

	treap_split(ix, ix->large_root, ptr, &l, &r);
	treap_split(ix, r, ptr + 1, &m, &r);
	ix->large_root = treap_merge(ix, l, r);
}

/* The large allocation with the greatest ptr <= A, or ADDR_NIL. */
static uint32_t treap_floor(struct addr_index *ix, uint64_t a)
{
	uint32_t t = ix->large_root, best = ADDR_NIL;

	while (t != ADDR_NIL) {
		if (entry_at(ix, t)->ptr <= a) {
			best = t;
			t = entry_at(ix, t)->prev;
		} else {
			t = entry_at(ix, t)->next;
		}
	}
	return best;
}

/* The index ------------------------------------------------------------------------ */

static inline bool is_large(uint64_t size)
{
	return size >= PAGE_SZ;
}

int addr_index__insert(struct addr_index *ix, uint64_t ptr, uint64_t size, uint32_t site,
		       uint32_t *out)
{
	uint32_t e = entry_new(ix);
	struct pa_entry *x;
	int64_t at;

	if (e == ADDR_NIL)
		return -1;
	x = entry_at(ix, e);
	*x = (struct pa_entry){
	    .ptr = ptr, .size = size, .site = site, .next = ADDR_NIL, .prev = ADDR_NIL};
	if (ih_insert(ix, &ix->by_ptr, e)) {
		entry_put(ix, e);
		return -1;
	}
	if (is_large(size)) {
		treap_insert(ix, e);
	} else if ((at = ih_find(ix, &ix->by_page, ptr >> PAGE_SHIFT)) >= 0) {
		uint32_t head = ix->by_page.slot[at] - 1;

		x->next = head;
		entry_at(ix, head)->prev = e;
		ix->by_page.slot[at] = e + 1; /* new head: same page, same hash position */
	} else if (ih_insert(ix, &ix->by_page, e)) {
		ih_delete_at(ix, &ix->by_ptr, ih_find(ix, &ix->by_ptr, ptr));
		entry_put(ix, e);
		return -1;
	}
	*out = e;
	ix->live++;
	return 0;
}

void addr_index__remove(struct addr_index *ix, uint32_t e)
{
	struct pa_entry *x = entry_at(ix, e);
	int64_t at = ih_find(ix, &ix->by_ptr, x->ptr);

	if (at >= 0)
		ih_delete_at(ix, &ix->by_ptr, at);
	if (is_large(x->size)) {
		treap_erase(ix, x->ptr);
	} else {
		if (x->prev != ADDR_NIL)
			entry_at(ix, x->prev)->next = x->next;
		if (x->next != ADDR_NIL)
			entry_at(ix, x->next)->prev = x->prev;
		if (x->prev == ADDR_NIL) { /* the head: the page slot names it */
			at = ih_find(ix, &ix->by_page, x->ptr >> PAGE_SHIFT);
			if (at >= 0) {
				if (x->next != ADDR_NIL)
					ix->by_page.slot[at] = x->next + 1;
				else
					ih_delete_at(ix, &ix->by_page, at);
			}
		}
	}
	ix->live--;
	entry_put(ix, e);
}

uint32_t addr_index__find(struct addr_index *ix, uint64_t ptr)
{
	int64_t at = ih_find(ix, &ix->by_ptr, ptr);

	return at < 0 ? ADDR_NIL : ix->by_ptr.slot[at] - 1;
}

uint32_t addr_index__lookup(struct addr_index *ix, uint64_t a, uint64_t hdr, bool *header)
{
	uint64_t pages[3] = {a >> PAGE_SHIFT, (a >> PAGE_SHIFT) - 1, (a + hdr) >> PAGE_SHIFT};
	uint32_t t;

	*header = false;
	for (int p = 0; p < 3; p++) {
		int64_t at;

		if (p == 2 && pages[2] == pages[0])
			break;
		at = ih_find(ix, &ix->by_page, pages[p]);
		for (t = at < 0 ? ADDR_NIL : ix->by_page.slot[at] - 1; t != ADDR_NIL;
		     t = entry_at(ix, t)->next) {
			struct pa_entry *x = entry_at(ix, t);

			if (a >= x->ptr && a < x->ptr + x->size)
				return t;
			if (a < x->ptr && a + hdr >= x->ptr)
				*header = true;
		}
	}
	t = treap_floor(ix, a);
	if (t != ADDR_NIL && a < entry_at(ix, t)->ptr + entry_at(ix, t)->size)
		return t;
	t = treap_floor(ix, a + hdr);
	if (t != ADDR_NIL && entry_at(ix, t)->ptr > a)
		*header = true;
	return ADDR_NIL;
}

void addr_index__init(struct addr_index *ix)
{
	memset(ix, 0, sizeof(*ix));
	ix->free_list = ix->large_root = ADDR_NIL;
	ix->by_page.shift = PAGE_SHIFT;
}

void addr_index__free(struct addr_index *ix)
{
	for (uint32_t i = 0; i < ix->nblocks; i++)
		munmap(ix->blocks[i], ADDR_BLOCK_ENTRIES * sizeof(struct pa_entry));
	free(ix->blocks);
	free(ix->by_ptr.slot);
	free(ix->by_page.slot);
	addr_index__init(ix);
}

uint64_t addr_index__bytes(const struct addr_index *ix)
{
	/* pool blocks are mmapped: only the entries ever used are memory */
	return (uint64_t)ix->used * sizeof(struct pa_entry) +
	       (ix->by_ptr.cap + ix->by_page.cap) * sizeof(uint32_t);
}

uint32_t addr_index__next(const struct addr_index *ix, uint64_t *cursor)
{
	while (*cursor < ix->by_ptr.cap) {
		uint32_t slot = ix->by_ptr.slot[(*cursor)++];

		if (slot)
			return slot - 1;
	}
	return ADDR_NIL;
}
