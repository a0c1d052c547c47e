/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An index of live allocations by address (addr_index.c): insert and remove by pointer,
 * and find the allocation holding any address, as per-allocation mode needs for every
 * free and every page fault.
 */
#ifndef MEMSTUDY_ADDR_INDEX_H
#define MEMSTUDY_ADDR_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#define ADDR_NIL	   0xffffffffu
#define ADDR_BLOCK_SHIFT   20
#define ADDR_BLOCK_ENTRIES (1u << ADDR_BLOCK_SHIFT)

struct pa_entry {
	uint64_t ptr;
	uint64_t size;
	uint32_t site;
	uint32_t faults;
	uint32_t next, prev; /* page list; treap children (left, right) for large ones */
};

struct pa_ihash {
	uint32_t *slot; /* 0 = empty, else the entry + 1 and a tag (addr_index.c) */
	uint64_t cap, n;
	int shift;	   /* key = ptr >> shift */
	uint32_t *old;	   /* while growing: the table before, being emptied into slot */
	uint64_t old_cap;  /* its size */
	uint64_t migrated; /* its slots below this are empty */
};

struct addr_index {
	struct pa_entry **blocks;
	uint32_t nblocks, used, free_list;
	struct pa_ihash by_ptr, by_page;
	uint32_t large_root;
	uint64_t live;	     /* entries in the index */
	uint64_t live_bytes; /* their sizes, summed */
};

/* A 64-bit mix (murmur3 finalizer): the hashes of the collector use it. */
static inline uint64_t hash64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

static inline struct pa_entry *entry_at(const struct addr_index *ix, uint32_t i)
{
	return &ix->blocks[i >> ADDR_BLOCK_SHIFT][i & (ADDR_BLOCK_ENTRIES - 1)];
}

void addr_index__init(struct addr_index *ix);
void addr_index__free(struct addr_index *ix); /* and empty again */
/* Add [ptr, ptr + size) from SITE; its entry into *OUT. -1 without memory. */
int addr_index__insert(struct addr_index *ix, uint64_t ptr, uint64_t size, uint32_t site,
		       uint32_t *out);
void addr_index__remove(struct addr_index *ix, uint32_t e);
/* The entry whose ptr is PTR, or ADDR_NIL. */
uint32_t addr_index__find(struct addr_index *ix, uint64_t ptr);
/* The entry holding address A, or ADDR_NIL; *HEADER is set when A is instead in the HDR
 * bytes just before one (glibc's chunk header). */
uint32_t addr_index__lookup(struct addr_index *ix, uint64_t a, uint64_t hdr, bool *header);
/* Memory the index holds. */
uint64_t addr_index__bytes(const struct addr_index *ix);
/* Every entry, in no order: start with *CURSOR = 0; ADDR_NIL at the end. */
uint32_t addr_index__next(const struct addr_index *ix, uint64_t *cursor);

#endif
