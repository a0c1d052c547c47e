/* Makes K rounds of every traced memory syscall: mmap, mprotect, madvise, mremap, munmap,
 * and sbrk up and down (argv[1], default 100). No stdio before the loop. */
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
	long k = argc > 1 ? atol(argv[1]) : 100;

	for (long i = 0; i < k; i++) {
		char *p =
		    mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 1;
		p[0] = 1;
		p = mremap(p, 65536, 131072, MREMAP_MAYMOVE);
		if (p == MAP_FAILED)
			return 1;
		madvise(p + 4096, 8192, MADV_DONTNEED);
		mprotect(p, 4096, PROT_READ);
		munmap(p, 131072);
		sbrk(4096);
		sbrk(-4096);
	}
	return 0;
}
