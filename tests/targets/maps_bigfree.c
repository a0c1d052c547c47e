// SPDX-License-Identifier: GPL-2.0
/*
 * Target for test_maps: malloc(4 MiB) is above the mmap threshold, so glibc
 * gives it its own mapping (an mmap-chunk). Prints "ready ADDR", waits for a
 * byte; frees it (the mapping goes away), prints "freed", waits again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Keeps the compiler from dropping the malloc and the memset. */
void *volatile sink;

int main(void)
{
	size_t size = 4 << 20;
	char *p = malloc(size), msg[64], c;

	memset(p, 1, size);
	sink = p;
	write(1, msg, snprintf(msg, sizeof(msg), "ready %p\n", (void *)p));
	read(0, &c, 1);
	free(p);
	write(1, "freed\n", 6);
	read(0, &c, 1);
	return 0;
}
