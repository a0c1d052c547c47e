// SPDX-License-Identifier: GPL-2.0
/*
 * The live-allocation index (analyse/addr_index.c) across its hashes' incremental growth:
 * while an old table is being emptied into the new one, every block stays findable by its
 * pointer and by an address inside it, removals find their slot in either table, and the
 * iteration sees each live block once.
 */
#include <stdlib.h>

#include "analyse/addr_index.h"
#include "check.h"

#define N     300000 /* several doublings past the first table (64Ki slots) */
#define BASE  0x7f0000000000ULL
#define BLOCK 48 /* small blocks: several in a page, in the by-page hash too */

static uint64_t ptr_of(uint32_t i)
{
	return BASE + (uint64_t)i * BLOCK;
}

TEST(every_block_findable_while_the_hashes_grow)
{
	struct addr_index ix;
	uint32_t *entry = calloc(N, sizeof(*entry));
	uint64_t cur = 0, seen = 0, removed = 0;
	bool header;
	uint32_t e;

	addr_index__init(&ix);
	for (uint32_t i = 0; i < N; i++) {
		CHECK(!addr_index__insert(&ix, ptr_of(i), BLOCK - 16, i % 7, &entry[i]));
		/* an earlier block, checked in the middle of a growth as well as outside one */
		if (i % 1000 == 999) {
			uint32_t j = (uint32_t)(((uint64_t)i * 2654435761u) % i);

			CHECK_U64(addr_index__find(&ix, ptr_of(j)), entry[j]);
			CHECK_U64(addr_index__lookup(&ix, ptr_of(j) + 8, 16, &header), entry[j]);
		}
		/* every third block is freed again soon after: deletes in either table */
		if (i >= 10 && i % 3 == 0) {
			addr_index__remove(&ix, entry[i - 10]);
			entry[i - 10] = ADDR_NIL;
			removed++;
		}
	}
	for (uint32_t i = 0; i < N; i++) {
		e = addr_index__find(&ix, ptr_of(i));
		CHECK_U64(e, entry[i]);
	}
	while ((e = addr_index__next(&ix, &cur)) != ADDR_NIL)
		seen++;
	CHECK_U64(seen, ix.live);
	CHECK_U64(ix.live, N - removed);
	addr_index__free(&ix);
	free(entry);
}
