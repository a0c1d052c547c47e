/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memstudy report --check: what glibc's mcheck/mprobe and valgrind's memcheck say about
 * the allocator calls themselves, from a recording's stream: a free of a block already
 * freed (double free), a free or realloc of a pointer the allocator never returned, a
 * realloc of a freed block, and the program's touches of memory it had freed (a fault in
 * freed memory outside allocator calls: a use after free, seen when the page had been
 * given back). Each with the allocation's stack and the times and threads involved.
 */
#ifndef MEMSTUDY_OUTPUT_CHECK_H
#define MEMSTUDY_OUTPUT_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

struct peralloc;
struct checker;

struct checker *checker__new(void);
/* A replay observer (before the collector takes each record). */
void checker__record(void *c, struct peralloc *pa, uint32_t pid, const void *rec, uint32_t len);
/* The frames of the recording's stack ID (record/replay.c's interned stacks): how many. */
typedef int (*checker_stack_fn)(void *ctx, uint32_t id, const uint64_t **frames);
/* The findings, their stacks named with PA's code map; T0_NS: the trace's start.
 * ATTACHED_LATE (--pid): a free of a pointer never seen allocated is of a block older than
 * the trace, not an error. Returns how many problems were found. */
uint64_t checker__print(struct checker *c, struct peralloc *pa, checker_stack_fn stacks, void *ctx,
			uint64_t t0_ns, bool attached_late, FILE *out);
json_object *checker__json(struct checker *c, struct peralloc *pa, checker_stack_fn stacks,
			   void *ctx, uint64_t t0_ns, bool attached_late);
void checker__free(struct checker *c);

#endif
