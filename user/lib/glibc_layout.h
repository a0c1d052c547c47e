/* SPDX-License-Identifier: GPL-2.0 */
/*
 * glibc 2.36's malloc on x86-64, as memstudy relies on it: chunk layout, the default
 * thresholds, arena heaps. One place for these facts (docs/maps.md says where each comes
 * from); everything read from a target that depends on them is validated before use.
 */
#ifndef MEMSTUDY_LIB_GLIBC_LAYOUT_H
#define MEMSTUDY_LIB_GLIBC_LAYOUT_H

/* A chunk: prev_size and size|flags (16 bytes) before the pointer malloc returns. */
#define GLIBC_CHUNK_HDR	 16UL
#define GLIBC_MINSIZE	 32UL /* the smallest chunk */
#define GLIBC_PREV_INUSE 0x1UL
#define GLIBC_IS_MMAPPED 0x2UL
#define GLIBC_NON_MAIN	 0x4UL
#define GLIBC_SIZE_FLAGS 0x7UL
/* The next chunk's size field ends at most this far past ptr + the usable size: glibc
 * writes it when it splits a block off. */
#define GLIBC_NEXT_HDR_END 24UL

/* Defaults: DEFAULT_MMAP_THRESHOLD (rises as mmapped chunks are freed), M_TRIM_THRESHOLD,
 * M_TOP_PAD. */
#define GLIBC_MMAP_THRESHOLD (128UL * 1024)
#define GLIBC_TRIM_THRESHOLD (128UL * 1024)
#define GLIBC_TOP_PAD	     (128UL * 1024)

/* A non-main arena's heap: HEAP_MAX_SIZE = 2 * DEFAULT_MMAP_THRESHOLD_MAX, aligned to it. */
#define GLIBC_ARENA_HEAP_MAX (64UL * 1024 * 1024)
/* sizeof(heap_info) and offsets in struct malloc_state. */
#define GLIBC_HEAP_INFO_SIZE  0x30UL
#define GLIBC_MSTATE_SIZE     0x898UL
#define GLIBC_MSTATE_FASTBINS 0x10UL /* mfastbinptr fastbinsY[NFASTBINS] */
#define GLIBC_NFASTBINS	      10
/* A free chunk's fd link (after prev_size and size), stored mangled since glibc 2.32
 * (safe-linking): PROTECT_PTR(pos, ptr) = (pos >> 12) ^ ptr, pos the link's address. */
#define GLIBC_CHUNK_FD		 0x10UL
#define GLIBC_REVEAL_PTR(pos, v) (((pos) >> 12) ^ (v))
#define GLIBC_MSTATE_TOP	 0x60UL
#define GLIBC_MSTATE_NEXT	 0x870UL
#define GLIBC_MSTATE_SYSTEM_MEM	 0x888UL
#define GLIBC_MSTATE_MAX_SYSMEM	 0x890UL

#endif
