// SPDX-License-Identifier: GPL-2.0
/*
 * A known call chain five deep, built -O2 -fomit-frame-pointer (no frame pointer anywhere):
 * main -> unw_level1 -> unw_level2 -> unw_lib_level3 (in libunw_lib.so) -> unw_level4 ->
 * unw_level5 -> malloc, N times (argv[1]); and an inlined allocating function (unw_inlined,
 * always_inline) called from unw_level1. With "wait" as argv[2] (for --pid) it prints
 * "ready", waits for a line on stdin before the loop and for another one after it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void unw_lib_level3(long n, void (*next)(long));
extern void *volatile unw_sink;

#define NOINLINE __attribute__((noinline))

NOINLINE void unw_level5(long n)
{
	void *p = malloc(100 + n % 7); /* UNW_MALLOC_LINE */

	memset(p, 1, 100);
	unw_sink = p;
	free(p);
	__asm__ volatile("" ::: "memory");
}

NOINLINE void unw_level4(long n)
{
	unw_level5(n);
	__asm__ volatile("" ::: "memory");
}

NOINLINE void unw_level2(long n)
{
	unw_lib_level3(n, unw_level4);
	__asm__ volatile("" ::: "memory");
}

static inline __attribute__((always_inline)) void unw_inlined(long n)
{
	unw_sink = calloc(1, 48 + n % 3);
	free(unw_sink);
}

NOINLINE void unw_level1(long n)
{
	unw_level2(n);
	unw_inlined(n);
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100;
	int wait = argc > 2 && !strcmp(argv[2], "wait");
	char line[16];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (wait && (printf("ready\n") < 0 || !fgets(line, sizeof(line), stdin)))
		return 1;
	for (long i = 0; i < n; i++)
		unw_level1(i);
	printf("done %ld\n", n);
	if (wait && !fgets(line, sizeof(line), stdin))
		return 1;
	return 0;
}
