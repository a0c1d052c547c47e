// SPDX-License-Identifier: GPL-2.0
/*
 * Empty programs at every kind of probe point memstudy uses: the floor its overhead is
 * measured against (memstudy --probe-floor, bench/overhead.py), and the probe-cost
 * calibration (user/calibrate.c, entry and return only).
 *
 * The tracepoint ones matter: attaching any syscall tracepoint sends every syscall of every
 * task through the kernel's slow path, including the uretprobe syscall each return probe
 * comes back through. That is a cost of the probe point, paid by any program there.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

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

SEC("tracepoint")
int floor_syscall(void *ctx)
{
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(floor_thread_exit)
{
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(floor_exec)
{
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(floor_fork)
{
	return 0;
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(floor_page_fault)
{
	return 0;
}

SEC("tp_btf/page_fault_kernel")
int BPF_PROG(floor_page_fault_kernel)
{
	return 0;
}

SEC("perf_event")
int floor_major_fault(void *ctx)
{
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(floor_switch)
{
	return 0;
}
