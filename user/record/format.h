/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The recording file's layout (memstudy record writes it, memstudy report reads it):
 * the contract of docs/record-format.md. Little-endian, as the machines that write it.
 *
 *   file header   "memstudy" magic, format version, header size
 *   blocks        each a 24-byte header and its payload, zstd-compressed on its own: a
 *                 recording cut short (kill -9, a full disk) reads up to its last whole block
 *
 * The first block is META (JSON: what was traced, how, where, when); TARGET follows (the
 * functions probed); EVENTS blocks hold the record stream in the order the collector took
 * it; at a clean end come STACKS, MODULES, (with --follow) PROCS and one PROC per process,
 * FINISH, SUMMARY and END.
 */
#ifndef MEMSTUDY_RECORD_FORMAT_H
#define MEMSTUDY_RECORD_FORMAT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "memstudy.h"
#include "analyse/peralloc.h"

#define REC_MAGIC	"memstudy"
#define REC_VERSION	1
#define REC_BLOCK_MAGIC 0x4b4c424du /* "MBLK" */
#define REC_BLOCK_MAX	(64u << 20) /* the largest payload, raw or stored */

struct rec_file_header {
	char magic[8]; /* REC_MAGIC, no NUL */
	uint32_t version;
	uint32_t header_size; /* sizeof(struct rec_file_header): blocks start there */
};

enum rec_codec { REC_RAW = 0, REC_ZSTD = 1 };

struct rec_block_header {
	uint32_t magic;	     /* REC_BLOCK_MAGIC: where a block must start */
	uint32_t type;	     /* enum rec_block_type */
	uint32_t stored_len; /* bytes that follow */
	uint32_t raw_len;    /* after decompression */
	uint32_t crc;	     /* CRC-32 (zlib's) of the stored bytes */
	uint32_t codec;	     /* enum rec_codec */
};

enum rec_block_type {
	REC_META = 1,	 /* JSON object (docs/record-format.md) */
	REC_TARGET = 2,	 /* struct target as resolved, its pointers zeroed */
	REC_EVENTS = 3,	 /* entries (below) */
	REC_STACKS = 4,	 /* struct rec_stack_fp entries: the kernel's frame-pointer stacks */
	REC_FINISH = 5,	 /* struct rec_finish */
	REC_SUMMARY = 6, /* struct report, its pointers zeroed, then its threads */
	REC_END = 7,	 /* empty: the recording was closed */
	REC_MODULES = 8, /* JSON array: the code files mapped, with their build-ids */
	REC_PROCS = 9,	 /* --follow: struct rec_procs, then its nlat u64 latencies */
	REC_PROC = 10,	 /* --follow: struct rec_proc, then its nfn struct rec_proc_fn */
	REC_BLOCK_TYPES,
};

/*
 * An EVENTS entry holds a record of bpf/memstudy.h's stream as the collector took it, with two
 * changes: an allocation's unwound stack is interned (REC_EV_STACK once, then its number),
 * and the collector's own readings of /proc/PID/maps come in their place in the stream.
 */
/* Each entry: u32 length, u32 zero, the record, zeros to the next multiple of 8 (records
 * are read in place as aligned structs). */
#define REC_ENTRY_HDR 8
static inline uint32_t rec_entry_padded(uint32_t len)
{
	return (len + 7) & ~7u;
}

/*
 * The kernel's records (types below MS_EV_TYPES) all hold their time at offset 8: stored as
 * the difference from the block's previous kernel record's (from 0 at a block's start),
 * which zstd packs far tighter than the times themselves. Its own inverse, in place.
 */
static inline bool rec_kernel_record(const uint8_t *rec, uint32_t len)
{
	uint32_t type;

	memcpy(&type, rec, sizeof(type));
	return len >= 16 && type < MS_EV_TYPES;
}

static inline void rec_ts_delta(uint8_t *rec, uint32_t len, uint64_t *prev)
{
	uint64_t ts, d;

	if (!rec_kernel_record(rec, len))
		return;
	memcpy(&ts, rec + 8, 8);
	d = ts - *prev;
	*prev = ts;
	memcpy(rec + 8, &d, 8);
}

static inline void rec_ts_undelta(uint8_t *rec, uint32_t len, uint64_t *prev)
{
	uint64_t d;

	if (!rec_kernel_record(rec, len))
		return;
	memcpy(&d, rec + 8, 8);
	*prev += d;
	memcpy(rec + 8, prev, 8);
}

