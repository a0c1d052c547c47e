/* Per-allocation stacks: malloc called N times from pa_inner <- pa_middle <- pa_outer <- main
 * (frame pointers kept), and from pa_nofp, built without frame pointers (only the immediate
 * caller can be named there). argv: N (default 1000). */
#pragma GCC optimize("no-omit-frame-pointer")
#include <stdlib.h>
#include <string.h>

static void *volatile sink;

__attribute__((noinline)) void pa_inner(long n)
{
	for (long i = 0; i < n; i++) {
		char *p = malloc(100);

		memset(p, 1, 100);
		sink = p;
		free(p);
	}
}

__attribute__((noinline)) void pa_middle(long n)
{
	pa_inner(n);
	__asm__ volatile("" ::: "memory"); /* no tail call */
}

__attribute__((noinline)) void pa_outer(long n)
{
	pa_middle(n);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline, optimize("omit-frame-pointer"))) void pa_nofp(long n)
{
	for (long i = 0; i < n; i++) {
		sink = calloc(1, 200);
		free(sink);
	}
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;

	pa_outer(n);
	pa_nofp(n);
	return 0;
}
