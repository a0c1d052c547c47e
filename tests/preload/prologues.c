// SPDX-License-Identifier: GPL-2.0
/*
 * An LD_PRELOAD allocator whose entry points begin with the instruction shapes probe
 * placement (user/probe_place.c) must decide on, each then jumping to a small bump
 * allocator. tests/test_probe_place.py checks where memstudy put each probe, and that the
 * moved ones still count every call and read the right arguments.
 *
 *   malloc          push           emulated at +0
 *   free            test; je       moved to +3 (the je), as on glibc 2.36
 *   calloc          mov rax, rdi   moved to +3: writes no register the probe reads
 *   realloc         lea rsi, [rsi] kept at +0: writes rsi, the size the probe reads
 *   reallocarray    n*size into rsi moved to +9 (the jo), as on glibc 2.36: the probe reads
 *                   the product from rsi there
 *   posix_memalign  cmpb rip-rel   moved to +7, as on glibc 2.36
 *   memalign        sub rsp        kept at +0: moves the stack pointer (return probe)
 *   aligned_alloc   13 x mov       kept at +0: no emulated instruction in reach
 *   valloc          xor; push      kept at +0: another function jumps to the push
 *   pvalloc         mov rsi,rdi; xor edi; nop   moved to +5 (the nop), the size read
 *                   from rsi, where the prologue copied it before clearing rdi
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HIDDEN __attribute__((visibility("hidden"), used))

static char heap[256 << 20] __attribute__((aligned(4096)));
static size_t heap_top;
HIDDEN char pp_flag;

/* 16-byte header holding the size, so realloc can copy. */
static void *bump(size_t n, size_t align)
{
	size_t start, next, cur;

	if (align < 16)
		align = 16;
	do {
		cur = __atomic_load_n(&heap_top, __ATOMIC_RELAXED);
		start = (cur + 16 + align - 1) & ~(align - 1);
		next = start + n;
		if (next > sizeof(heap) || next < start)
			return NULL;
	} while (!__atomic_compare_exchange_n(&heap_top, &cur, next, 0, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	*(size_t *)(heap + start - 16) = n;
	return heap + start;
}

HIDDEN void *pp_malloc(size_t n)
{
	return bump(n, 16);
}

HIDDEN void pp_free(void *p)
{
	(void)p;
}

HIDDEN void *pp_calloc(size_t a, size_t b)
{
	size_t n;

	if (__builtin_mul_overflow(a, b, &n))
		return NULL;
	return bump(n, 16); /* the heap is never reused: already zero */
}

HIDDEN void *pp_realloc(void *p, size_t n)
{
	void *q = bump(n, 16);
	size_t old;

	if (p && q) {
		old = *(size_t *)((char *)p - 16);
		memcpy(q, p, old < n ? old : n);
	}
	return q;
}

HIDDEN void *pp_overflow(void)
{
	errno = ENOMEM;
	return NULL;
}

HIDDEN int pp_posix_memalign(void **out, size_t align, size_t n)
{
	void *p = bump(n, align);

	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

HIDDEN void *pp_memalign(size_t align, size_t n)
{
	return bump(n, align);
}

HIDDEN void *pp_page(size_t n)
{
	return bump(n, 4096);
}

HIDDEN void *pp_pvalloc(size_t n)
{
	return bump((n + 4095) & ~(size_t)4095, 4096);
}

#define ENTRY(name) ".globl " #name "\n.type " #name ",@function\n" #name ":\n"
#define END(name)   ".size " #name ",.-" #name "\n"

/* One prologue a line: */
/* clang-format off */
asm(".text\n"
    ENTRY(malloc) "push %rbx\n pop %rbx\n jmp pp_malloc\n" END(malloc)
    ENTRY(free) "test %rdi,%rdi\n je 1f\n jmp pp_free\n1: ret\n" END(free)
    ENTRY(calloc) "mov %rdi,%rax\n push %rbx\n pop %rbx\n jmp pp_calloc\n" END(calloc)
    ENTRY(realloc) "lea 0(%rsi),%rsi\n push %rbx\n pop %rbx\n jmp pp_realloc\n" END(realloc)
    ENTRY(reallocarray) "mov %rsi,%rax\n mul %rdx\n mov %rax,%rsi\n jo 1f\n jmp pp_realloc\n"
			"1: jmp pp_overflow\n" END(reallocarray)
    ENTRY(posix_memalign) "cmpb $0,pp_flag(%rip)\n push %rbx\n pop %rbx\n"
			  " jmp pp_posix_memalign\n" END(posix_memalign)
    ENTRY(memalign) "sub $8,%rsp\n add $8,%rsp\n push %rbx\n pop %rbx\n jmp pp_memalign\n"
		    END(memalign)
    ENTRY(aligned_alloc) "mov %rdi,%rax\n mov %rdi,%rax\n mov %rdi,%rax\n mov %rdi,%rax\n"
			 " mov %rdi,%rax\n mov %rdi,%rax\n mov %rdi,%rax\n mov %rdi,%rax\n"
			 " mov %rdi,%rax\n mov %rdi,%rax\n mov %rdi,%rax\n mov %rdi,%rax\n"
			 " mov %rdi,%rax\n push %rbx\n pop %rbx\n jmp pp_memalign\n"
			 END(aligned_alloc)
    ENTRY(valloc) "xor %eax,%eax\n.Lvalloc_push:\n push %rbx\n pop %rbx\n jmp pp_page\n"
		  END(valloc)
    ENTRY(pp_jumper) "jmp .Lvalloc_push\n" END(pp_jumper)
    ENTRY(pvalloc) "mov %rdi,%rsi\n xor %edi,%edi\n nop\n mov %rsi,%rdi\n jmp pp_pvalloc\n"
		   END(pvalloc));
/* clang-format on */
