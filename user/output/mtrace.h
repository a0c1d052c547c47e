/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memstudy report --mtrace: the log glibc's mtrace() writes (MALLOC_TRACE), made from a
 * recording, so that Debian's mtrace script lists the leaks of a program that never called
 * mtrace(). Each allocation's caller is the return address into it, as glibc logs it, but
 * given in its file's own addresses (what addr2line takes), so that "mtrace PROGRAM LOG"
 * names the source lines of a position-independent program too.
 */
#ifndef MEMSTUDY_OUTPUT_MTRACE_H
#define MEMSTUDY_OUTPUT_MTRACE_H

#include <stdint.h>

struct peralloc;
struct mtrace_log;

/* Into PATH (a safe output file); NULL after saying why. */
struct mtrace_log *mtrace_log__open(const char *path);
/* A replay observer: the malloc family's and C++'s allocations and frees. */
void mtrace_log__record(void *m, struct peralloc *pa, uint32_t pid, const void *rec, uint32_t len);
/* "= End", then close: 0, or 1 after saying why. Frees M. */
int mtrace_log__close(struct mtrace_log *m);

#endif
