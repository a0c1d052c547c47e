// SPDX-License-Identifier: GPL-2.0
/*
 * What each piece of a probe program costs (bench/prog_cost.c): every program but the empty
 * one repeats one helper or map access REPEAT times, so its cost per repetition stands out
 * of the trap's noise.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "prog_cost.h"

char LICENSE[] SEC("license") = "GPL";

__u64 sink;

struct pc_state {
	__u64 a, b;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pc_state);
} task_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct pc_state);
} slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct pc_state);
} counters SEC(".maps");

#define REPEAT(...)                                                                                \
	_Pragma("unroll") for (int i_ = 0; i_ < PC_REPEAT; i_++)                                   \
	{                                                                                          \
		__VA_ARGS__                                                                        \
	}

SEC("uprobe")
int empty(void *ctx)
{
	return 0;
}

SEC("uprobe")
int ktime_get_ns(void *ctx)
{
	__u64 s = 0;

	REPEAT(s += bpf_ktime_get_ns();)
	sink = s;
	return 0;
}

SEC("uprobe")
int get_current_pid_tgid(void *ctx)
{
	__u64 s = 0;

	REPEAT(s += bpf_get_current_pid_tgid();)
	sink = s;
	return 0;
}

SEC("uprobe")
int get_attach_cookie(void *ctx)
{
	__u64 s = 0;

	REPEAT(s += bpf_get_attach_cookie(ctx);)
	sink = s;
	return 0;
}

SEC("uprobe")
int task_storage_get(void *ctx)
{
	struct pc_state *v;
	__u64 s = 0;

	REPEAT(v = bpf_task_storage_get(&task_state, bpf_get_current_task_btf(), NULL,
					BPF_LOCAL_STORAGE_GET_F_CREATE);
	       if (v) s += v->a++;)
	sink = s;
	return 0;
}

SEC("uprobe")
int array_lookup(void *ctx)
{
	__u32 k = 1;
	struct pc_state *v;
	__u64 s = 0;

	REPEAT(v = bpf_map_lookup_elem(&slots, &k); if (v) s += v->a++; k = (k * 7) & 32767;)
	sink = s;
	return 0;
}

SEC("uprobe")
int percpu_array_lookup(void *ctx)
{
	__u32 k = 1;
	struct pc_state *v;
	__u64 s = 0;

	REPEAT(v = bpf_map_lookup_elem(&counters, &k); if (v) s += v->a++; k = (k * 7) & 63;)
	sink = s;
	return 0;
}

SEC("uprobe")
int compare_and_swap(void *ctx)
{
	__u32 k = 5;
	struct pc_state *v = bpf_map_lookup_elem(&slots, &k);
	__u64 s = 0;

	if (!v)
		return 0;
	REPEAT(s += __sync_val_compare_and_swap(&v->b, s, s + 1);)
	sink = s;
	return 0;
}
