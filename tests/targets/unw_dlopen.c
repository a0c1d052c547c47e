// SPDX-License-Identifier: GPL-2.0
/*
 * Frames in a library loaded mid-run, no frame pointers anywhere (-O2 -fomit-frame-pointer):
 * dlopen(argv[1]) (libunw_lib.so), then main -> unw_dl_outer -> unw_lib_level3 (in the
 * library) -> unw_dl_leaf -> malloc, argv[2] times.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

void *volatile unw_sink;

#define NOINLINE __attribute__((noinline))

NOINLINE void unw_dl_leaf(long n)
{
	unw_sink = malloc(200 + n % 5); /* UNW_DL_MALLOC_LINE */
	free(unw_sink);
	__asm__ volatile("" ::: "memory");
}

NOINLINE void unw_dl_outer(void (*level3)(long, void (*)(long)), long n)
{
	level3(n, unw_dl_leaf);
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	void (*level3)(long, void (*)(long));
	long n = argc > 2 ? atol(argv[2]) : 100;
	void *h;

	if (argc < 2)
		return 2;
	h = dlopen(argv[1], RTLD_NOW);
	if (!h) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	*(void **)&level3 = dlsym(h, "unw_lib_level3");
	if (!level3)
		return 1;
	for (long i = 0; i < n; i++)
		unw_dl_outer(level3, i);
	printf("done %ld\n", n);
	return 0;
}
