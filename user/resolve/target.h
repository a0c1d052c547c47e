/* SPDX-License-Identifier: GPL-2.0 */
/* The process to trace: checks, and which allocator library it really uses. */
#ifndef MEMSTUDY_TARGET_H
#define MEMSTUDY_TARGET_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "memstudy.h"
#include "resolve/probe_place.h"

struct target_fn {
	bool found;
	uint64_t offset; /* file offset in target.allocator */
	int alias_of;	 /* another enum ms_fn at the same address, or -1 */
	uint64_t size;
	struct probe_site site; /* where the probes go: see probe_place.h */
};

struct target {
	pid_t pid;
	char comm[32];
	char exe[PATH_MAX];
	char allocator[PATH_MAX]; /* the file the malloc family is probed in */
	struct target_fn fn[MS_FN_MAX];
	bool has_phase; /* exe defines memstudy_phase() */
	uint64_t phase_offset;
	char searched[1024]; /* files looked at, for error messages */
	bool probe_at_entry; /* --probe-at-entry: no placement past the first instruction */
};

extern const char *const ms_fn_names[MS_FN_MAX];
extern const char *const ms_sys_names[MS_SYS_MAX];

/* 0, or prints one line saying what is wrong and returns -1. */
int target__check_pid(struct target *t, pid_t pid);
/* Find the allocator among the objects a running process has mapped. */
int target__resolve_pid(struct target *t);
/* Find the allocator the program at PATH will use once exec'd (ld.so --list). */
int target__resolve_exec(struct target *t, const char *path);
/* Decide each function's probe site (after resolving). */
void target__place_probes(struct target *t);

#endif
