// SPDX-License-Identifier: GPL-2.0
/*
 * Misuses of the allocator for memstudy report --check (test_record.py), saying what it did:
 *   - a double free: A, B, A on a fastbin (run it with GLIBC_TUNABLES=
 *     glibc.malloc.tcache_count=0: then glibc checks only the fastbin's top, and lets it
 *     through), from double_free();
 *   - a use after free: blocks on the heap freed, their pages given back by malloc_trim(0),
 *     then written again by use_after_free(): the pages it finds not resident before
 *     writing (mincore) are the faults in freed memory it causes.
 * It prints "did: double_free=0xPTR size=N freed_pages_touched=M".
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#define BLOCK (96 << 10) /* below the mmap threshold: on the heap */

char *volatile blocks[10];

__attribute__((noinline)) static void *double_free(void)
{
	char *a = malloc(40), *b = malloc(40);

	free(a);
	free(b);
	free(a); /* again */
	return a;
}

__attribute__((noinline)) static long use_after_free(char *p, size_t len)
{
	unsigned char vec[BLOCK / 4096 + 2];
	char *page = (char *)((unsigned long)(p + 4095) & ~4095UL);
	size_t n = (p + len - page) / 4096;
	long touched = 0;

	if (mincore(page, n * 4096, vec))
		return -1;
	for (size_t i = 0; i < n; i++) {
		touched += !(vec[i] & 1);
		((volatile char *)page)[i * 4096] = 1; /* the block was freed */
	}
	return touched;
}

int main(void)
{
	char line[256];
	void *df;
	long touched;
	int n;

	for (int i = 0; i < 10; i++) {
		blocks[i] = malloc(BLOCK);
		memset(blocks[i], 1, BLOCK);
	}
	for (int i = 2; i < 8; i++) /* between live blocks: the heap cannot shrink */
		free(blocks[i]);
	malloc_trim(0); /* gives the free chunks' whole pages back (MADV_DONTNEED) */
	touched = use_after_free(blocks[4], BLOCK);
	df = double_free(); /* last: its fastbin is a loop from here on */
	n = snprintf(line, sizeof(line), "did: double_free=%p size=40 freed_pages_touched=%ld\n",
		     df, touched);
	return write(1, line, n) == n ? 0 : 1;
}
