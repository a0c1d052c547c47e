/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Unwinding a copied stack with the modules' CFI (.eh_frame, .debug_frame), perf
 * --call-graph dwarf style: the BPF side copies the caller's registers and the top of its
 * stack into the allocation record; this walks the frames from them. A rule per code
 * address (where the CFA is, where the return address and rbp were saved) comes from libdw
 * once and is cached, so a walk is a few lookups and reads a frame.
 */
#ifndef MEMSTUDY_UNWIND_H
#define MEMSTUDY_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memstudy.h"

struct symbolizer;
struct unwinder;

/* Why a walk ended before its depth: enum ms_unwind_end (memstudy.h), named here. */
extern const char *const unwind_end_names[MS_UNWIND_END_MAX];

/*
 * The kernel side of unwinding (the tracer's BPF maps). add_rows appends N rows and says
 * where they start, false when the map is full; publish replaces the table of text
 * mappings (both for the in-kernel walk).
 */
struct unwind_kernel_ops {
	void *ctx;
	bool (*add_rows)(void *ctx, const struct ms_unwind_row *rows, uint32_t n, uint32_t *first);
	void (*publish)(void *ctx, const struct ms_unwind_map *maps, uint32_t n);
	/* --unwind copy: thread TID's frames end below TOP (0: not known), so copies stop there */
	void (*set_copy_top)(void *ctx, uint32_t tid, uint64_t top);
};

struct unwind_kernel_stats {
	uint32_t modules, modules_without_rows; /* no .eh_frame_hdr we read, or the map full */
	uint64_t rows;
	uint64_t build_ns; /* time spent turning CFI into rows */
};

struct unwinder *unwinder__new(struct symbolizer *sym);
void unwinder__free(struct unwinder *u);
/* The code changed (exec): forget the cached rules. */
void unwinder__reset(struct unwinder *u);
/*
 * Walk from PC (a return address into the caller), SP and BP, with STACK (LEN bytes copied
 * from SP). FRAMES gets PC and the return addresses above it, at most MAX; returns how
 * many, with why it stopped in *END and how many bytes of the copy it read in *USED.
 */
int unwinder__walk(struct unwinder *u, uint64_t pc, uint64_t sp, uint64_t bp, const uint8_t *stack,
		   size_t len, uint64_t *frames, int max, enum ms_unwind_end *end, size_t *used);

/* Frames walked elsewhere (the kernel) end at the program's entry too, as a walk here does
 * (main, start_thread): how many of the N to keep, *END set when cut. */
int unwinder__trim_at_entry(struct unwinder *u, const uint64_t *frames, int n,
			    enum ms_unwind_end *end);
/* Give the kernel the rows of the modules in the symbolizer (unwinder__sync_kernel). */
void unwinder__set_kernel(struct unwinder *u, const struct unwind_kernel_ops *ops);
/* Modules were added to the symbolizer: load the new ones' rows and publish the table. */
void unwinder__sync_kernel(struct unwinder *u);
const struct unwind_kernel_stats *unwinder__kernel_stats(const struct unwinder *u);
/* The rows of MOD's .eh_frame for the in-kernel walk (*ROWS malloc'ed, *N of them), and the
 * bias to subtract from a run-time address; false when the module has none we can read. */
typedef struct Dwfl_Module Dwfl_Module;
bool unwind_rows_of_module(Dwfl_Module *mod, struct ms_unwind_row **rows, uint32_t *n,
			   uint64_t *bias);

#endif
