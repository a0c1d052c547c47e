/* SPDX-License-Identifier: GPL-2.0 */
/* Small facts about a process from /proc/PID/stat. */
#ifndef MEMSTUDY_LIB_PROCFS_H
#define MEMSTUDY_LIB_PROCFS_H

#include <stdbool.h>
#include <sys/types.h>

struct proc_stat {
	char state; /* R, S, D, Z (zombie), T, t, X, I */
	pid_t ppid;
	unsigned long flags; /* PF_*: PF_KTHREAD marks kernel threads */
};

#define PROC_PF_KTHREAD 0x00200000

/* False when there is no such process (or its stat cannot be read). */
bool proc_stat_read(pid_t pid, struct proc_stat *st);
/* "PID 12 is a zombie: it has exited and its parent, PID 3, has not reaped it yet" when it
 * is one (into BUF); false otherwise. */
bool proc_zombie_words(pid_t pid, char *buf, size_t len);

#endif
