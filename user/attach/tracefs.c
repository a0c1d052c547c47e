// SPDX-License-Identifier: GPL-2.0
/* Syscall tracepoints are found through tracefs, which a fresh machine has not mounted. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>

#include "attach/tracer.h"
#include "lib/util.h"

#define TRACEFS "/sys/kernel/tracing"

int tracefs__ensure(bool may_mount)
{
	if (!access(TRACEFS "/events/syscalls", F_OK) ||
	    !access("/sys/kernel/debug/tracing/events/syscalls", F_OK))
		return 0;
	if (!may_mount) {
		ms_err("tracefs is not mounted; mount it with 'mount -t tracefs nodev %s' "
		       "(or drop --no-mount and memstudy mounts it)",
		       TRACEFS);
		return -1;
	}
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL) && errno != EBUSY) {
		ms_err("tracefs is not mounted and mounting it failed (%s); run 'mount -t tracefs "
		       "nodev %s' as root",
		       strerror(errno), TRACEFS);
		return -1;
	}
	if (access(TRACEFS "/events/syscalls", F_OK)) {
		ms_err("%s/events/syscalls is missing: this kernel lacks syscall tracepoints "
		       "(CONFIG_FTRACE_SYSCALLS)",
		       TRACEFS);
		return -1;
	}
	if (ms_verbose)
		fprintf(stderr, "memstudy: mounted tracefs on %s\n", TRACEFS);
	return 0;
}
