/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What explains a slow glibc call, found in libc's files: its internal steps
 * (MS_GLIBC_STEPS: malloc_consolidate, sysmalloc...), local functions that only libc's
 * separate debug file names (Debian's libc6-dbg, by build-id under /usr/lib/debug), and
 * the functions that allocate for the program though libc calls malloc (strdup, getline...),
 * which the test for glibc's own calls must not count as its own.
 */
#ifndef MEMSTUDY_GLIBC_STEPS_H
#define MEMSTUDY_GLIBC_STEPS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "memstudy.h"
#include "resolve/probe_place.h"

#define GLIBC_USER_FNS MS_USER_FNS

struct glibc_steps {
	char debug_file[PATH_MAX]; /* "" when libc's debug file is not installed */
	char build_id[64];
	bool found[MS_STEP_MAX];
	struct probe_site site[MS_STEP_MAX];
	unsigned int nuser;
	uint64_t user_lo[GLIBC_USER_FNS], user_hi[GLIBC_USER_FNS]; /* file offsets in libc */
};

extern const char *const ms_step_names[MS_STEP_MAX];
/* What installing glibc's debug file adds, for every place that says it is missing. */
extern const char glibc_steps_hint[];

/* Look in LIBC (the allocator file, glibc's) and its debug file. Directory of debug files:
 * $MEMSTUDY_DEBUG_DIR, else /usr/lib/debug. Never fails: what is missing is not found. */
void glibc_steps__resolve(struct glibc_steps *gs, const char *libc, bool probe_at_entry);
/* How many steps were found. */
int glibc_steps__count(const struct glibc_steps *gs);

#endif
