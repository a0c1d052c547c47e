/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-allocation mode's collector: consumes the allocation, free, fault and mapping records
 * of bpf/memstudy.h in stream order, keeps an index of the live allocations and of the
 * target's mappings, and charges every fault to the allocation (or region) that held the
 * faulting address at that moment. Reports per call site (docs/per-allocation.md).
 */
#ifndef MEMSTUDY_PERALLOC_H
#define MEMSTUDY_PERALLOC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "memstudy.h"
#include "analyse/unwind.h"

struct peralloc;

struct codemap;
/* ATTACHED_LATE: --pid, so blocks may predate tracing. CM: the trace's code, outliving PA
 * (NULL: PA keeps one of its own). */
struct peralloc *peralloc__new(pid_t pid, bool attached_late, struct codemap *cm);
/* COUNT: the kernel's running count of allocation records it dropped (read while
 * collecting, to tell why a freed block was never seen allocated). */
void peralloc__watch_lost_allocs(struct peralloc *pa, const volatile uint64_t *count);
/* Stacks walked in the kernel: the tables the walk reads (analyse/unwind.h). */
struct unwind_kernel_ops;
void peralloc__set_kernel_unwind(struct peralloc *pa, const struct unwind_kernel_ops *ops);
/* Sites with the same symbolized frames are one site (the default); BY_ADDRESS keeps one
 * per distinct stack of addresses (--sites address). */
void peralloc__set_sites_by_address(struct peralloc *pa, bool by_address);
/* NAME (a function, demangled) only passes allocations on: a site is named past it. At
 * most PERALLOC_WRAPPERS_MAX of them; NAME must live as long as PA. */
#define PERALLOC_WRAPPERS_MAX 16
void peralloc__add_wrapper(struct peralloc *pa, const char *name);
/* Frames kept from each unwound stack (1 .. MS_STACK_DEPTH). */
void peralloc__set_stack_depth(struct peralloc *pa, int depth);
/* The code map PA's stacks are unwound and named with (not freed with PA): a forked child
 * shares its parent's until it execs. */
void peralloc__set_codemap(struct peralloc *pa, struct codemap *cm);
/* --follow: PA is a process forked from PARENT's (pid PPID): PARENT's live blocks, its
 * pools and memory layout are PA's too, the blocks under one site "inherited from PPID"
 * (their frees and copy-on-write faults are charged there). */
void peralloc__inherit(struct peralloc *pa, struct peralloc *parent, pid_t ppid);
/* The names of the function slots, MS_FN_MAX of them (target__fn_names);
 * the strings are kept, not copied. */
void peralloc__set_fn_names(struct peralloc *pa, const char *const *names);
/* The target exec'ed: its old address space is gone. */
void peralloc__exec(struct peralloc *pa);
void peralloc__free(struct peralloc *pa);
/* One ring-buffer record (any type but MS_EV_PHASE), at least its type's size: the
 * event sink checked. */
void peralloc__event(struct peralloc *pa, const void *data, size_t size);
/* Re-read /proc/PID/maps for code mappings when a record said new code was mapped (or
 * FORCE). Cheap when nothing changed. */
void peralloc__refresh_modules(struct peralloc *pa, bool force);
/* After the last record: classify faults still pending, read the stacks from the BPF stack
 * map STACK_FD and symbolize them. STACK_ERRORS: calls whose stack the kernel did not store. */
void peralloc__finish(struct peralloc *pa, int stack_fd, uint64_t stack_errors,
		      const uint64_t lost_records[MS_EV_TYPES], uint64_t thread_state_lost);
/* memstudy record: the stack the last allocation record was unwound to (FRAMES, valid
 * until the next record), why its walk ended, and its site (the same frames, the same
 * site; 0xffffffff: none); how many frames, -1 when the record carried none (its stack id
 * says where it is). */
int peralloc__last_stack(const struct peralloc *pa, const uint64_t **frames,
			 enum ms_unwind_end *end, uint32_t *site);
/* memstudy report: where peralloc__finish finds the kernel's stacks by id (the recording's
 * copy of the stack map), instead of the map. LOOKUP fills IPS (MS_STACK_DEPTH, 0-ended). */
void peralloc__set_stack_lookup(struct peralloc *pa,
				bool (*lookup)(void *ctx, int32_t id, uint64_t *ips), void *ctx);
/* What the live collector measured of its own work, which a report of the recording keeps
 * (it reads the stacks already unwound): after peralloc__finish. */
struct pa_recorded {
	uint64_t unwound_from_copy, copied_bytes, copy_top_updates, peak_rss_kb;
	struct unwind_kernel_stats kernel_unwind;
};
void peralloc__recorded(const struct peralloc *pa, struct pa_recorded *r);
void peralloc__set_recorded(struct peralloc *pa, const struct pa_recorded *r);
/* Events the collector had to drop (counted into lost_events). */
uint64_t peralloc__lost(const struct peralloc *pa);
uint64_t peralloc__events(const struct peralloc *pa);

/* The live allocation holding ADDR, described as "malloc 4194304 B: f <- g (file:line)" in
 * BUF (after peralloc__finish). False when no live allocation holds it. */
bool peralloc__describe_addr(struct peralloc *pa, uint64_t addr, char *buf, size_t size);

/* Faults in freed memory (allocator memory that held a freed block, its page given back
 * since) taken outside allocator calls: the program used memory after freeing it. The
 * first PA_FREED_TOUCH_MAX of them; how many in all in *N. */
#define PA_FREED_TOUCH_MAX 256
struct pa_freed_touch {
	uint64_t addr, ip, ts_ns;
	uint32_t tid;
};
const struct pa_freed_touch *peralloc__freed_touches(const struct peralloc *pa, uint64_t *n);
/* The code map PA names its stacks with. */
struct codemap *peralloc__codemap(const struct peralloc *pa);
/* The timeline's: the bytes of the blocks live now (as requested), and what the allocator
 * holds mapped: the heap's extent (brk) and what it mmapped inside its calls. */
uint64_t peralloc__live_bytes(const struct peralloc *pa);
uint64_t peralloc__allocator_mapped(struct peralloc *pa);
/* How many bytes of [START, END) the allocator mapped inside its calls (mmap, mremap made
 * in a malloc-family call), as far as the trace saw. */
uint64_t peralloc__bytes_mapped_in_alloc(struct peralloc *pa, uint64_t start, uint64_t end);
/* The memory the trace saw mapped and not unmapped by now, and what mapped it: the brk
 * heap, the allocator inside its calls, a thread stack (MAP_STACK), other anonymous
 * memory, a file. Mappings older than the trace (--pid) are not among them. */
enum pa_map_kind { PA_MAP_HEAP, PA_MAP_ALLOCATOR, PA_MAP_STACK, PA_MAP_ANON, PA_MAP_FILE };
struct pa_mapping {
	uint64_t start, end;
	enum pa_map_kind kind;
};
/* The Ith of them, in order of address; false past the last. */
bool peralloc__mapping(const struct peralloc *pa, int i, struct pa_mapping *m);
/* The call sites so far named with the code map of now: before an exec replaces it (the
 * sites' frames are the old image's code). Those unwound from their records. */
void peralloc__name_sites(struct peralloc *pa);
/* peralloc_report.c */
void peralloc__print_text(struct peralloc *pa, FILE *out, int top);
json_object *peralloc__json(struct peralloc *pa);

#endif
