// SPDX-License-Identifier: GPL-2.0
/*
 * Target for test_maps: T threads (argv[1], default 3) each malloc and touch
 * 256 KiB, so glibc gives each its own arena (one arena-heap each). Prints
 * "ready" once all threads hold their memory, then waits for a byte on stdin.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_barrier_t ready, done;
/* Stores through a volatile pointer keep the compiler from dropping malloc+memset. */
void *volatile sink;

static void *worker(void *arg)
{
	char *p = malloc(64 * 1024);

	memset(p, 1, 64 * 1024);
	sink = p;
	pthread_barrier_wait(&ready);
	pthread_barrier_wait(&done); /* blocked in futex: /proc/.../syscall shows the sp */
	free(p);
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	pthread_t *t = calloc(n, sizeof(*t));
	char msg[64], c;

	pthread_barrier_init(&ready, NULL, n + 1);
	pthread_barrier_init(&done, NULL, n + 1);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	pthread_barrier_wait(&ready);
	/* snprintf + write: stdio's buffer would be one more heap allocation. */
	write(1, msg, snprintf(msg, sizeof(msg), "ready %d\n", n));
	read(0, &c, 1);
	pthread_barrier_wait(&done);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return 0;
}
