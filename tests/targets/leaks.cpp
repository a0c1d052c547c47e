// SPDX-License-Identifier: GPL-2.0
/*
 * A C++ program that leaks in known ways (memstudy report --leaks, test_record.py), and
 * says what it leaked: its own counts are the ground truth.
 *   - ROUNDS vectors made with new and never deleted (a C++ leak through operator new);
 *   - 8 page-aligned 64 KiB blocks written whole, never freed: their resident pages are
 *     counted here with mincore();
 *   - 3 small blocks from suppressed_leak(), which its own __lsan_default_suppressions()
 *     names;
 *   - what the C and C++ runtimes keep: a stdio buffer (printf), timezone data
 *     (localtime), a thread's TLS (a thread), the dynamic loader's (dlopen), and
 *     libstdc++'s emergency exception pool (allocated when libstdc++ starts).
 * Everything else it allocates it frees.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <vector>

#define ALIGNED_BLOCKS 8
#define ALIGNED_SIZE   (64 << 10)

std::vector<int> *kept[64]; /* global: the stores escape, so the allocations stay */

__attribute__((noinline)) static void leak_vectors(int n)
{
	for (int i = 0; i < n; i++)
		kept[i] = new std::vector<int>(1000); /* 16 B object + 4000 B of ints */
}

__attribute__((noinline)) static long leak_aligned(void)
{
	long pages = 0;

	for (int i = 0; i < ALIGNED_BLOCKS; i++) {
		void *p = NULL;
		unsigned char vec[ALIGNED_SIZE / 4096];

		if (posix_memalign(&p, 4096, ALIGNED_SIZE))
			exit(1);
		memset(p, i + 1, ALIGNED_SIZE);
		if (!mincore(p, ALIGNED_SIZE, vec))
			for (unsigned k = 0; k < sizeof(vec); k++)
				pages += vec[k] & 1;
		asm volatile("" ::"r"(p) : "memory"); /* lost: never freed */
	}
	return pages;
}

/* LeakSanitizer's way for a program to name its own suppressions (report --leaks too). */
extern "C" const char *__lsan_default_suppressions(void)
{
	return "# the program's own\nleak:suppressed_leak\n";
}

extern "C" __attribute__((noinline)) void suppressed_leak(void)
{
	for (int i = 0; i < 3; i++) {
		char *p = (char *)malloc(100);

		p[0] = 1;
		asm volatile("" ::"r"(p) : "memory");
	}
}

__attribute__((noinline)) static void churn(void)
{
	for (int i = 0; i < 1000; i++) {
		std::vector<long> v(i + 1);

		v[i] = i;
		free(malloc(64 + i));
	}
}

static void *thread_fn(void *arg)
{
	static __thread char tls[256];

	tls[0] = 1;
	asm volatile("" ::"r"(tls) : "memory");
	return arg;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 20;
	time_t now = 0;
	pthread_t th;
	long pages;

	if (rounds < 1 || rounds > 64)
		rounds = 20;
	pages = leak_aligned();
	leak_vectors(rounds);
	suppressed_leak();
	churn();
	localtime(&now);
	pthread_create(&th, NULL, thread_fn, NULL);
	pthread_join(th, NULL);
	dlopen("libz.so.1", RTLD_NOW);
	printf("leaked: vectors=%d vector_bytes=%d aligned=%d aligned_bytes=%d "
	       "aligned_resident_pages=%ld suppressed=3\n",
	       rounds, rounds * 4000, ALIGNED_BLOCKS, ALIGNED_BLOCKS * ALIGNED_SIZE, pages);
	return 0;
}
