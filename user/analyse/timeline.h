/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Memory over time, from a recording's records in stream order: every interval of trace
 * time a point with the bytes live (as requested), the bytes the allocator holds mapped,
 * the resident set as the kernel counts it (MS_EV_RSS), and the calls and faults so far.
 */
#ifndef MEMSTUDY_ANALYSE_TIMELINE_H
#define MEMSTUDY_ANALYSE_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "memstudy.h"

struct peralloc;

struct timeline_point {
	uint64_t ts_ns; /* CLOCK_MONOTONIC */
	uint64_t live_bytes, mapped_bytes;
	int64_t rss[MS_RSS_MEMBERS]; /* bytes: file, anonymous, swap entries, shmem */
	uint64_t allocs, frees, faults;
};

struct timeline {
	uint64_t interval_ns, next_ns, last_ns;
	int64_t rss[MS_RSS_MEMBERS];
	uint64_t allocs, frees, faults, rss_records;
	struct timeline_point *v;
	size_t n, cap;
};

/* Points every INTERVAL_NS of trace time (doubled as often as it takes to keep at most
 * 20000). */
void timeline__init(struct timeline *tl, uint64_t interval_ns);
/* One record, before the collector PA takes it (a replay observer): a point is PA's live
 * and mapped bytes after the records before it. */
void timeline__record(void *tl, struct peralloc *pa, uint32_t pid, const void *rec, uint32_t len);
/* The last point, at the last record. */
void timeline__finish(struct timeline *tl, struct peralloc *pa);
void timeline__free(struct timeline *tl);
/* The resident set of a point: file, anonymous and shared pages (swap is not resident). */
int64_t timeline_point__rss(const struct timeline_point *p);

#endif
