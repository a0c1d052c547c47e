// SPDX-License-Identifier: GPL-2.0
/* mimalloc's own API, known numbers of calls (tests/test_cxx.py); linked with
 * libmimalloc.so.2 (prototypes from mimalloc 2.0's mimalloc.h). */
#include <stddef.h>
#include <stdio.h>

void *mi_malloc(size_t size);
void *mi_zalloc(size_t size);
void *mi_mallocn(size_t count, size_t size);
void *mi_reallocf(void *p, size_t newsize);
void mi_free(void *p);
void mi_free_size(void *p, size_t size);

static void *volatile sink;

int main(void)
{
	for (int i = 0; i < 300; i++) {
		sink = mi_zalloc(48);
		mi_free_size(sink, 48);
	}
	for (int i = 0; i < 200; i++) {
		sink = mi_mallocn(4, 16);
		sink = mi_reallocf(sink, 128);
		mi_free(sink);
	}
	for (int i = 0; i < 100; i++) {
		sink = mi_malloc(10);
		mi_free(sink);
	}
	printf("mi_zalloc 300 mi_free_size 300 mi_mallocn 200 mi_reallocf 200 mi_free 300 "
	       "mi_malloc 100\n");
	return 0;
}
