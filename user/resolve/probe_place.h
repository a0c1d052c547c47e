/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where to put a function's uprobe. The kernel emulates a few instructions (push, jmp/call
 * rel, jcc, nop) for ~0.8 us a hit and single-steps the rest for ~9.5 us. When a function
 * starts with one it must single-step (glibc 2.36 free: test %rdi,%rdi), a later
 * instruction is just as good if every call passes through it exactly once and nothing
 * before it changes what the probe reads: the argument registers and the stack pointer.
 */
#ifndef MEMSTUDY_PROBE_PLACE_H
#define MEMSTUDY_PROBE_PLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Registers a probe reads, for probe_place(). */
enum {
	PROBE_READS_RDI = 1 << 0,
	PROBE_READS_RSI = 1 << 1,
	PROBE_READS_RDX = 1 << 2,
	/* only the low 64 bits of rsi * rdx (reallocarray's n * size), not rsi and rdx */
	PROBE_READS_RSI_TIMES_RDX = 1 << 3,
	/* an entry probe with no return probe: the stack pointer may move before it */
	PROBE_NO_RETURN = 1 << 4,
};

/* The registers a moved probe may find an argument in: the BPF side's argument numbers
 * (bpf/memstudy.bpf.c, arg_n), rdi..r8 and rax. */
enum {
	PROBE_ARG_RDI = 1,
	PROBE_ARG_RSI,
	PROBE_ARG_RDX,
	PROBE_ARG_RCX,
	PROBE_ARG_R8,
	PROBE_ARG_RAX,
	PROBE_ARG_REGS
};

struct probe_site {
	uint64_t offset; /* file offset of the probed instruction */
	uint64_t skip;	 /* bytes after the function's start */
	bool emulated;	 /* the kernel emulates it: no single-step */
	char insn[64];	 /* the instruction probed, for --dry-run */
	char why[160];	 /* why the entry was kept, when it was; or what a moved probe reads */
	/* Past a prologue that put rsi * rdx in rsi: the probe reads the product from rsi. */
	bool product_in_rsi;
	/* Where argument N (1-based) is at the probe: a prologue may have copied it to another
	 * register before overwriting it (mimalloc's malloc: mov rsi, rdi). */
	uint8_t arg_at[PROBE_ARG_REGS];
};

/*
 * Decide the probe site of the function at file offset FUNC_OFF (FUNC_SIZE bytes) in PATH.
 * Always succeeds: the entry is the fallback, with SITE->why saying why. ENTRY_ONLY keeps
 * the entry (--probe-at-entry, for comparisons).
 */
struct elf_syms;
void probe_place(struct elf_syms *es, const char *path, uint64_t func_off, uint64_t func_size,
		 unsigned int reads, bool entry_only, struct probe_site *site);

/* The part of the decision made from the prologue alone (LEN bytes of CODE, the function at
 * FUNC_OFF): what probe_place does before it checks that no branch lands in the skipped
 * bytes. For tests on byte strings. */
void probe_place_prologue(const uint8_t *code, size_t len, uint64_t func_off, uint64_t func_size,
			  unsigned int reads, bool entry_only, struct probe_site *site);

#endif
