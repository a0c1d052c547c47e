/*
 * Throughput under tracing: T threads (argv[1], default 2) call malloc(64)/free as fast as
 * they can for S seconds (argv[2], default 3), then print the calls made, so a run under
 * memstudy can be checked for lost events at the highest call rate the machine reaches.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double seconds = 3;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *spin(void *arg)
{
	long *calls = arg;
	double end = now() + seconds;

	while (now() < end) {
		for (int i = 0; i < 64; i++) {
			void *volatile p = malloc(64);

			free(p);
		}
		*calls += 128;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int t = argc > 1 ? atoi(argv[1]) : 2;
	pthread_t th[64];
	long calls[64] = {0}, total = 0;
	double t0;

	seconds = argc > 2 ? atof(argv[2]) : 3;
	if (t < 1 || t > 64)
		return 2;
	t0 = now();
	for (int i = 0; i < t; i++)
		pthread_create(&th[i], NULL, spin, &calls[i]);
	for (int i = 0; i < t; i++) {
		pthread_join(th[i], NULL);
		total += calls[i];
	}
	printf("calls %ld rate %.0f\n", total, total / (now() - t0));
	return 0;
}
