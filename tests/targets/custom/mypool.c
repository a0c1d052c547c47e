// SPDX-License-Identifier: GPL-2.0
/*
 * A program with an allocator of its own, built with DWARF: a bump pool (mp_alloc), blocks
 * freed one by one onto a list (mp_free), and the whole pool released (mp_destroy). Known
 * numbers: ROUNDS pools of N blocks, half freed one by one, the pool destroyed.
 *   mypool ROUNDS N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pool {
	char *base;
	size_t used, cap;
	long frees;
};

#define EXPORT __attribute__((noinline, used, visibility("default")))

EXPORT struct pool *mp_create(size_t cap)
{
	struct pool *p = malloc(sizeof(*p));

	p->base = malloc(cap);
	p->used = 0;
	p->cap = cap;
	p->frees = 0;
	return p;
}

EXPORT void *mp_alloc(struct pool *p, size_t size)
{
	void *b;

	size = (size + 15) & ~(size_t)15;
	if (p->used + size > p->cap)
		return NULL;
	b = p->base + p->used;
	p->used += size;
	return b;
}

EXPORT void mp_free(struct pool *p, void *block)
{
	if (block)
		p->frees++; /* kept until the pool goes */
}

EXPORT void mp_destroy(struct pool *p)
{
	free(p->base);
	free(p);
}

static void *volatile sink;

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 10, n = argc > 2 ? atol(argv[2]) : 100;

	for (long r = 0; r < rounds; r++) {
		struct pool *p = mp_create(n * 64);

		for (long i = 0; i < n; i++) {
			char *b = mp_alloc(p, 48);

			memset(b, 1, 48);
			sink = b;
			if (i % 2)
				mp_free(p, b);
		}
		mp_destroy(p);
	}
	printf("{\"mp_alloc\": %ld, \"mp_free\": %ld, \"mp_destroy\": %ld}\n", rounds * n,
	       rounds * (n / 2), rounds);
	return 0;
}
