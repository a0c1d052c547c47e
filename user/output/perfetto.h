/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memstudy report --perfetto: a recording as a timeline for ui.perfetto.dev and
 * chrome://tracing, in the Chrome trace-event JSON format both open. Per thread: the slow
 * allocator calls (each as the kernel reported it joining its CPU's slowest, with its
 * duration, syscalls and faults), the memory syscalls made outside calls, the mapping
 * changes (brk, mmap, munmap, mremap) as instants, and with ALL every allocation and free
 * as an instant; per process, counters every 10 ms: bytes live, bytes the allocator holds
 * mapped, the resident set, calls and page faults in the interval.
 */
#ifndef MEMSTUDY_OUTPUT_PERFETTO_H
#define MEMSTUDY_OUTPUT_PERFETTO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "analyse/timeline.h"

struct peralloc;
struct report;

struct perfetto {
	FILE *out;
	const char *path;
	bool all;	 /* every allocation and free */
	uint64_t min_ns; /* slow calls shorter than this are left out */
	const char *const *fn_names;
	int nfn;
	uint32_t pid;	    /* the traced process's */
	struct timeline tl; /* its own points: the counters */
	size_t points_written;
	uint64_t events;
	bool failed;
};

/* Into PATH (a safe output file); NULL after saying why. */
struct perfetto *perfetto__open(const char *path, bool all, uint64_t min_ns,
				const char *const *fn_names, int nfn);
/* A replay observer. */
void perfetto__record(void *p, struct peralloc *pa, uint32_t pid, const void *rec, uint32_t len);
/* The thread names (R's threads, when the recording has its summary), the last counters,
 * and the end of the file. 0, or 1 after saying why. Frees P. */
int perfetto__close(struct perfetto *p, struct peralloc *pa, const struct report *r,
		    const char *comm);

#endif
