/*
 * Throughput under tracing: T threads (argv[1], default 2) call malloc(64)/free as fast as
 * they can for S seconds (argv[2], default 3), then print the calls made, so a run under
 * memstudy can be checked for lost events at the highest call rate the machine reaches.
 * argv[3], D: the loop runs D frames deep (built without frame pointers), for stacks.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double seconds = 3;
static int depth;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void spin_here(long *calls)
{
	double end = now() + seconds;

	while (now() < end) {
		for (int i = 0; i < 64; i++) {
			void *volatile p = malloc(64);

			free(p);
		}
		*calls += 128;
	}
}

static __attribute__((noinline)) void spin_at(long *calls, int d)
{
	if (d > 1)
		spin_at(calls, d - 1);
	else
		spin_here(calls);
	__asm__ volatile("" ::: "memory"); /* a call, not a jump: a frame each */
}

static void *spin(void *arg)
{
	spin_at(arg, depth);
	return NULL;
}

int main(int argc, char **argv)
{
	int t = argc > 1 ? atoi(argv[1]) : 2;
	pthread_t th[64];
	long calls[64] = {0}, total = 0;
	double t0;

	seconds = argc > 2 ? atof(argv[2]) : 3;
	depth = argc > 3 ? atoi(argv[3]) : 1;
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
