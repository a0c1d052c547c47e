// SPDX-License-Identifier: GPL-2.0
/*
 * Per-allocation attribution on synthetic record streams, built from the same record
 * structs the BPF side writes (bpf/memstudy.h): where each fault is charged, what a free
 * or a realloc does to the index, and why a free of an unknown block is put down to what.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "analyse/peralloc_int.h"
#include "check.h"

#define HEAP 0x5555550000ULL /* start_brk of the synthetic process */

struct stream {
	struct peralloc *pa;
	uint16_t seq;
};

static void start(struct stream *s, bool attached_late)
{
	struct ms_event_map brk = {.type = MS_EV_MAP,
				   .tid = 1,
				   .sys = MS_SYS_BRK,
				   .addr = HEAP + (1 << 20),
				   .old_addr = HEAP,
				   .old_len = HEAP};

	s->pa = peralloc__new(4242, attached_late, NULL);
	s->seq = 0;
	peralloc__event(s->pa, &brk, sizeof(brk)); /* a 1 MiB heap */
}

static void alloc(struct stream *s, int fn, uint64_t ptr, uint64_t size, uint64_t old,
		  uint64_t caller)
{
	struct ms_event_alloc e = {.type = MS_EV_ALLOC,
				   .tid = 1,
				   .ptr = ptr,
				   .size = size,
				   .old_ptr = old,
				   .caller = caller,
				   .stack_id = MS_STACK_NO_FP,
				   .fn = fn,
				   .seq = ++s->seq};

	peralloc__event(s->pa, &e, sizeof(e));
}

static void dealloc(struct stream *s, uint64_t ptr)
{
	struct ms_event_free e = {.type = MS_EV_FREE, .tid = 1, .ptr = ptr, .seq = ++s->seq};

	peralloc__event(s->pa, &e, sizeof(e));
}

static void fault(struct stream *s, uint64_t addr, uint16_t flags, uint16_t seq)
{
	struct ms_event_fault e = {.type = MS_EV_FAULT,
				   .tid = 1,
				   .addr = addr,
				   .ip = 0x401000,
				   .flags = flags,
				   .seq = seq};

	peralloc__event(s->pa, &e, sizeof(e));
}

static void finish(struct stream *s)
{
	uint64_t lost[MS_EV_TYPES] = {0};

	peralloc__finish(s->pa, -1, 0, lost, 0);
}

static const struct pa_stats *stats(struct stream *s)
{
	return peralloc__stats(s->pa);
}

TEST(fault_in_a_block_goes_to_its_site)
{
	struct stream s;

	start(&s, false);
	alloc(&s, MS_FN_MALLOC, HEAP + 0x1010, 1000, 0, 0x401111);
	alloc(&s, MS_FN_CALLOC, HEAP + 0x2010, 1000, 0, 0x402222);
	fault(&s, HEAP + 0x1010 + 500, MS_FAULT_WRITE, 0);
	fault(&s, HEAP + 0x2010 + 10, 0, 0);
	fault(&s, HEAP + 0x2010 + 20, 0, 0);
	finish(&s);
	CHECK_U64(peralloc__nsites(s.pa), 2);
	CHECK_U64(peralloc__site(s.pa, 0)->f.faults, 1);
	CHECK_U64(peralloc__site(s.pa, 1)->f.faults, 2);
	CHECK_U64(peralloc__site(s.pa, 1)->fn_mask, 1u << MS_FN_CALLOC);
	CHECK_U64(peralloc__site(s.pa, 1)->max_faults, 2);
	CHECK_U64(stats(&s)->kind[PA_IN_ALLOC].faults, 3);
	CHECK_U64(stats(&s)->live_at_end, 2);
	peralloc__free(s.pa);
}

TEST(chunk_header_is_allocator_metadata)
{
	struct stream s;

	start(&s, false);
	alloc(&s, MS_FN_MALLOC, HEAP + 0x3010, 100, 0, 0x401111);
	fault(&s, HEAP + 0x3008, 0, 0); /* glibc's size field, just before the block */
	fault(&s, HEAP + 0x9000, 0, 0); /* heap memory nothing holds: the top chunk */
	finish(&s);
	CHECK_U64(stats(&s)->kind[PA_META].faults, 2);
	CHECK_U64(stats(&s)->kind[PA_IN_ALLOC].faults, 0);
	peralloc__free(s.pa);
}

