/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The contract between memstudy's BPF programs and its collector: enums, fixed-size
 * records and map values. No pointers, no kernel types: both sides include this file.
 */
#ifndef MEMSTUDY_H
#define MEMSTUDY_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Allocator functions, in report order. */
enum ms_fn {
	MS_FN_MALLOC,
	MS_FN_CALLOC,
	MS_FN_REALLOC,
	MS_FN_REALLOCARRAY,
	MS_FN_FREE,
	MS_FN_POSIX_MEMALIGN,
	MS_FN_MEMALIGN, /* before aligned_alloc: glibc 2.36 has one function for both */
	MS_FN_ALIGNED_ALLOC,
	MS_FN_VALLOC,
	MS_FN_PVALLOC,
	MS_FN_MAX,
};

/* Traced syscalls, in report order. */
enum ms_sys {
	MS_SYS_BRK,
	MS_SYS_MMAP,
	MS_SYS_MUNMAP,
	MS_SYS_MREMAP,
	MS_SYS_MADVISE,
	MS_SYS_MPROTECT,
	MS_SYS_MAX,
};

/*
 * Latency histogram: log2 buckets split in MS_HIST_SUB linear steps, so a percentile read
 * from it is within 1/MS_HIST_SUB (12.5 %) of the true value. Bucket 0 holds 0..7 ns.
 */
#define MS_HIST_SUB_BITS 3
#define MS_HIST_SUB	 (1 << MS_HIST_SUB_BITS)
#define MS_HIST_SLOTS	 (64 * MS_HIST_SUB) /* every u64; a power of two for the verifier */

/* Phases: set by the target calling memstudy_phase(name); 0 is "before any marker". */
#define MS_MAX_PHASES	16
#define MS_PHASE_NAME_LEN 32

/* Kernel work done by one thread; charged to the allocator call it happened inside. */
struct ms_kwork {
	__u64 faults;
	__u64 major_faults;
	__u64 syscalls[MS_SYS_MAX];
	__u64 syscall_ns;
};

/* Per (phase, allocator function), per CPU. */
struct ms_fn_stats {
	__u64 calls;
	__u64 bytes;
	__u64 failed;
	__u64 lat_sum_ns;
	__u64 lat_max_ns;
	struct ms_kwork kernel;
	__u64 hist[MS_HIST_SLOTS];
};

/* Per (phase, syscall), per CPU. */
struct ms_sys_stats {
	__u64 calls;
	__u64 failed;
	__u64 in_alloc_calls;
	__u64 ns;
	__u64 bytes;	    /* length argument: mmap/munmap/madvise/mprotect; mremap new_len */
	__u64 grow_bytes;   /* brk growth; mremap growth */
	__u64 shrink_bytes; /* brk shrink; mremap shrink */
};

/* Per phase, per CPU. */
struct ms_fault_stats {
	__u64 user;	      /* faults taken in user mode */
	__u64 kernel_on_user; /* taken in kernel mode on a user address (copy_to_user...) */
	__u64 major;
	__u64 in_alloc_calls;
	__u64 major_in_alloc_calls;
};

/* Why an event or update was dropped; summed into lost_events. */
enum ms_lost {
	MS_LOST_RINGBUF,      /* ring buffer full */
	MS_LOST_THREAD_STATE, /* per-thread state could not be created */
	MS_LOST_MAX,
};

/* Ring buffer records, tagged by type. */
enum ms_event_type {
	MS_EV_PHASE = 1,
};

struct ms_event_phase {
	__u32 type; /* MS_EV_PHASE */
	__u32 phase;
	__u64 ts_ns;
	char name[MS_PHASE_NAME_LEN];
};

#endif /* MEMSTUDY_H */
