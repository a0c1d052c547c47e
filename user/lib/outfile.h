/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Output files that no other user can redirect, and writes that are checked.
 *
 * memstudy runs as root. A report written to a path another user controls (a directory
 * they own or may write to, a symbolic link they planted) could be turned into a write
 * over any file on the system. So an output path is accepted only when every directory
 * on the way to it belongs to a trusted user (root, us, or the user who ran sudo) and
 * nobody else may write to it, except sticky directories such as /tmp, where a file
 * another user owns, and any symbolic link, is refused. A new file is created with
 * O_EXCL | O_NOFOLLOW; character devices (/dev/null, a terminal) are written as they are.
 */
#ifndef MEMSTUDY_LIB_OUTFILE_H
#define MEMSTUDY_LIB_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

/* Open PATH for writing ('-' = stdout). NULL after printing why ("memstudy: cannot write
 * PATH: ..." or "memstudy: refusing to write PATH: ..."). */
FILE *out_open(const char *path);
/* Flush F and close it (stdout is only flushed). Returns 0, or -1 after printing
 * "memstudy: cannot write PATH: <reason>" when any write, the flush or the close failed. */
int out_close(FILE *f, const char *path);

/* Why PATH may not be written, or NULL when it may: for the checks above without opening
 * (WHY holds the sentence). */
bool out_path_refused(const char *path, char *why, size_t len);

/*
 * A directory for many output files (memstudy study -o DIR): created 0755 when it does not
 * exist; an existing one must belong to us and be writable by nobody else. Returns an
 * O_DIRECTORY descriptor, or -1 after printing why.
 */
int out_dir_open(const char *path);
/* The subdirectory NAME of DIRFD, created when missing, held to the same rule. */
int out_subdir_open(int dirfd, const char *name, const char *shown);
/* Create NAME in DIRFD afresh: an old entry of that name is removed first, never followed.
 * Returns a file descriptor (O_WRONLY, O_CLOEXEC), or -1 with errno set. */
int out_create_at(int dirfd, const char *name, bool append);
/* The same as a FILE *; NULL after printing "memstudy: cannot write SHOWN: ...". */
FILE *out_fopen_at(int dirfd, const char *name, const char *shown);

/* In a child about to run a helper that needs no root (gnuplot): become the user who ran
 * sudo, when we are root because of sudo. 0, or -1 when that failed. */
int drop_to_sudo_caller(void);

#endif