TEST(freed_memory_is_told_apart)
{
	struct stream s;

	start(&s, false);
	alloc(&s, MS_FN_MALLOC, HEAP + 0x10010, 3 * 4096, 0, 0x401111);
	dealloc(&s, HEAP + 0x10010);
	fault(&s, HEAP + 0x11000, MS_FAULT_WRITE, 0); /* a page the freed block held */
	finish(&s);
	CHECK_U64(stats(&s)->kind[PA_FREED].faults, 1);
	CHECK_U64(peralloc__site(s.pa, 0)->frees, 1);
	CHECK_U64(stats(&s)->live_at_end, 0);
	peralloc__free(s.pa);
}

TEST(realloc_that_moves_frees_the_old_block)
{
	struct stream s;

	start(&s, false);
	alloc(&s, MS_FN_MALLOC, HEAP + 0x1010, 100, 0, 0x401111);
	alloc(&s, MS_FN_REALLOC, HEAP + 0x5010, 5000, HEAP + 0x1010, 0x402222);
	fault(&s, HEAP + 0x5010 + 4500, 0, 0); /* the new block, a large one (treap) */
	finish(&s);
	CHECK_U64(stats(&s)->allocs, 2);
	CHECK_U64(peralloc__site(s.pa, 0)->frees, 1); /* malloc's block went with the move */
	CHECK_U64(peralloc__site(s.pa, 1)->f.faults, 1);
	CHECK_U64(stats(&s)->live_at_end, 1);
	CHECK_U64(stats(&s)->unknown_frees, 0);
	peralloc__free(s.pa);
}

TEST(fault_inside_malloc_waits_for_its_record)
{
	struct stream s;

	start(&s, false);
	/* malloc writes the new chunk's header before it returns: the fault comes first,
	 * inside the call (seq 1), outside any live block */
	fault(&s, HEAP + 0x7008, MS_FAULT_IN_ALLOC | MS_FAULT_WRITE, 1);
	alloc(&s, MS_FN_MALLOC, HEAP + 0x7010, 200, 0, 0x401111);
	finish(&s);
	CHECK_U64(peralloc__site(s.pa, 0)->f.faults, 1);
	CHECK_U64(peralloc__site(s.pa, 0)->f.in_alloc_code, 1);
	CHECK_U64(stats(&s)->kind[PA_META].faults, 0);
	peralloc__free(s.pa);
}

TEST(unknown_frees_by_cause_when_run)
{
	struct stream s;
	volatile uint64_t lost_allocs = 0;

	start(&s, false);
	peralloc__watch_lost_allocs(s.pa, &lost_allocs);
	dealloc(&s, HEAP + 0x100); /* glibc's own block (tcache): no record dropped */
	lost_allocs = 2;	   /* the kernel dropped two allocation records */
	dealloc(&s, HEAP + 0x200);
	dealloc(&s, HEAP + 0x300);
	dealloc(&s, HEAP + 0x400); /* the third: more than were dropped */
	finish(&s);
	CHECK_U64(stats(&s)->unknown_frees, 4);
	CHECK_U64(stats(&s)->unknown_records_lost, 2);
	CHECK_U64(stats(&s)->unknown_allocator_internal, 2);
	CHECK_U64(stats(&s)->unknown_before_tracing, 0);
	peralloc__free(s.pa);
}

TEST(unknown_frees_by_cause_when_attached)
{
	struct stream s;
	volatile uint64_t lost_allocs = 1;

	start(&s, true); /* --pid: the process ran before */
	peralloc__watch_lost_allocs(s.pa, &lost_allocs);
	dealloc(&s, HEAP + 0x100);
	dealloc(&s, HEAP + 0x200);
	finish(&s);
	CHECK_U64(stats(&s)->unknown_records_lost, 1);
	CHECK_U64(stats(&s)->unknown_before_tracing, 1);
	CHECK_U64(stats(&s)->unknown_allocator_internal, 0);
	peralloc__free(s.pa);
}

TEST(exec_ends_the_old_image)
{
	struct stream s;

	start(&s, false);
	alloc(&s, MS_FN_MALLOC, HEAP + 0x1010, 100, 0, 0x401111);
	alloc(&s, MS_FN_MALLOC, HEAP + 0x2010, 100, 0, 0x401111);
	peralloc__exec(s.pa);
	/* the new image gets the same address: not a conflict with the old block */
	alloc(&s, MS_FN_MALLOC, HEAP + 0x1010, 64, 0, 0x409999);
	dealloc(&s, HEAP + 0x1010);
	finish(&s);
	CHECK_U64(stats(&s)->ended_by_exec, 2);
	CHECK_U64(stats(&s)->reuse_conflicts, 0);
	CHECK_U64(stats(&s)->unknown_frees, 0);
	CHECK_U64(stats(&s)->live_at_end, 0);
	peralloc__free(s.pa);
}

