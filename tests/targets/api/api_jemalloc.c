// SPDX-License-Identifier: GPL-2.0
/* jemalloc's own API, known numbers of calls (tests/test_cxx.py); linked with libjemalloc.so.2
 * (Debian ships no header for it: the prototypes are jemalloc 5's). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

void *mallocx(size_t size, int flags);
void *rallocx(void *ptr, size_t size, int flags);
size_t xallocx(void *ptr, size_t size, size_t extra, int flags);
void sdallocx(void *ptr, size_t size, int flags);
void dallocx(void *ptr, int flags);

static void *volatile sink;

int main(void)
{
	for (int i = 0; i < 300; i++) {
		sink = mallocx(64, 0);
		sdallocx(sink, 64, 0);
	}
	for (int i = 0; i < 200; i++) {
		sink = mallocx(32, 0);
		sink = rallocx(sink, 256, 0);
		xallocx(sink, 512, 0, 0);
		dallocx(sink, 0);
	}
	for (int i = 0; i < 100; i++) {
		sink = malloc(10);
		free(sink);
	}
	printf(
	    "mallocx 500 sdallocx 300 rallocx 200 xallocx 200 dallocx 200 malloc 100 free 100\n");
	return 0;
}
