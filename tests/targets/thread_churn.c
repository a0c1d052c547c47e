/*
 * Short-lived threads: W waves (argv[1], default 100) of two threads, each making M
 * malloc/free pairs (argv[2], default 50) and exiting, so per-thread state in the kernel is
 * claimed and given back many times (tid-indexed slots, memstudy.bpf.c).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static long m = 50;

static void *work(void *arg)
{
	for (long i = 0; i < m; i++) {
		void *volatile p = malloc(48);

		free(p);
	}
	return arg;
}

int main(int argc, char **argv)
{
	long waves = argc > 1 ? atol(argv[1]) : 100;

	m = argc > 2 ? atol(argv[2]) : 50;
	for (long w = 0; w < waves; w++) {
		pthread_t a, b;

		if (pthread_create(&a, NULL, work, NULL) || pthread_create(&b, NULL, work, NULL))
			return 1;
		pthread_join(a, NULL);
		pthread_join(b, NULL);
	}
	printf("threads %ld mallocs %ld\n", 2 * waves, 2 * waves * m);
	return 0;
}
