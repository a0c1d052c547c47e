/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Multi-uprobe links (kernel 6.6+; libbpf 1.1.2 predates them): one link for all of an
 * allocator's probe points. Detaching a uprobe waits for an RCU grace period (~85 ms here)
 * and the kernel does them one at a time: with a link per probe, memstudy took two seconds
 * to let go of its target; with one link per direction it takes two waits.
 */
#ifndef MEMSTUDY_UPROBE_MULTI_H
#define MEMSTUDY_UPROBE_MULTI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The expected_attach_type a program needs before load to be attached this way. */
#define MS_BPF_TRACE_UPROBE_MULTI 48

/* Does the running kernel take multi-uprobe links? (checked once, by loading a stub) */
bool uprobe_multi__supported(void);
/* Attach PROG_FD at CNT offsets of PATH for process PID; returns the link fd or -errno. */
int uprobe_multi__attach(int prog_fd, const char *path, const uint64_t *offsets,
			 const uint64_t *cookies, unsigned int cnt, bool retprobe, pid_t pid);

#endif
