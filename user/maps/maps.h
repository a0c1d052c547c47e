/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memstudy maps: a pmap -x style snapshot of a process with a label for every
 * mapping (main heap, arena heaps, thread stacks, mmapped malloc chunks, ...)
 * and an analysis of why heap memory stays mapped and resident.
 *
 * Everything is read from /proc/PID (smaps, task/ * /syscall, mem, pagemap):
 * no BPF, no ptrace attach. Reading a running process is a snapshot: the
 * target may change while it is read.
 */
#ifndef MEMSTUDY_MAPS_H
#define MEMSTUDY_MAPS_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct json_object;

enum maps_label {
	MAPS_L_FILE,
	MAPS_L_MAIN_HEAP,
	MAPS_L_ARENA_HEAP,
	MAPS_L_ARENA_RESERVE,
	MAPS_L_STACK,
	MAPS_L_THREAD_STACK,
	MAPS_L_GUARD,
	MAPS_L_MMAP_CHUNK,
	MAPS_L_ALLOCATOR, /* another allocator's memory (jemalloc, tcmalloc, mimalloc) */
	MAPS_L_ANON,
	MAPS_L_VDSO,
	MAPS_L_VVAR,
	MAPS_L_VSYSCALL,
	MAPS_L_SPECIAL, /* other kernel-named areas, e.g. [uprobes] */
	MAPS_L__COUNT,
};

const char *maps_label__name(enum maps_label l);
/* Returns MAPS_L__COUNT for an unknown name. */
enum maps_label maps_label__from_name(const char *name);

struct maps_mapping {
	unsigned long start, end; /* [start, end) */
	char perms[5];		  /* as in /proc/PID/maps: "rw-p" */
	unsigned long offset;
	unsigned long inode;
	char *name; /* path or [heap] etc.; "" when anonymous */
	unsigned long size_kb, rss_kb, dirty_kb, swap_kb;
	enum maps_label label;
	char *label_name; /* label as text, kept verbatim for labels read from JSON */
	char *evidence;	  /* why the label was chosen, e.g. "sp of tid 42" */
	int tid;	  /* thread-stack / stack: owning thread, 0 if unknown */
	/*
	 * Hook for the tracer: which call created this mapping (e.g.
	 * "malloc(4194304) at foo.c:12"). NULL unless someone set it with
	 * maps_snapshot__annotate(); printed and saved when set.
	 */
	char *annotation;
	/* mmap-chunk: the chunks found in it (a kernel-merged mapping holds several), and the
	 * bytes they were mapped with, as glibc counts them (mallinfo2's hblks, hblkhd) */
	unsigned long mmap_chunks, mmap_chunk_bytes;
};

/* What could be learned about one malloc heap (main heap or one arena heap). */
struct maps_heap {
	bool main;		   /* the brk heap of main_arena */
	unsigned long start, end;  /* the usable (rw) part */
	unsigned long reserve_end; /* arena heaps: end of the PROT_NONE rest, else == end */
	unsigned long kbytes, rss_kb, dirty_kb, swap_kb;
	long resident_pages; /* from pagemap, -1 if not readable */
	unsigned long arena; /* malloc_state address if known, else 0 */
	/* heap walk (chunk headers read through /proc/PID/mem) */
	bool walked;		 /* the walk reached the top chunk */
	unsigned long walk_stop; /* address the walk stopped at when !walked */
	char *walk_error;	 /* why it stopped */
	unsigned long chunks, inuse_chunks, free_chunks;
	unsigned long inuse_bytes, free_bytes; /* chunk sizes, excluding top */
	unsigned long top, top_size;	       /* the top chunk, when known */
	char *top_source;		       /* "heap walk", "malloc_state.top" ... */
	long top_resident_pages;	       /* pages of the top chunk resident, -1 unknown */
	long free_resident_pages; /* whole pages inside free chunks that are resident */
	unsigned long largest_free;
	char *why; /* text: why this memory stays mapped / resident */
};

/*
 * What glibc's mallinfo2() returns, reckoned from outside: every arena's system memory,
 * its top chunk and the free chunks of its heap walks (its bins), its fastbins read from
 * its malloc_state; the mmapped chunks. Known only when every heap walk was complete and
 * every arena's malloc_state was found (why otherwise).
 */
struct maps_mallinfo {
	bool known;
	char *why_not;
	unsigned long arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks,
	    keepcost;
	int arenas;
};

struct maps_thread {
	int tid;
	unsigned long sp; /* 0 if unknown (thread running, or not readable) */
	char *sp_source;
};

struct maps_snapshot {
	int pid;
	char *comm;
	char *exe;
	long long time_ms; /* wall clock, ms since the epoch */
	long page_size;
	struct maps_mapping *maps;
	size_t nr_maps;
	struct maps_thread *threads;
	size_t nr_threads;
	struct maps_heap *heaps;
	size_t nr_heaps;
	bool mem_read;	 /* /proc/PID/mem was readable */
	char *mem_error; /* why not */
	char **notes;	 /* free text shown after the report */
	size_t nr_notes;
	unsigned long env_trim_threshold, env_top_pad, env_mmap_threshold; /* 0: default */
	struct maps_mallinfo mallinfo;
};

struct maps_options {
	bool no_mem; /* do not read process memory (layout-only labels) */
};

/*
 * Read /proc/PID/smaps and thread stack pointers. Returns NULL and sets errno
 * (ESRCH: no such process, EACCES/EPERM: not allowed) on failure.
 */
struct maps_snapshot *maps_snapshot__read(int pid);
/* Give every mapping a label and analyse the heaps (reads target memory unless opts->no_mem). */
void maps_snapshot__label(struct maps_snapshot *s, const struct maps_options *opts);
/* Tracer hook: attach a call-site description to the mapping containing addr. */
int maps_snapshot__annotate(struct maps_snapshot *s, unsigned long addr, const char *site);
void maps_snapshot__print(const struct maps_snapshot *s, FILE *out);
struct json_object *maps_snapshot__to_json(const struct maps_snapshot *s);
/* Returns NULL with a message in *err (static string) when the JSON is not a snapshot. */
struct maps_snapshot *maps_snapshot__from_json(struct json_object *j, const char **err);
void maps_snapshot__free(struct maps_snapshot *s);

/* What changed from a to b, per mapping (matched by start address) and per label. */
void maps_diff__print(const struct maps_snapshot *a, const struct maps_snapshot *b, FILE *out);
struct json_object *maps_diff__to_json(const struct maps_snapshot *a,
				       const struct maps_snapshot *b);

#endif
