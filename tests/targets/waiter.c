/*
 * For attach tests: prints "ready PID", waits for a line on stdin, then does argv[1] rounds
 * of (malloc 4 KiB block, write it), frees them, prints its own counters as one JSON line
 * and waits for another line before exiting. With "spin" as argv[2] it instead loops
 * malloc/free forever and prints calls per second every 0.2 s, for the detach test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

static void *volatile keep;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;
	char line[64];
	void **blocks;

	setvbuf(stdout, NULL, _IOLBF, 0);
	blocks = calloc(n ? n : 1, sizeof(*blocks));
	printf("ready %d\n", getpid());
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	if (argc > 2 && !strcmp(argv[2], "spin")) {
		for (;;) {
			double t0 = now();
			long calls = 0;

			while (now() - t0 < 0.2) {
				for (int i = 0; i < 100; i++) {
					keep = malloc(64);
					free(keep);
				}
				calls += 100;
			}
			printf("rate %.0f at %.3f\n", calls / (now() - t0), now());
		}
	}
	for (long i = 0; i < n; i++) {
		blocks[i] = malloc(4096);
		memset(blocks[i], 1, 4096);
	}
	for (long i = 0; i < n; i++)
		free(blocks[i]);
	printf("done %ld\n", n);
	if (!fgets(line, sizeof(line), stdin))
		return 0;
	return 0;
}
