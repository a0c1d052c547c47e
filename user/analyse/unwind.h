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

struct symbolizer;
struct unwinder;

/* Why a walk ended before its depth. */
enum unwind_end {
	UNWIND_END_OUTERMOST,  /* the return address was 0 or the stack ended: complete */
	UNWIND_END_NO_MODULE,  /* a frame in no known code (JIT, not mapped yet) */
	UNWIND_END_NO_CFI,     /* no CFI row and no frame pointer for the address */
	UNWIND_END_EXPRESSION, /* a rule memstudy cannot express (a DWARF expression) */
	UNWIND_END_COPY,       /* the next frame lies past the copied bytes */
	UNWIND_END_DEPTH,      /* the depth asked for was reached */
	UNWIND_END_MAX,
};

extern const char *const unwind_end_names[UNWIND_END_MAX];

struct unwinder *unwinder__new(struct symbolizer *sym);
void unwinder__free(struct unwinder *u);
/* The code changed (exec): forget the cached rules. */
void unwinder__reset(struct unwinder *u);
/*
 * Walk from PC (a return address into the caller), SP and BP, with STACK (LEN bytes copied
 * from SP). FRAMES gets PC and the return addresses above it, at most MAX; returns how
 * many, with why it stopped in *END.
 */
int unwinder__walk(struct unwinder *u, uint64_t pc, uint64_t sp, uint64_t bp, const uint8_t *stack,
		   size_t len, uint64_t *frames, int max, enum unwind_end *end);

#endif
