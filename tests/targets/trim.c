// SPDX-License-Identifier: GPL-2.0
/*
 * malloc_trim's own work: N (argv[1]) blocks of 1000 bytes, all freed but the last, which
 * keeps the heap's top from shrinking on free; then one malloc_trim(0), which gives the
 * free pages in the middle of the heap back with madvise. Prints what malloc_trim returned.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	void **v = calloc(n, sizeof(*v));

	if (!v)
		return 1;
	for (long i = 0; i < n; i++)
		v[i] = malloc(1000);
	for (long i = 0; i + 1 < n; i++)
		free(v[i]);
	printf("trimmed %d\n", malloc_trim(0));
	free(v[n - 1]);
	free(v);
	return 0;
}
