/* SPDX-License-Identifier: GPL-2.0 */
/* memstudy report --timeline: memory over time as CSV, and a gnuplot picture of it. */
#ifndef MEMSTUDY_OUTPUT_TIMELINE_OUT_H
#define MEMSTUDY_OUTPUT_TIMELINE_OUT_H

#include <stdint.h>

struct timeline;

/* One line per point: t_s (since T0_NS), live_bytes, allocator_mapped_bytes, rss_bytes,
 * rss_anon_bytes, rss_file_bytes, rss_shmem_bytes, allocs, frees, faults. 0, or 1 after
 * saying why. */
int timeline__write_csv(const struct timeline *tl, uint64_t t0_ns, const char *path);
/* CSV (written above) drawn by gnuplot into PNG, titled TITLE: 0; 1 after saying why (no
 * gnuplot: what to install). */
int timeline__plot(const char *csv, const char *png, const char *title);

#endif
