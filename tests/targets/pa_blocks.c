/* Per-allocation ground truth: K blocks of 1 MiB from malloc, all live at once, written in
 * full by pa_alloc_full or half by pa_alloc_half, then freed. The mmap threshold is pinned,
 * so each block is its own mapping and each page of it faults exactly once.
 * argv: K (default 8). */
#pragma GCC optimize("no-omit-frame-pointer")
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK (1 << 20)

__attribute__((noinline)) void *pa_alloc_full(void)
{
	char *p = malloc(BLOCK);

	if (p)
		memset(p, 1, BLOCK);
	return p;
}

__attribute__((noinline)) void *pa_alloc_half(void)
{
	char *p = malloc(BLOCK);

	if (p)
		memset(p, 1, BLOCK / 2);
	return p;
}

int main(int argc, char **argv)
{
	long k = argc > 1 ? atol(argv[1]) : 8;
	void **v = calloc(2 * k, sizeof(*v));

	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	for (long i = 0; i < k; i++) {
		v[2 * i] = pa_alloc_full();
		v[2 * i + 1] = pa_alloc_half();
		if (!v[2 * i] || !v[2 * i + 1])
			return 1;
	}
	for (long i = 0; i < 2 * k; i++)
		free(v[i]);
	free(v);
	return 0;
}
