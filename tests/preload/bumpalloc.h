/* A bump allocator that defines only malloc, free, calloc and realloc, for tests of an
 * allocator that is not glibc's: in an LD_PRELOADed library or in the program itself. */
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

static char *bump_next, *bump_end;

static void *bump_alloc(size_t n)
{
	size_t *h;

	n = (n + 15) & ~(size_t)15;
	if (!bump_next || bump_next + n + 16 > bump_end) {
		size_t len = n + 16 > (64 << 20) ? n + 16 : (64 << 20);
		bump_next =
		    mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (bump_next == MAP_FAILED)
			return NULL;
		bump_end = bump_next + len;
	}
	h = (size_t *)bump_next;
	*h = n;
	bump_next += n + 16;
	return h + 2;
}

__attribute__((visibility("default"), noinline)) void *malloc(size_t n)
{
	return bump_alloc(n);
}

__attribute__((visibility("default"), noinline)) void free(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory"); /* a call the compiler cannot drop */
}

__attribute__((visibility("default"), noinline)) void *calloc(size_t a, size_t b)
{
	return bump_alloc(a * b); /* fresh mmap memory is zero */
}

__attribute__((visibility("default"), noinline)) void *realloc(void *p, size_t n)
{
	void *q = bump_alloc(n);

	if (p && q) {
		size_t old = ((size_t *)p)[-2];
		memcpy(q, p, old < n ? old : n);
	}
	return q;
}
