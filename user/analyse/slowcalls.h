/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What explains the slow calls and the kernel work outside allocator calls: the N slowest
 * calls of each allocator function (their records, MS_EV_SLOW, come from the kernel only
 * when a call joins its CPU's slowest), each with the syscalls, faults and glibc internal
 * steps inside it and its caller's stack; and every memory syscall made outside allocator
 * calls (MS_EV_SYSCALL), grouped by the stack that made it.
 */
#ifndef MEMSTUDY_SLOWCALLS_H
#define MEMSTUDY_SLOWCALLS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "memstudy.h"

struct codemap;
struct slowcalls;

/* N: calls kept per function (--slowest). CM: the trace's code, outliving SC. */
struct slowcalls *slowcalls__new(struct codemap *cm, int n, int stack_depth);
void slowcalls__free(struct slowcalls *sc);
/* One record, MS_EV_SLOW or MS_EV_SYSCALL, of at least its type's size. */
void slowcalls__event(struct slowcalls *sc, const void *data, size_t size);
/* The target exec'ed: unwind what is kept while the old code's rules are known. */
void slowcalls__exec(struct slowcalls *sc);
/* After the last record: symbolize what was kept. LOST: records the kernel dropped. */
void slowcalls__finish(struct slowcalls *sc, uint64_t lost_slow, uint64_t lost_syscalls);

/* slowcalls_report.c. FN_NAMES: the functions' report names; NFN of them. T0: the trace's
 * start (CLOCK_MONOTONIC ns), for times since it. */
void slowcalls__print_text(struct slowcalls *sc, FILE *out, const char *const *fn_names, int nfn,
			   uint64_t t0, int top);
/* Into ROOT (the report's JSON): functions.<fn>.slowest[], and syscalls_outside_calls. */
void slowcalls__add_json(struct slowcalls *sc, json_object *root, const char *const *fn_names,
			 int nfn, uint64_t t0);

/* --follow: CM_OF(CTX, tid) gives the code map of a thread's process (NULL: the target's),
 * for its slow calls' stacks. */
void slowcalls__set_codemap_of(struct slowcalls *sc, struct codemap *(*cm_of)(void *, uint32_t),
			       void *ctx);

#endif
