/* SPDX-License-Identifier: GPL-2.0 */
/* Running helper programs (gnuplot, the study's workloads): found in PATH, run checked. */
#ifndef MEMSTUDY_LIB_SPAWN_H
#define MEMSTUDY_LIB_SPAWN_H

#include <stdbool.h>
#include <stddef.h>

/* PATH is a regular file we may execute. */
bool executable(const char *path);
/* NAME's first executable in $PATH into OUT. */
bool in_path(const char *name, char *out, size_t len);
/*
 * Run ARGV with stdin from /dev/null, stdout to OUT_FD and stderr to ERR_FD (descriptors
 * the caller opened safely); returns its exit status. TUNABLES: GLIBC_TUNABLES for it (NULL
 * or "": glibc's defaults, whatever the caller's environment says). CWD_FD >= 0: it runs
 * there. DROP: as the user who ran sudo, when there is one (gnuplot needs no root).
 */
int spawn(char *const argv[], int out_fd, int err_fd, const char *tunables, int cwd_fd, bool drop);

#endif
