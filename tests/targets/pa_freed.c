/* Faults on freed memory: N blocks of 1000 bytes under a pin block, all freed but the pin,
 * malloc_trim(0) gives their pages back (MADV_DONTNEED), then pa_use_after_free reads one
 * byte in every page of the freed range: each such read faults on freed memory.
 * argv: N (default 4000). Prints the pages read. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) long pa_use_after_free(char *lo, char *hi)
{
	long pages = 0, sum = 0;

	for (char *p = (char *)(((unsigned long)lo + 4095) & ~4095UL); p + 4096 <= hi; p += 4096) {
		sum += *(volatile char *)p;
		pages++;
	}
	return sum ? -1 : pages;
}

static char *volatile keep; /* or the compiler drops the pin's malloc/free pair */

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 4000;
	char **v = malloc(n * sizeof(*v)), *pin, *lo, *hi;

	if (!v || n < 16)
		return 2;

	for (long i = 0; i < n; i++) {
		v[i] = malloc(1000);
		for (int j = 0; j < 1000; j += 512)
			v[i][j] = 1;
	}
	keep = pin = malloc(1000); /* keeps the top: the freed blocks stay below it */
	lo = v[0];
	hi = v[n - 1] + 1000;
	for (long i = 0; i < n; i++)
		free(v[i]);
	malloc_trim(0);
	printf("pages %ld\n", pa_use_after_free(lo + 64, hi - 64));
	free(pin);
	free(v);
	return 0;
}
