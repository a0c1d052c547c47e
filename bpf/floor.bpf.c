// SPDX-License-Identifier: GPL-2.0
/* Empty programs at memstudy's probe points: the floor its overhead is measured against
 * (memstudy --probe-floor, bench/overhead.sh). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("uprobe")
int floor_enter(void *ctx)
{
	return 0;
}

SEC("uretprobe")
int floor_exit(void *ctx)
{
	return 0;
}
