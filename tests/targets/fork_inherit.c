// SPDX-License-Identifier: GPL-2.0
/*
 * A child that lives on its parent's heap: the parent allocates N blocks of 4 KiB and
 * writes them, then forks; the child frees the first N/2 (blocks it never allocated itself),
 * writes one byte into each of the others (copy-on-write faults on inherited memory) and
 * allocates K blocks of its own, freed before it exits; the parent waits and frees all.
 *   fork_inherit N K
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200, k = argc > 2 ? atol(argv[2]) : 50;
	char **blocks = calloc(n, sizeof(*blocks));
	pid_t pid;

	for (long i = 0; i < n; i++) {
		blocks[i] = malloc(4096);
		memset(blocks[i], 1, 4096);
	}
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		char **mine = calloc(k, sizeof(*mine));

		for (long i = 0; i < n / 2; i++)
			free(blocks[i]);
		for (long i = n / 2; i < n; i++)
			blocks[i][0] = 2;
		for (long i = 0; i < k; i++)
			mine[i] = malloc(100);
		for (long i = 0; i < k; i++)
			free(mine[i]);
		free(mine);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	for (long i = 0; i < n; i++)
		free(blocks[i]);
	free(blocks);
	printf("{\"inherited\": %ld, \"child_frees_inherited\": %ld, \"child_mallocs\": %ld}\n",
	       n + 1, n / 2, k + 1);
	return 0;
}
