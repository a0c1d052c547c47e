// SPDX-License-Identifier: GPL-2.0
/*
 * Programs whose slowest allocator call is known by construction (tests/test_slowcalls.py).
 * Each mode makes one designed call, times it with its own clock and prints
 *   designed FN NS TID
 * on stdout, after the other calls of that function, which are all cheap:
 *   trim         the free that merges a 64 MiB heap into its top: glibc shrinks it (brk)
 *   consolidate  the malloc of 64 KiB that first consolidates a million fastbin chunks
 *   mremap       the realloc of an 8 MiB mmapped block to 64 MiB: mremap
 *   calloc       the calloc of 32 MiB: a fresh mapping, zero without a memset
 *   threads      four threads making 1000, 2000, 3000 and 4000 mallocs and frees each;
 *                prints "thread TID MALLOCS" for each
 *   own          1000 mallocs and frees by the program, 100 strdup, and what stdio
 *                allocates inside glibc for fopen; prints "program N"
 *   outside      one 4 MiB mmap and munmap made by the program in map_outside()
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

static void *volatile sink;

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ULL + t.tv_nsec;
}

static void designed(const char *fn, uint64_t t0)
{
	printf("designed %s %llu %d\n", fn, (unsigned long long)(now_ns() - t0), gettid());
}

__attribute__((noinline)) static void trim(void)
{
	enum { N = 65536 };
	static void *v[N];
	uint64_t t0;

	for (int i = 0; i < N; i++) {
		v[i] = malloc(1000);
		memset(v[i], 1, 1000); /* resident: the shrink has pages to give back */
	}
	for (int i = 0; i < N - 1; i++)
		free(v[i]);
	t0 = now_ns();
	free(v[N - 1]); /* next to the top: everything freed joins it, and glibc trims */
	designed("free", t0);
}

static void consolidate(void)
{
	enum { N = 1000000 };
	void **v =
	    mmap(NULL, N * sizeof(*v), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t t0;

	for (int i = 0; i < N; i++)
		v[i] = malloc(64);
	for (int i = 0; i < N; i++)
		free(v[i]); /* past the tcache's seven: fastbins, never merged on free */
	t0 = now_ns();
	sink = malloc(64 << 10); /* a large request merges the fastbins first */
	designed("malloc", t0);
	free(sink);
}

static void grow_by_mremap(void)
{
	void *p = malloc(8 << 20), *q = malloc(16);
	uint64_t t0;

	memset(p, 1, 8 << 20);
	for (int i = 1; i <= 20; i++)
		q = realloc(q, 16 * i); /* cheap ones, in place or nearly */
	t0 = now_ns();
	p = realloc(p, 64 << 20); /* an mmapped chunk grows by mremap */
	designed("realloc", t0);
	free(p);
	free(q);
}

static void fresh_calloc(void)
{
	void *small[100];
	uint64_t t0;

	sink = malloc(1); /* the heap exists: no small calloc below pays for its first brk */
	free(sink);
	for (int i = 0; i < 100; i++)
		small[i] = calloc(1, 64);
	t0 = now_ns();
	sink = calloc(1, 32 << 20); /* mmapped: already zero */
	designed("calloc", t0);
	free(sink);
	for (int i = 0; i < 100; i++)
		free(small[i]);
}

struct worker {
	pthread_t t;
	int n, tid;
};

static void *work(void *arg)
{
	struct worker *w = arg;

	void *volatile mine; /* the thread's own: the shared sink would be a race */

	w->tid = gettid();
	for (int i = 0; i < w->n; i++) {
		mine = malloc(32 + i % 512);
		free(mine);
	}
	return NULL;
}

static void threads(void)
{
	struct worker w[4];

	for (int i = 0; i < 4; i++) {
		w[i].n = 1000 * (i + 1);
		pthread_create(&w[i].t, NULL, work, &w[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(w[i].t, NULL);
	for (int i = 0; i < 4; i++)
		printf("thread %d %d\n", w[i].tid, w[i].n);
}

static void own(void)
{
	char *s[100];
	FILE *f;

	for (int i = 0; i < 1000; i++) {
		sink = malloc(100);
		free(sink);
	}
	for (int i = 0; i < 100; i++)
		s[i] = strdup("a string the program asked glibc to copy");
	for (int i = 0; i < 100; i++)
		free(s[i]);
	f = fopen("/proc/self/status", "r"); /* glibc allocates the FILE and its buffer */
	if (f) {
		char line[256];

		while (fgets(line, sizeof(line), f))
			;
		fclose(f);
	}
	printf("program %d\n", 1000 + 100);
}

__attribute__((noinline)) static void map_outside(void)
{
	void *p = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p != MAP_FAILED)
		munmap(p, 4 << 20);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (!strcmp(mode, "trim"))
		trim();
	else if (!strcmp(mode, "consolidate"))
		consolidate();
	else if (!strcmp(mode, "mremap"))
		grow_by_mremap();
	else if (!strcmp(mode, "calloc"))
		fresh_calloc();
	else if (!strcmp(mode, "threads"))
		threads();
	else if (!strcmp(mode, "own"))
		own();
	else if (!strcmp(mode, "outside"))
		map_outside();
	else {
		fprintf(stderr, "usage: slowcalls trim|consolidate|mremap|calloc|threads|own|"
				"outside\n");
		return 2;
	}
	return 0;
}
