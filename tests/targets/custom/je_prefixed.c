// SPDX-License-Identifier: GPL-2.0
/*
 * A stand-in for a program with a je_-prefixed jemalloc beside glibc's malloc (redis built
 * with its bundled jemalloc): Debian ships no prefixed build, and its libjemalloc cannot be
 * dlopen'ed beside glibc's malloc (initial-exec TLS), so these je_ functions are small
 * allocators over glibc's. The program allocates through both. Known numbers: N of each je_
 * call, and N glibc mallocs and frees of its own.
 *   je_prefixed N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((noinline, used, visibility("default")))

EXPORT void *je_malloc(size_t size)
{
	return malloc(size);
}

EXPORT void *je_calloc(size_t n, size_t size)
{
	return calloc(n, size);
}

EXPORT void *je_realloc(void *ptr, size_t size)
{
	return realloc(ptr, size);
}

EXPORT void je_free(void *ptr)
{
	free(ptr);
}

EXPORT void je_sdallocx(void *ptr, size_t size, int flags)
{
	(void)size;
	(void)flags;
	free(ptr);
}

static void *volatile sink;

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;

	for (long i = 0; i < n; i++) {
		char *a = je_malloc(100), *b = je_calloc(4, 25), *c = malloc(64);

		a = je_realloc(a, 200);
		sink = c;
		je_free(a);
		je_sdallocx(b, 100, 0);
		free(c);
	}
	printf("{\"je_malloc\": %ld, \"je_calloc\": %ld, \"je_realloc\": %ld, \"je_free\": %ld, "
	       "\"je_sdallocx\": %ld, \"malloc\": %ld, \"free\": %ld}\n",
	       n, n, n, n, n, n, n);
	return 0;
}
