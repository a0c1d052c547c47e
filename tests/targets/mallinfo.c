// SPDX-License-Identifier: GPL-2.0
/*
 * For memstudy maps' mallinfo2 (test_maps.py): a heap with free chunks in the bins, chunks
 * in the fastbins (their sizes' tcache filled first), mmapped chunks, and a second arena
 * (a thread's, kept alive). It then calls mallinfo2() and prints its fields as one JSON
 * line, without allocating (a stdio buffer would change the heap), and waits for a line
 * on stdin while memstudy reads it.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *keep[3000];
void *volatile big[3]; /* global: the compiler may not drop them */
static int go[2], done[2];

static void fill(void **v, int n, int seed)
{
	for (int i = 0; i < n; i++) {
		v[i] = malloc(24 + (i * 37 + seed) % 1500);
		memset(v[i], i, 16);
	}
	/* every third freed: free chunks between live ones, fastbins past a full tcache */
	for (int i = 0; i < n; i += 3) {
		free(v[i]);
		v[i] = NULL;
	}
}

static void *arena_thread(void *arg)
{
	static void *mine[600];
	char c;

	fill(mine, 600, 7);
	if (write(done[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
		return NULL;
	return arg;
}

int main(void)
{
	void *volatile small[64];
	struct mallinfo2 m;
	pthread_t th;
	char line[1024], c;
	int n;

	if (pipe(go) || pipe(done))
		return 1;
	/* first, while the top chunk is small: glibc mmaps them (past the threshold) */
	for (int i = 0; i < 3; i++)
		big[i] = malloc(200 << 10);
	free(big[1]);
	fill(keep, 3000, 1);
	for (int i = 0; i < 64; i++) /* 48-byte chunks: 7 to the tcache, the rest to a fastbin */
		small[i] = malloc(40);
	for (int i = 0; i < 64; i += 2)
		free(small[i]);
	pthread_create(&th, NULL, arena_thread, NULL);
	if (read(done[0], &c, 1) != 1)
		return 1;
	m = mallinfo2();
	n = snprintf(line, sizeof(line),
		     "{\"pid\": %d, \"arena\": %zu, \"ordblks\": %zu, \"smblks\": %zu, "
		     "\"hblks\": %zu, \"hblkhd\": %zu, \"usmblks\": %zu, \"fsmblks\": %zu, "
		     "\"uordblks\": %zu, \"fordblks\": %zu, \"keepcost\": %zu}\n",
		     getpid(), m.arena, m.ordblks, m.smblks, m.hblks, m.hblkhd, m.usmblks,
		     m.fsmblks, m.uordblks, m.fordblks, m.keepcost);
	if (write(1, line, n) != n || read(0, &c, 1) < 0)
		return 1;
	if (write(go[1], "g", 1) != 1)
		return 1;
	pthread_join(th, NULL);
	return 0; /* the rest stays: the process ends here */
}
