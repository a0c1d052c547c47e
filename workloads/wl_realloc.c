// SPDX-License-Identifier: GPL-2.0
/*
 * realloc: a block next to the top of the heap grows in place; a block with
 * a live neighbour must move (malloc, copy, free); an mmapped block grows
 * with mremap, without copying.
 */
#include "common.h"

#define BIG (256 * 1024) /* above the initial mmap threshold of 128 KiB */

int wl_realloc_fn(const struct wl_opts *o)
{
	int r, rounds = o->rounds;
	size_t s = o->size;
	void **wall = wl_scratch((rounds + 1) * sizeof(*wall));
	/*
	 * A wall is bigger than any hole left behind by a move, so it always comes
	 * from the top chunk, right after the block that just moved there.
	 */
	size_t wsz = s * (rounds + 2) + 64;
	void *a, *b, *m, *p;
	long moves;

	wl_phase_begin("grow_inplace");
	a = wl_malloc(s);
	if (!a)
		wl_die("malloc(%zu) failed", s);
	wl_touch(a, s, 1);
	for (moves = 0, r = 0; r < rounds; r++) {
		p = wl_realloc(a, s * (r + 2));
		if (!p)
			wl_die("realloc failed");
		moves += p != a;
		a = p;
	}
	wl_phase_end();
	wl_result("inplace_moves", moves);

	wl_phase_begin("grow_moved");
	b = wl_malloc(s);
	wall[0] = wl_malloc(wsz); /* a live neighbour right after b */
	if (!b || !wall[0])
		wl_die("malloc failed");
	wl_touch(b, s, 2);
	for (moves = 0, r = 0; r < rounds; r++) {
		/* reallocarray: realloc with an overflow check on count x size */
		p = wl_reallocarray(b, r + 2, s);
		if (!p)
			wl_die("reallocarray failed");
		moves += p != b;
		b = p;
		/* wall in the moved block again, so the next growth must move too */
		wall[r + 1] = wl_malloc(wsz);
		if (!wall[r + 1])
			wl_die("malloc failed");
	}
	wl_phase_end();
	wl_result("moved_moves", moves);

	wl_phase_begin("grow_mremap");
	m = wl_malloc(BIG);
	if (!m)
		wl_die("malloc(%d) failed", BIG);
	wl_touch(m, BIG, 3);
	for (moves = 0, r = 0; r < rounds; r++) {
		p = wl_realloc(m, (size_t)BIG * (r + 2));
		if (!p)
			wl_die("realloc failed");
		moves += p != m;
		m = p;
	}
	wl_phase_end();
	wl_result("mremap_moves", moves);
	wl_result("mremap_block_mmapped", (((size_t *)m)[-1] & 2) != 0);

	wl_phase_begin("shrink");
	a = wl_realloc(a, s * (rounds + 1) / 2 + 1);
	b = wl_realloc(b, s * (rounds + 1) / 2 + 1);
	m = wl_realloc(m, (size_t)BIG * (rounds + 1) / 2);
	if (!a || !b || !m)
		wl_die("realloc failed");
	wl_phase_end();

	wl_phase_begin("free");
	wl_free(a, s * (rounds + 1) / 2 + 1);
	wl_free(b, s * (rounds + 1) / 2 + 1);
	wl_free(m, (size_t)BIG * (rounds + 1) / 2);
	for (r = 0; r <= rounds; r++)
		wl_free(wall[r], wsz);
	wl_phase_end();
	return 0;
}
