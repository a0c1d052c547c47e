/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers shared by every part of memstudy. */
#ifndef MEMSTUDY_UTIL_H
#define MEMSTUDY_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* One line on stderr, prefixed "memstudy: ". Errors say what to do next. */
void ms_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ms_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern bool ms_verbose;

/* Read a whole small file (procfs) into buf; returns bytes read or -errno. */
long read_file(const char *path, char *buf, size_t size);
/* Append printf-style to the NUL-terminated string in BUF of LEN bytes; truncates. */
void appendf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* CLOCK_MONOTONIC in nanoseconds: the clock bpf_ktime_get_ns() reads. */
uint64_t mono_ns(void);
/* File offset of FN, a function of this process, for a uprobe on /proc/self/exe; 0 if
 * unknown. */
uint64_t self_file_offset(const void *fn);
/* Run N jobs at once, each on a thread of its own (inline when one cannot start), and wait
 * for them all: detaching uprobes waits for a grace period each, which then overlap. */
struct par_job {
	void *(*fn)(void *);
	void *arg;
};
void run_parallel(const struct par_job *jobs, int n);
/* A par_job that closes the fd it is given (as (void *)(intptr_t)fd). */
void *close_fd_job(void *fd);

/* Allocation that cannot fail: on out-of-memory memstudy says so and exits 1. */
char *xstrdup(const char *s); /* NULL copies as "" */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *xrealloc(void *p, size_t n);
/* Free *DST and put S there. */
void set_str(char **dst, char *s);

#endif
