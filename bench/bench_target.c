/*
 * Per-call cost of malloc(64) and free: ROUNDS rounds of N mallocs then N frees, each loop
 * timed with CLOCK_MONOTONIC; prints the median and the lower-quartile round's ns per call
 * of each (--cpu=N: run on CPU N; --depth=D: the loops D frames deep). Linked against a
 * private copy of libc (bench/CMakeLists.txt) so nobody else's uprobes on the system libc
 * slow it; it refuses to report when a [uprobes] mapping shows that someone's probe hit it
 * during an untraced run (--expect-untraced).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int foreign_uprobes(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	while (f && fgets(line, sizeof(line), f))
		found |= strstr(line, "[uprobes]") != NULL;
	if (f)
		fclose(f);
	return found;
}

struct bench {
	long n;
	int rounds;
	double *m, *f;
	void **p;
};

static void rounds_at_depth(struct bench *b, int depth);

/* DEPTH frames of this (no frame pointers: -O2 -fomit-frame-pointer), then the rounds: the
 * caller's stack a per-allocation trace unwinds at every malloc. */
static __attribute__((noinline)) void descend(struct bench *b, int depth)
{
	volatile char frame[32]; /* a frame of its own */

	frame[0] = (char)depth;
	rounds_at_depth(b, depth - 1);
	__asm__ volatile("" ::"r"(frame) : "memory"); /* no tail call */
}

static __attribute__((noinline)) void rounds_at_depth(struct bench *b, int depth)
{
	if (depth > 0) {
		descend(b, depth);
		return;
	}
	for (int r = 0; r < b->rounds; r++) {
		double t0 = now_ns();

		for (long i = 0; i < b->n; i++)
			b->p[i] = malloc(64);
		b->m[r] = (now_ns() - t0) / b->n;
		t0 = now_ns();
		for (long i = 0; i < b->n; i++)
			free(b->p[i]);
		b->f[r] = (now_ns() - t0) / b->n;
	}
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	int untraced = 0, depth = 0;
	cpu_set_t set;

	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--expect-untraced"))
			untraced = 1;
		else if (!strncmp(argv[i], "--depth=", 8))
			depth = atoi(argv[i] + 8);
		else if (!strncmp(argv[i], "--cpu=", 6)) {
			/* away from the tracer's CPU: its wakeups are not the probes' cost */
			CPU_ZERO(&set);
			CPU_SET(atoi(argv[i] + 6), &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
	}
	double *m = calloc(rounds, sizeof(double)), *f = calloc(rounds, sizeof(double));
	struct bench b = {n, rounds, m, f, malloc(n * sizeof(void *))};

	rounds_at_depth(&b, depth);
	if (getenv("BENCH_ROUNDS")) /* every round, in order, on stderr */
		for (int r = 0; r < rounds; r++)
			fprintf(stderr, "round %d malloc_ns %.1f free_ns %.1f\n", r, m[r], f[r]);
	qsort(m, rounds, sizeof(double), cmp);
	qsort(f, rounds, sizeof(double), cmp);
	if (untraced && foreign_uprobes()) {
		fprintf(stderr,
			"bench_target: a [uprobes] mapping exists in an untraced run: someone "
			"else has uprobes on this program or its libc; not reporting\n");
		return 3;
	}
	/* the median round, and the lower quartile: the VM has busy spells lasting seconds */
	printf("malloc_ns %.2f free_ns %.2f malloc_q1_ns %.2f free_q1_ns %.2f\n", m[rounds / 2],
	       f[rounds / 2], m[rounds / 4], f[rounds / 4]);
	return 0;
}
