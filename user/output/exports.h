/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memstudy report's exports of the per-allocation call sites, for the tools people already
 * run: folded stacks (FlameGraph's flamegraph.pl, speedscope) and pprof profiles (go tool
 * pprof, Pyroscope, Parca, Grafana).
 */
#ifndef MEMSTUDY_OUTPUT_EXPORTS_H
#define MEMSTUDY_OUTPUT_EXPORTS_H

#include <stdint.h>

struct peralloc;
struct symbolizer;

/* What a folded stack's count is. */
enum fold_weight {
	FOLD_BYTES,	/* bytes requested */
	FOLD_CALLS,	/* allocations */
	FOLD_FAULTS,	/* page faults charged to the site */
	FOLD_RESIDENT,	/* bytes of the pages faulted in its blocks still live at the end */
	FOLD_LIVE,	/* bytes still allocated at the end */
	FOLD_KERNEL_NS, /* syscall time inside its allocations and the frees of its blocks */
	FOLD_WEIGHTS,
};
extern const char *const fold_weight_names[];

/* One line per call site, root frame first: "main;parse;xmalloc 4096". Sites weighing 0
 * are left out. 0, or 1 after saying why. */
int export_folded(struct peralloc *pa, enum fold_weight w, const char *path);

/* A gzipped pprof profile (profile.proto) with the sample types alloc_objects,
 * alloc_space, inuse_objects, inuse_space, page_faults, resident_bytes, kernel_time (ns of
 * syscalls inside the site's allocations and the frees of its blocks); functions, lines
 * (inlined frames too) and mappings with their build-ids from SYM. START_NS: the trace's
 * start (Unix time), DURATION_NS its length. 0, or 1 after saying why. */
int export_pprof(struct peralloc *pa, struct symbolizer *sym, uint64_t start_ns,
		 uint64_t duration_ns, const char *path);

#endif