TEST(stacks_and_other_anonymous_memory)
{
	struct stream s;
	struct ms_event_map stack = {.type = MS_EV_MAP,
				     .tid = 1,
				     .sys = MS_SYS_MMAP,
				     .addr = 0x7f0000000000ULL,
				     .len = 8 << 20,
				     .flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK};
	struct ms_event_map anon = {.type = MS_EV_MAP,
				    .tid = 1,
				    .sys = MS_SYS_MMAP,
				    .addr = 0x7f1000000000ULL,
				    .len = 1 << 20,
				    .flags = MAP_PRIVATE | MAP_ANONYMOUS};

	start(&s, false);
	peralloc__event(s.pa, &stack, sizeof(stack));
	peralloc__event(s.pa, &anon, sizeof(anon));
	fault(&s, 0x7f0000100000ULL, MS_FAULT_WRITE, 0);
	fault(&s, 0x7f1000000100ULL, MS_FAULT_WRITE, 0);
	fault(&s, 0x7f2000000000ULL, 0, 0); /* in no region memstudy saw */
	finish(&s);
	CHECK_U64(stats(&s)->kind[PA_STACK].faults, 1);
	CHECK_U64(stats(&s)->kind[PA_ANON].faults, 1);
	CHECK_U64(stats(&s)->kind[PA_OTHER].faults, 1);
	peralloc__free(s.pa);
}

TEST(many_blocks_in_one_page_and_large_ones)
{
	struct stream s;

	start(&s, false);
	/* 100 blocks of 32 bytes: a page's list holds several; each fault finds its own */
	for (int i = 0; i < 100; i++)
		alloc(&s, MS_FN_MALLOC, HEAP + 0x20010 + i * 48, 32, 0, 0x401000 + (i % 4));
	for (int i = 0; i < 100; i++)
		fault(&s, HEAP + 0x20010 + i * 48 + 31, 0, 0);
	/* a 300 KiB block: found from any address inside it */
	alloc(&s, MS_FN_MALLOC, HEAP + 0x40010, 300 << 10, 0, 0x409000);
	fault(&s, HEAP + 0x40010 + (299 << 10), 0, 0);
	for (int i = 0; i < 50; i++)
		dealloc(&s, HEAP + 0x20010 + i * 48);
	finish(&s);
	CHECK_U64(peralloc__nsites(s.pa), 5);
	for (uint32_t i = 0; i < 4; i++)
		CHECK_U64(peralloc__site(s.pa, i)->f.faults, 25);
	CHECK_U64(peralloc__site(s.pa, 4)->f.faults, 1);
	CHECK_U64(stats(&s)->live_max, 101);
	CHECK_U64(stats(&s)->live_at_end, 51);
	CHECK_U64(stats(&s)->frees, 50);
	peralloc__free(s.pa);
}

/* A custom allocator's record: its block, and the pool it is allocated in (0: none). */
static void alloc_in(struct stream *s, int fn, uint64_t ptr, uint64_t size, uint64_t pool)
{
	struct ms_event_alloc e = {.type = MS_EV_ALLOC,
				   .tid = 1,
				   .ptr = ptr,
				   .size = size,
				   .old_ptr = pool,
				   .caller = 0x403333,
				   .stack_id = MS_STACK_NO_FP,
				   .fn = fn,
				   .kind = MS_KIND_ALLOC,
				   .seq = ++s->seq};

	peralloc__event(s->pa, &e, sizeof(e));
}

static void release(struct stream *s, uint64_t pool, int kind)
{
	struct ms_event_free e = {
	    .type = MS_EV_FREE, .tid = 1, .ptr = pool, .kind = kind, .seq = ++s->seq};

	peralloc__event(s->pa, &e, sizeof(e));
}

