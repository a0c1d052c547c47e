// SPDX-License-Identifier: GPL-2.0
/*
 * Forks CHILDREN processes, each making K mallocs and K frees as the first thing it does
 * after fork returns, then exiting with status 3; the parent waits for them all. With
 * "wait", it first says "ready PID" and waits for a line on stdin (memstudy --pid).
 *   fork_storm CHILDREN K [wait]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

static void *volatile sink;

int main(int argc, char **argv)
{
	long children = argc > 1 ? atol(argv[1]) : 20, k = argc > 2 ? atol(argv[2]) : 100;
	char line[16];

	if (argc > 3 && !strcmp(argv[3], "wait")) {
		printf("ready %d\n", (int)getpid());
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return 1;
	}

	for (long c = 0; c < children; c++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0) {
			for (long i = 0; i < k; i++) {
				sink = malloc(32 + i % 64);
				free(sink);
			}
			_exit(3);
		}
	}
	while (wait(NULL) > 0)
		;
	printf("{\"children\": %ld, \"mallocs_per_child\": %ld}\n", children, k);
	return 0;
}
