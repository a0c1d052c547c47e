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

/*
 * A slot: 0 when empty, else the entry + 1 in the low 28 bits and 4 bits of its key's hash
 * above them. A probe past other keys then reads their entries (a cache miss each, at ten
 * million entries) once in 16 instead of every time: a lookup of a new block in a table
 * 3/4 full passes ~8 slots.
 */
#define SLOT_ENTRY_BITS 28
#define SLOT_ENTRY_MASK ((1u << SLOT_ENTRY_BITS) - 1)
#define ENTRIES_MAX	(SLOT_ENTRY_MASK - 1)

static inline uint32_t slot_entry(uint32_t v)
{
	return (v & SLOT_ENTRY_MASK) - 1;
}

static inline uint32_t key_tag(uint64_t key)
{
	return (uint32_t)(hash64(key) >> 60) << SLOT_ENTRY_BITS;
}

static uint32_t entry_new(struct addr_index *ix)
{
	uint32_t i;

	if (ix->free_list != ADDR_NIL) {
		i = ix->free_list;
		ix->free_list = entry_at(ix, i)->next;
		return i;
	}
	if (ix->used >= ENTRIES_MAX)
		return ADDR_NIL; /* what a slot can name: 268M live allocations */
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

/* SLOT naming ENTRY instead, for the same key */
static inline uint32_t slot_rename(uint32_t slot, uint32_t entry)
{
	return (slot & ~SLOT_ENTRY_MASK) | (entry + 1);
}

/*
 * A hash grows by doubling, incrementally: the old table stays, each insert moves a few of
 * its slots into the new one, and lookups search both until it is empty. Rehashing ten
 * million entries at once stalled the collector for most of a second, long enough for
 * the ring buffer to fill.
 */
#define IH_MIGRATE_PER_INSERT 16

/* One table: slots in CAP (a power of two), keys ptr >> SHIFT. */
struct ih_table {
	uint32_t *slot;
	uint64_t cap;
};

static inline uint64_t ih_home(uint64_t cap, uint64_t key)
{
	return hash64(key) & (cap - 1);
}

static inline uint64_t slot_key(struct addr_index *ix, const struct pa_ihash *h, uint32_t v)
{
	return entry_at(ix, slot_entry(v))->ptr >> h->shift;
}

static int64_t table_find(struct addr_index *ix, const struct pa_ihash *h, struct ih_table t,
			  uint64_t key)
{
	uint32_t tag = key_tag(key);
	uint64_t i;

	if (!t.cap)
		return -1;
	for (i = ih_home(t.cap, key); t.slot[i]; i = (i + 1) & (t.cap - 1))
		if ((t.slot[i] & ~SLOT_ENTRY_MASK) == tag && slot_key(ix, h, t.slot[i]) == key)
			return i;
	return -1;
}

static void table_put(struct ih_table t, uint64_t key, uint32_t v)
{
	uint64_t i;

	for (i = ih_home(t.cap, key); t.slot[i]; i = (i + 1) & (t.cap - 1))
		;
	t.slot[i] = v;
}

/* Backward-shift deletion: no tombstones, so probe lengths stay short under churn (and
 * every entry stays reachable from its home while the old table is emptied). */
static void table_delete_at(struct addr_index *ix, const struct pa_ihash *h, struct ih_table t,
			    uint64_t i)
{
	uint64_t j = i, k, m = t.cap - 1;

	for (;;) {
		j = (j + 1) & m;
		if (!t.slot[j])
			break;
		k = ih_home(t.cap, slot_key(ix, h, t.slot[j]));
		/* move slot j to the hole at i when its home is not in (i, j] (cyclically) */
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			t.slot[i] = t.slot[j];
			i = j;
		}
	}
	t.slot[i] = 0;
}

#define IH_NEW(h) ((struct ih_table){(h)->slot, (h)->cap})
#define IH_OLD(h) ((struct ih_table){(h)->old, (h)->old_cap})

/* Move up to N slots of the old table into the new one; free it once empty. */
static void ih_migrate(struct addr_index *ix, struct pa_ihash *h, uint64_t n)
{
	while (h->old && n--) {
		uint32_t v = h->old[h->migrated];

		if (v) { /* the shift may pull another into this slot: look again */
			table_put(IH_NEW(h), slot_key(ix, h, v), v);
			table_delete_at(ix, h, IH_OLD(h), h->migrated);
			continue;
		}
		if (++h->migrated == h->old_cap) {
			free(h->old);
			h->old = NULL;
			h->old_cap = 0;
		}
	}
}

