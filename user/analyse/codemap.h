/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The target's code, as the collector learns it: every executable file mapping (from the
 * kernel's module records, MS_EV_MODULE, and from /proc/PID/maps while the target lives),
 * with the symbolizer that names addresses in it and the unwinder that walks stacks copied
 * from it. One per trace, shared by whatever unwinds: per-allocation stacks, slow calls,
 * syscalls made outside allocator calls.
 */
#ifndef MEMSTUDY_CODEMAP_H
#define MEMSTUDY_CODEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "memstudy.h"

struct symbolizer;
struct unwinder;
struct sym_info;

struct codemap_stats {
	uint64_t refreshes;	      /* reads of /proc/PID/maps */
	uint64_t modules_from_kernel; /* MS_EV_MODULE records */
	uint64_t modules_unnamed;     /* ... whose path the kernel could not give */
};

struct codemap {
	pid_t pid;
	struct symbolizer *sym;
	struct unwinder *unwind;
	bool dirty; /* new code may be mapped: read /proc/PID/maps at the next refresh */
	bool read;  /* /proc/PID/maps was read at least once */
	struct codemap_stats st;
	/* who wants the other lines of every read (per-allocation: the heap and stack) */
	void (*layout)(void *ctx, uint64_t start, uint64_t end, const char *file);
	void *layout_ctx;
	/* memstudy record: each /proc/PID/maps text read, as it was read */
	void (*maps_tap)(void *ctx, const struct codemap *cm, const char *text, size_t len);
	void *maps_tap_ctx;
	/* memstudy record --follow: which of the trace's code maps this is, so that the report
	 * feeds each reading to the same one (0: the target's; n: the nth the tree made) */
	uint32_t rec_id;
	bool offline; /* memstudy report: no process to read; the recording feeds the text */
};

struct codemap *codemap__new(pid_t pid);
void codemap__free(struct codemap *cm);
/* A code mapping the kernel named (MS_EV_MODULE). */
void codemap__module(struct codemap *cm, const struct ms_event_module *e);
/* One reading of /proc/PID/maps (TEXT, LEN bytes): its code mappings, and its other named
 * lines to cm->layout. */
void codemap__feed_maps(struct codemap *cm, const char *text, size_t len);
/* Read /proc/PID/maps for code mappings when new code may be mapped (or FORCE); the other
 * named lines go to cm->layout. Cheap when nothing changed. */
void codemap__refresh(struct codemap *cm, bool force);
/* The target exec'ed: the cached unwind rules are stale, new code comes. */
void codemap__exec(struct codemap *cm);
/*
 * Unwind a stack copied at a return into the caller (PC a return address, SP, BP, LEN bytes
 * of STACK from SP) into FRAMES, at most MAX, ending at the program's entry; how many, with
 * why the walk ended in *END.
 */
int codemap__unwind(struct codemap *cm, uint64_t pc, uint64_t sp, uint64_t bp, const uint8_t *stack,
		    size_t len, uint64_t *frames, int max, enum ms_unwind_end *end);
/* FRAMES (return addresses) as symbolized frames, inlined ones their own, at most MAX;
 * PC_FIRST: FRAMES[0] is an instruction pointer, not a return address. How many. */
int codemap__symbolize(struct codemap *cm, const uint64_t *frames, int n, bool pc_first,
		       struct sym_info *out, uint64_t *out_addr, int max);

#endif