TEST(a_pool_clear_ends_its_blocks_only)
{
	struct stream s;

	start(&s, false);
	alloc_in(&s, MS_FN_CUSTOM, HEAP + 0x100, 64, 0x7000);
	alloc_in(&s, MS_FN_CUSTOM, HEAP + 0x200, 64, 0x7000);
	alloc_in(&s, MS_FN_CUSTOM, HEAP + 0x300, 64, 0x8000); /* another pool */
	release(&s, 0x7000, MS_KIND_POOL_CLEAR);
	alloc_in(&s, MS_FN_CUSTOM, HEAP + 0x100, 64, 0x7000); /* its memory again, after */
	release(&s, 0x9000, MS_KIND_POOL_DESTROY);	      /* a pool never seen */
	finish(&s);
	CHECK_U64(stats(&s)->pool_clears, 1);
	CHECK_U64(stats(&s)->pool_destroys, 1);
	CHECK_U64(stats(&s)->pool_frees, 2);
	CHECK_U64(stats(&s)->frees, 0); /* not frees of blocks one by one */
	CHECK_U64(stats(&s)->reuse_conflicts, 0);
	CHECK_U64(stats(&s)->live_at_end, 2);
	CHECK_U64(stats(&s)->unknown_frees, 0);
	peralloc__free(s.pa);
}

TEST(a_custom_block_at_its_arenas_address)
{
	struct stream s;

	start(&s, false);
	/* a pool's memory from malloc, and the pool's first block where it starts */
	alloc(&s, MS_FN_MALLOC, HEAP + 0x1010, 8192, 0, 0x401111);
	alloc_in(&s, MS_FN_CUSTOM, HEAP + 0x1010, 48, 0);
	fault(&s, HEAP + 0x1010 + 10, 0, 0);   /* in the custom block */
	fault(&s, HEAP + 0x1010 + 6000, 0, 0); /* in the arena, in no custom block */
	finish(&s);
	CHECK_U64(stats(&s)->reuse_conflicts, 0);
	CHECK_U64(peralloc__site(s.pa, 1)->f.faults, 1);
	CHECK_U64(peralloc__site(s.pa, 0)->f.faults, 1);
	CHECK_U64(stats(&s)->live_at_end, 2);
	peralloc__free(s.pa);
}

TEST(a_free_at_an_arenas_address_is_told_by_its_function)
{
	struct ms_event_free custom = {.type = MS_EV_FREE,
				       .tid = 1,
				       .ptr = HEAP + 0x1010,
				       .kind = MS_KIND_FREE,
				       .fn = MS_FN_CUSTOM + 1};
	struct stream s;

	start(&s, false);
	alloc(&s, MS_FN_MALLOC, HEAP + 0x1010, 8192, 0, 0x401111);
	alloc_in(&s, MS_FN_CUSTOM, HEAP + 0x1010, 48, 0);
	peralloc__event(s.pa, &custom, sizeof(custom)); /* the pool's free: its block */
	dealloc(&s, HEAP + 0x1010);			/* glibc's free: the arena */
	finish(&s);
	CHECK_U64(peralloc__site(s.pa, 1)->frees, 1);
	CHECK_U64(peralloc__site(s.pa, 0)->frees, 1);
	CHECK_U64(stats(&s)->unknown_frees, 0);
	CHECK_U64(stats(&s)->live_at_end, 0);
	peralloc__free(s.pa);
}

TEST(a_forked_child_starts_with_its_parents_blocks)
{
	struct stream parent, child;

	start(&parent, false);
	alloc(&parent, MS_FN_MALLOC, HEAP + 0x1010, 100, 0, 0x401111);
	alloc(&parent, MS_FN_MALLOC, HEAP + 0x2010, 100, 0, 0x401111);
	alloc(&parent, MS_FN_MALLOC, HEAP + 0x3010, 100, 0, 0x401111);
	start(&child, false);
	peralloc__inherit(child.pa, parent.pa, 4242);
	dealloc(&child, HEAP + 0x2010);		/* freed in the child: its own copy */
	fault(&child, HEAP + 0x3010 + 8, 0, 0); /* copy-on-write on an inherited block */
	alloc(&child, MS_FN_MALLOC, HEAP + 0x4010, 100, 0, 0x402222);
	finish(&child);
	finish(&parent);
	CHECK_U64(stats(&child)->inherited, 3);
	CHECK(peralloc__site(child.pa, 0)->inherited_from == 4242);
	CHECK_U64(peralloc__site(child.pa, 0)->frees, 1);
	CHECK_U64(peralloc__site(child.pa, 0)->f.faults, 1);
	CHECK_U64(stats(&child)->unknown_frees, 0);
	CHECK_U64(stats(&child)->allocs, 1); /* its own */
	CHECK_U64(stats(&child)->live_at_end, 3);
	CHECK_U64(stats(&parent)->live_at_end, 3); /* the parent's index is its own */
	peralloc__free(child.pa);
	peralloc__free(parent.pa);
}
