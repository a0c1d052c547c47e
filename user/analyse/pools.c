// SPDX-License-Identifier: GPL-2.0
/* Pools and their blocks: an open-addressing table keyed by the pool's address (pools.h). */
#include <stdlib.h>
#include <string.h>

#include "analyse/addr_index.h"
#include "analyse/pools.h"

static struct pool_blocks *slot_for(struct pool_blocks *slot, uint64_t cap, uint64_t pool)
{
	for (uint64_t i = hash64(pool) & (cap - 1);; i = (i + 1) & (cap - 1))
		if (slot[i].pool == pool || !slot[i].pool)
			return &slot[i];
}

/* Twice the slots once half are used: a probe stays short. */
static int grow(struct pools *p)
{
	uint64_t cap = p->cap ? p->cap * 2 : 64;
	struct pool_blocks *slot = calloc(cap, sizeof(*slot));

	if (!slot)
		return -1;
	for (uint64_t i = 0; i < p->cap; i++)
		if (p->slot[i].pool)
			*slot_for(slot, cap, p->slot[i].pool) = p->slot[i];
	free(p->slot);
	p->slot = slot;
	p->cap = cap;
	return 0;
}

int pools__add(struct pools *p, uint64_t pool, uint64_t ptr)
{
	struct pool_blocks *b;

	if ((p->n + 1) * 2 > p->cap && grow(p))
		return -1;
	b = slot_for(p->slot, p->cap, pool);
	if (!b->pool) {
		b->pool = pool;
		p->n++;
	}
	if (b->n == b->cap) {
		uint32_t cap = b->cap ? b->cap * 2 : 16;
		uint64_t *ptrs = realloc(b->ptr, cap * sizeof(*ptrs));

		if (!ptrs)
			return -1;
		b->ptr = ptrs;
		b->cap = cap;
	}
	b->ptr[b->n++] = ptr;
	return 0;
}

struct pool_blocks *pools__find(struct pools *p, uint64_t pool)
{
	struct pool_blocks *b = p->cap && pool ? slot_for(p->slot, p->cap, pool) : NULL;

	return b && b->pool ? b : NULL;
}

void pools__clear(struct pool_blocks *b)
{
	/* a pool is cleared and filled again many times: keep its array, up to a bound */
	if (b->cap > 4096) {
		free(b->ptr);
		b->ptr = NULL;
		b->cap = 0;
	}
	b->n = 0;
}

int pools__copy(struct pools *dst, const struct pools *src)
{
	for (uint64_t i = 0; i < src->cap; i++)
		for (uint32_t k = 0; k < src->slot[i].n; k++)
			if (pools__add(dst, src->slot[i].pool, src->slot[i].ptr[k]))
				return -1;
	return 0;
}

void pools__reset(struct pools *p)
{
	for (uint64_t i = 0; i < p->cap; i++)
		free(p->slot[i].ptr);
	if (p->slot)
		memset(p->slot, 0, p->cap * sizeof(*p->slot));
	p->n = 0;
}

void pools__free(struct pools *p)
{
	pools__reset(p);
	free(p->slot);
	memset(p, 0, sizeof(*p));
}
