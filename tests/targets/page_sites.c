// SPDX-License-Identifier: GPL-2.0
/*
 * Three call sites that each lead under one of the HTML page's weights (test_html.py),
 * and their counts as the program itself knows them, printed as JSON at the end:
 *   many_small()    most calls:  SMALL_N blocks of 32 bytes, each freed at once;
 *   big_touched()   most bytes and page faults: BIG_N blocks of 4 MiB (mmapped chunks),
 *                   every page written, then freed (each free a munmap: a slow call);
 *   leak_resident() everything live at the end: LEAK_N blocks of 256 KiB, the first half
 *                   of each written, never freed (its resident pages counted by mincore).
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define SMALL_N	   20000
#define SMALL_SIZE 32
#define BIG_N	   4
#define BIG_SIZE   (4u << 20)
#define LEAK_N	   16
#define LEAK_SIZE  (256u << 10)
#define PAGE	   4096

static void *kept[LEAK_N];

__attribute__((noinline)) static void many_small(void)
{
	for (int i = 0; i < SMALL_N; i++) {
		char *p = malloc(SMALL_SIZE);

		p[0] = (char)i;
		asm volatile("" ::"r"(p) : "memory");
		free(p);
	}
}

__attribute__((noinline)) static void big_touched(void)
{
	for (int i = 0; i < BIG_N; i++) {
		char *p = malloc(BIG_SIZE);

		memset(p, i + 1, BIG_SIZE);
		asm volatile("" ::"r"(p) : "memory");
		free(p);
	}
}

__attribute__((noinline)) static long leak_resident(void)
{
	static unsigned char vec[LEAK_SIZE / PAGE + 2];
	long pages = 0;

	for (int i = 0; i < LEAK_N; i++) {
		char *p = malloc(LEAK_SIZE);
		uintptr_t lo = (uintptr_t)p & ~(uintptr_t)(PAGE - 1);
		size_t span = (uintptr_t)p + LEAK_SIZE - lo;

		memset(p, i + 1, LEAK_SIZE / 2);
		kept[i] = p;
		if (!mincore((void *)lo, span, vec))
			for (size_t k = 0; k < (span + PAGE - 1) / PAGE; k++)
				pages += vec[k] & 1;
	}
	return pages;
}

int main(void)
{
	long resident;

	/* a fixed mmap threshold: every 4 MiB and 256 KiB block is an mmapped chunk, also
	 * after a free (glibc would otherwise raise its threshold past them) */
	mallopt(M_MMAP_THRESHOLD, 128 << 10);
	many_small();
	big_touched();
	resident = leak_resident();
	printf("{\"many_small\": {\"calls\": %d, \"bytes\": %d},"
	       " \"big_touched\": {\"calls\": %d, \"bytes\": %u, \"pages_written\": %u},"
	       " \"leak_resident\": {\"calls\": %d, \"bytes\": %u, \"resident_pages\": %ld}}\n",
	       SMALL_N, SMALL_N * SMALL_SIZE, BIG_N, BIG_N * BIG_SIZE, BIG_N * (BIG_SIZE / PAGE),
	       LEAK_N, LEAK_N * LEAK_SIZE, resident);
	return kept[0] == NULL;
}