#define REC_EV_MAPS	 0x1000u /* struct rec_ev_maps, then the text */
#define REC_EV_STACK	 0x1001u /* struct rec_ev_stack, then nframes u64 */
#define REC_EV_LOST	 0x1002u /* struct rec_ev_lost */
#define REC_EV_START	 0x1003u /* struct rec_ev_start */
#define REC_EV_PROC_MAPS 0x1004u /* struct rec_ev_proc_maps, then the text */
#define REC_EV_ADOPT	 0x1005u /* struct rec_ev_adopt, then ntids u32 */
/* ms_event_alloc.stack_id of an allocation whose stack is interned: struct rec_ev_alloc */
#define REC_STACK_INTERNED -1002

struct rec_ev_maps {
	uint32_t type; /* REC_EV_MAPS */
	uint32_t pid;
	/* the file's text, as read */
};

/* An interned stack, followed by its nframes frames (u64 return addresses). */
struct rec_ev_stack {
	uint32_t type; /* REC_EV_STACK */
	uint32_t id;   /* 0, 1, 2...: each new stack the next */
	uint32_t nframes;
	uint32_t end; /* enum ms_unwind_end */
};

struct rec_ev_alloc {
	struct ms_event_alloc a; /* a.stack_id == REC_STACK_INTERNED */
	uint32_t stack;		 /* an earlier REC_EV_STACK's id */
	uint32_t pad;
};

/* The kernel's count of dropped allocation records changed (the collector reads it to
 * tell why a free found no block). */
struct rec_ev_lost {
	uint32_t type; /* REC_EV_LOST */
	uint32_t pad;
	uint64_t count;
};

/* The trace started: every probe in place (the report's times count from here). */
struct rec_ev_start {
	uint32_t type; /* REC_EV_START */
	uint32_t pad;
	uint64_t ts_ns; /* CLOCK_MONOTONIC */
};

/* --follow: a reading of /proc/PID/maps into a code map of the tree's own (an exec'd or
 * adopted process's): the MAPth the trace made (the target's readings are REC_EV_MAPS). */
struct rec_ev_proc_maps {
	uint32_t type; /* REC_EV_PROC_MAPS */
	uint32_t pid;
	uint32_t map; /* 1, 2...: in the order the code maps were made */
	uint32_t pad;
	/* the file's text, as read */
};

/* --pid PID --follow: PID's descendant PID (its parent PPID) joined the tree here, with its
 * threads (the ntids u32 that follow): they were running before the trace. */
struct rec_ev_adopt {
	uint32_t type; /* REC_EV_ADOPT */
	uint32_t pid;
	uint32_t ppid;
	uint32_t ntids;
};

/* --follow: what the trace learned of the process tree besides the stream (its fork, exec,
 * exit and thread records are there): how long each new process waited for its probes,
 * which failed, which images had no allocator. */
struct rec_procs {
	uint32_t nprocs; /* REC_PROC blocks that follow, in the table's order */
	uint32_t nlat;	 /* stop-to-probed latencies (u64 ns) that follow */
	uint64_t attach_failures;
	uint64_t unresolved_images;
};

/* One process of the tree as the trace ended: its image as resolved live (its exe and
 * allocators: /proc and the files, which the report may not have) and its calls per
 * function from the kernel's map. */
struct rec_proc {
	int32_t pid, ppid;
	char comm[16];
	uint64_t start_ns, end_ns, attach_ns;
	int32_t exit_code;
	int32_t execs;
	uint8_t exited, attach_failed, has_image, probed;
	uint32_t nfn;	       /* struct rec_proc_fn that follow */
	struct pa_recorded pa; /* its per-allocation collector's own numbers */
	char exe[4096];
	char allocator[4096];
	char cxx[4096];
};

struct rec_proc_fn {
	uint32_t fn; /* its slot */
	uint32_t pad;
	struct ms_proc_fn v;
};

struct rec_stack_fp {
	int32_t id;
	uint32_t nframes;
	uint64_t frames[MS_STACK_DEPTH];
};

/* What the kernel and the live collector counted at the end that the stream does not say. */
struct rec_finish {
	uint64_t stack_errors;
	uint64_t lost_records[MS_EV_TYPES];
	uint64_t thread_state_lost;
	struct pa_recorded pa; /* the live collector's own numbers (it unwound the stacks) */
	uint64_t records;      /* EVENTS entries written */
};

#endif
