/* Calls every function of the malloc family exactly N times each (argv[1], default 1000). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *volatile sink[8]; /* keeps the compiler from eliding allocations */

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;

	for (long i = 0; i < n; i++) {
		void *a, *b, *c = NULL, *d, *e, *f, *g;

		a = malloc(100);
		b = calloc(10, 10);
		a = realloc(a, 200);
		b = reallocarray(b, 3, 100);
		if (posix_memalign(&c, 64, 100))
			return 1;
		d = aligned_alloc(64, 128);
		e = memalign(64, 100);
		f = valloc(100);
		g = pvalloc(100);
		sink[0] = a, sink[1] = b, sink[2] = c, sink[3] = d;
		sink[4] = e, sink[5] = f, sink[6] = g;
		memset(a, 1, 200);
		free(a);
		free(b);
		free(c);
		free(d);
		free(e);
		free(f);
		free(g);
	}
	printf("allocs: %ld rounds\n", n);
	return 0;
}