/* Slot position holding KEY, or -1: positions past cap are in the old table. */
static int64_t ih_find(struct addr_index *ix, struct pa_ihash *h, uint64_t key)
{
	int64_t at = table_find(ix, h, IH_NEW(h), key);

	if (at < 0 && h->old) {
		at = table_find(ix, h, IH_OLD(h), key);
		if (at >= 0)
			at += h->cap;
	}
	return at;
}

static uint32_t *ih_slot(const struct pa_ihash *h, int64_t at)
{
	return (uint64_t)at < h->cap ? &h->slot[at] : &h->old[at - h->cap];
}

static int ih_grow(struct addr_index *ix, struct pa_ihash *h)
{
	uint64_t cap = h->cap ? h->cap * 2 : 1 << 16;
	uint32_t *s;

	ih_migrate(ix, h, UINT64_MAX); /* the last growth's, if still going */
	s = calloc(cap, sizeof(*s));
	if (!s)
		return -1;
	h->old = h->slot;
	h->old_cap = h->cap;
	h->migrated = 0;
	h->slot = s;
	h->cap = cap;
	if (!h->old_cap) {
		free(h->old);
		h->old = NULL;
	}
	return 0;
}

/* KEY must not be present. */
static int ih_insert(struct addr_index *ix, struct pa_ihash *h, uint32_t entry)
{
	uint64_t key = entry_at(ix, entry)->ptr >> h->shift;

	/* at most 3/4 full: ~1.5 probes a lookup, 5.3 bytes a live allocation */
	if ((h->n + 1) * 4 > h->cap * 3 && ih_grow(ix, h))
		return -1;
	ih_migrate(ix, h, IH_MIGRATE_PER_INSERT);
	table_put(IH_NEW(h), key, key_tag(key) | (entry + 1));
	h->n++;
	return 0;
}

static void ih_delete_at(struct addr_index *ix, struct pa_ihash *h, int64_t at)
{
	if ((uint64_t)at < h->cap)
		table_delete_at(ix, h, IH_NEW(h), at);
	else
		table_delete_at(ix, h, IH_OLD(h), at - h->cap);
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
		uint32_t *slot = ih_slot(&ix->by_page, at), head = slot_entry(*slot);

		x->next = head;
		entry_at(ix, head)->prev = e;
		*slot = slot_rename(*slot, e); /* new head: same page, same hash position */
	} else if (ih_insert(ix, &ix->by_page, e)) {
		ih_delete_at(ix, &ix->by_ptr, ih_find(ix, &ix->by_ptr, ptr));
		entry_put(ix, e);
		return -1;
	}
	*out = e;
	ix->live++;
	ix->live_bytes += size;
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
					*ih_slot(&ix->by_page, at) =
					    slot_rename(*ih_slot(&ix->by_page, at), x->next);
				else
					ih_delete_at(ix, &ix->by_page, at);
			}
		}
	}
	ix->live--;
	ix->live_bytes -= x->size;
	entry_put(ix, e);
}

uint32_t addr_index__find(struct addr_index *ix, uint64_t ptr)
{
	int64_t at = ih_find(ix, &ix->by_ptr, ptr);

	return at < 0 ? ADDR_NIL : slot_entry(*ih_slot(&ix->by_ptr, at));
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
		for (t = at < 0 ? ADDR_NIL : slot_entry(*ih_slot(&ix->by_page, at)); t != ADDR_NIL;
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
	free(ix->by_ptr.old);
	free(ix->by_page.slot);
	free(ix->by_page.old);
	addr_index__init(ix);
}

uint64_t addr_index__bytes(const struct addr_index *ix)
{
	/* pool blocks are mmapped: only the entries ever used are memory */
	return (uint64_t)ix->used * sizeof(struct pa_entry) +
	       (ix->by_ptr.cap + ix->by_ptr.old_cap + ix->by_page.cap + ix->by_page.old_cap) *
		   sizeof(uint32_t);
}

uint32_t addr_index__next(const struct addr_index *ix, uint64_t *cursor)
{
	while (*cursor < ix->by_ptr.cap + ix->by_ptr.old_cap) {
		uint32_t slot = *ih_slot(&ix->by_ptr, (*cursor)++);

		if (slot)
			return slot_entry(slot);
	}
	return ADDR_NIL;
}
