// SPDX-License-Identifier: GPL-2.0
/*
 * Target for test_maps, after the founding notes' mem_test: N (argv[1],
 * default 2000) blocks of 1040 bytes are malloc'ed and written, then freed in
 * allocation order. The heap is trimmed but keeps a top pad: [heap] stays
 * mapped with pages resident. Prints "ready N", waits for a byte on stdin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Keeps the compiler from dropping the mallocs and memsets. */
void *volatile sink;

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2000;
	char **v = malloc(n * sizeof(*v)), msg[64], c;

	for (int i = 0; i < n; i++) {
		v[i] = malloc(1040);
		memset(v[i], 1, 1040);
		sink = v[i];
	}
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
	write(1, msg, snprintf(msg, sizeof(msg), "ready %d\n", n));
	read(0, &c, 1);
	return 0;
}
