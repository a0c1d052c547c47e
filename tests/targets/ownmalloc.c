/* A program with its own malloc (the bump allocator): memstudy must probe the executable,
 * not libc. Makes argv[1] (default 500) malloc+free pairs. */
#include <stdlib.h>
#include "../preload/bumpalloc.h"

void *volatile keep;

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 500;

	for (long i = 0; i < n; i++) {
		keep = malloc(32);
		free(keep);
	}
	return 0;
}
