/* K blocks of 1 MiB from malloc, each written in full, then freed: with the mmap threshold
 * pinned at 128 KiB every one is its own mmap and munmap (argv[1] = K, default 10). */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	long k = argc > 1 ? atol(argv[1]) : 10;

	/* Pinning the threshold stops glibc raising it after the first free. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	for (long i = 0; i < k; i++) {
		char *volatile p = malloc(1 << 20);

		if (!p)
			return 1;
		memset(p, 1, 1 << 20);
		free(p);
	}
	return 0;
}
