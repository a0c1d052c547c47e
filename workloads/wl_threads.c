// SPDX-License-Identifier: GPL-2.0
/*
 * threads: each thread that allocates gets an arena of its own (a heap in a
 * 64 MiB-aligned reservation), so a process has several heaps. A block freed
 * by another thread goes back to the arena it came from.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "common.h"

#define HEAP_MAX (64UL << 20) /* glibc's non-main heaps are aligned to this on 64-bit */

enum step { STEP_ALLOC, STEP_FREE_OWN, STEP_FREE_CROSS, STEP_QUIT };

static pthread_barrier_t start, done;
static enum step step;
static const struct wl_opts *opts;
static void **blk; /* thread t's blocks are blk[t * count .. ] */
static uintptr_t first_heap[256];

static void *worker(void *arg)
{
	long t = (long)arg, n = opts->count, i, other = (t + 1) % opts->threads;
	void **mine = blk + t * n, **theirs = blk + other * n;
	size_t s = opts->size;

	for (;;) {
		pthread_barrier_wait(&start);
		switch (step) {
		case STEP_ALLOC:
			for (i = 0; i < n; i++) {
				if (!(mine[i] = wl_malloc(s)))
					wl_die("malloc(%zu) failed in thread %ld", s, t);
				wl_touch(mine[i], s, 0x10 + (int)t);
			}
			/* bit 2 of the chunk header: the chunk is not in the main arena */
			if (n && (((size_t *)mine[0])[-1] & 4))
				first_heap[t] = (uintptr_t)mine[0] & ~(HEAP_MAX - 1);
			break;
		case STEP_FREE_OWN:
			for (i = 0; i < n; i += 2)
				wl_free(mine[i], s);
			break;
		case STEP_FREE_CROSS:
			for (i = 1; i < n; i += 2)
				wl_free(theirs[i], s);
			break;
		case STEP_QUIT:
			return NULL;
		}
		pthread_barrier_wait(&done);
	}
}

static void run_step(const char *name, enum step s)
{
	wl_phase_begin(name);
	step = s;
	pthread_barrier_wait(&start);
	pthread_barrier_wait(&done);
	wl_phase_end();
}

int wl_threads(const struct wl_opts *o)
{
	int nt = o->threads, t, r, heaps = 0, in_arena = 0, u;
	pthread_t tid[256];

	if (o->rounds * 3 > WL_MAX_PHASES - 1)
		wl_usage_error("--rounds %d is too many: at most %d", o->rounds,
			       (WL_MAX_PHASES - 1) / 3);
	opts = o;
	blk = wl_scratch((size_t)nt * o->count * sizeof(*blk));
	pthread_barrier_init(&start, NULL, nt + 1);
	pthread_barrier_init(&done, NULL, nt + 1);
	/* Threads start before the first phase: their stacks are not measured. */
	for (t = 0; t < nt; t++)
		if (pthread_create(&tid[t], NULL, worker, (void *)(long)t))
			wl_die("pthread_create failed");

	for (r = 0; r < o->rounds; r++) {
		run_step("alloc", STEP_ALLOC);
		run_step("free_own", STEP_FREE_OWN);
		run_step("free_cross", STEP_FREE_CROSS);
	}

	step = STEP_QUIT;
	pthread_barrier_wait(&start);
	for (t = 0; t < nt; t++)
		pthread_join(tid[t], NULL);

	/* How many distinct non-main heaps the threads' first blocks were in. */
	for (t = 0; t < nt; t++) {
		if (!first_heap[t])
			continue;
		in_arena++;
		for (u = 0; u < t; u++)
			if (first_heap[u] == first_heap[t])
				break;
		heaps += u == t;
	}
	wl_result("threads_in_other_arenas", in_arena);
	wl_result("arena_heaps", heaps);
	return 0;
}
