/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The blocks of each pool (a pool allocator's: APR's apr_palloc, a --alloc with pool=N), so
 * that a pool's clear or destroy can end every block allocated in it (pools.c).
 */
#ifndef MEMSTUDY_POOLS_H
#define MEMSTUDY_POOLS_H

#include <stdint.h>

struct pool_blocks {
	uint64_t pool; /* 0: an empty slot */
	uint64_t *ptr; /* the blocks allocated in it since it was last cleared */
	uint32_t n, cap;
};

struct pools {
	struct pool_blocks *slot;
	uint64_t cap, n; /* slots, and pools ever seen (slots are never emptied) */
};

/* Block PTR was allocated in POOL. -1 without memory. */
int pools__add(struct pools *p, uint64_t pool, uint64_t ptr);
/* POOL's blocks, to end them; NULL when it has none. Emptied by pools__clear. */
struct pool_blocks *pools__find(struct pools *p, uint64_t pool);
void pools__clear(struct pool_blocks *b);
/* DST (empty) a copy of SRC: a forked child's pools. -1 without memory. */
int pools__copy(struct pools *dst, const struct pools *src);
/* Every pool's blocks forgotten (an exec), or the table freed. */
void pools__reset(struct pools *p);
void pools__free(struct pools *p);

#endif
