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

/*
 * What a call does with its arguments and result; with the argument numbers below, all the
 * BPF programs need to know about a function (they get it in the probe's cookie).
 */
enum ms_fn_kind {
	MS_KIND_ALLOC = 1,  /* returns a block (NULL: failed) */
	MS_KIND_ALLOC_OUT,  /* stores the block at *(ptr argument), returns 0 (posix_memalign) */
	MS_KIND_REALLOC,    /* returns a block; the ptr argument's block is gone when it succeeds */
	MS_KIND_FREE,	    /* the ptr argument's block is gone */
	MS_KIND_OTHER,	    /* no block in or out: its time and kernel work only (malloc_trim) */
	MS_KIND_POOL_CLEAR, /* every block of the pool argument's pool is gone; the pool stays */
	MS_KIND_POOL_DESTROY, /* every block of the pool argument's pool is gone, and the pool */
};

/*
 * glibc's allocator functions, in report order:
 *   X(ID, symbol, size argument, count argument (size x count), ptr argument, kind)
 * Argument numbers are 1-based, 0 for none. glibc 2.36 has one function for memalign and
 * aligned_alloc (memalign comes first, so the probe is counted under it).
 */
#define MS_GLIBC_FUNCTIONS(X)                                                                      \
	X(MALLOC, "malloc", 1, 0, 0, MS_KIND_ALLOC)                                                \
	X(CALLOC, "calloc", 1, 2, 0, MS_KIND_ALLOC)                                                \
	X(REALLOC, "realloc", 2, 0, 1, MS_KIND_REALLOC)                                            \
	X(REALLOCARRAY, "reallocarray", 2, 3, 1, MS_KIND_REALLOC)                                  \
	X(FREE, "free", 0, 0, 1, MS_KIND_FREE)                                                     \
	X(POSIX_MEMALIGN, "posix_memalign", 3, 0, 1, MS_KIND_ALLOC_OUT)                            \
	X(MEMALIGN, "memalign", 2, 0, 0, MS_KIND_ALLOC)                                            \
	X(ALIGNED_ALLOC, "aligned_alloc", 2, 0, 0, MS_KIND_ALLOC)                                  \
	X(VALLOC, "valloc", 1, 0, 0, MS_KIND_ALLOC)                                                \
	X(PVALLOC, "pvalloc", 1, 0, 0, MS_KIND_ALLOC)                                              \
	X(MALLOC_TRIM, "malloc_trim", 0, 0, 0, MS_KIND_OTHER)

/*
 * C++'s operators, probed in whichever file defines them (libstdc++, or an allocator that
 * replaces them): each one function of the report, its nothrow, sized and aligned variants
 * counted inside it (the variant is in the probe's cookie).
 */
#define MS_CXX_FUNCTIONS(X)                                                                        \
	X(OP_NEW, "operator new", 1, 0, 0, MS_KIND_ALLOC)                                          \
	X(OP_NEW_ARRAY, "operator new[]", 1, 0, 0, MS_KIND_ALLOC)                                  \
	X(OP_DELETE, "operator delete", 0, 0, 1, MS_KIND_FREE)                                     \
	X(OP_DELETE_ARRAY, "operator delete[]", 0, 0, 1, MS_KIND_FREE)

/* clang-format cannot see through the X-macro: */
/* clang-format off */
enum ms_fn {
#define MS_FN_ENUM(id, name, size, count, ptr, kind) MS_FN_##id,
	MS_GLIBC_FUNCTIONS(MS_FN_ENUM)
	MS_CXX_FUNCTIONS(MS_FN_ENUM)
#undef MS_FN_ENUM
	MS_FN_COUNT,
	MS_FN_GLIBC_COUNT = MS_FN_OP_NEW, /* the malloc family comes first */
	MS_FN_CUSTOM = MS_FN_COUNT, /* custom allocators' functions (--alloc...) from here */
	MS_FN_MAX = 32, /* function slots; the statistics maps are sized to those in use */
};
/* clang-format on */
#define MS_VARIANTS_MAX 64 /* C++ operator variants and allocator APIs, counted apart */

/*
 * An allocator probe's BPF cookie: everything the programs need about its function, so
 * they are the same for every allocator. Built by user/resolve/target.c from the table.
 */
#define MS_COOKIE_FN_MASK     0xff /* the function's slot, < MS_FN_MAX */
#define MS_COOKIE_SIZE_SHIFT  8	   /* 3 bits: argument holding the size, 0 = none */
#define MS_COOKIE_COUNT_SHIFT 11   /* 3 bits: the size is times this argument, 0 = none */
#define MS_COOKIE_PTR_SHIFT                                                                        \
	14			   /* 3 bits: argument holding the block passed in; a pool         \
				    * allocator's alloc, clear or destroy: the pool */
#define MS_COOKIE_KIND_SHIFT	17 /* 3 bits: enum ms_fn_kind */
#define MS_COOKIE_VARIANT_SHIFT 20 /* 8 bits: the C++ variant + 1; 0 = none */
/*
 * An entry probe with no return probe: C++'s throwing operator new in libstdc++. A return
 * probe replaces the return address with the kernel's trampoline, which has no unwind
 * information, so a bad_alloc thrown through it would terminate the program. The call is
 * counted at its entry, and the malloc it makes becomes its body (latency, kernel work).
 */
#define MS_COOKIE_ENTRY_ONLY	(1ULL << 28)
#define MS_COOKIE_ARG(c, shift) (((c) >> (shift)) & 7)
#define MS_COOKIE(fn, size, count, ptr, kind)                                                      \
	((__u64)(fn) | (__u64)(size) << MS_COOKIE_SIZE_SHIFT |                                     \
	 (__u64)(count) << MS_COOKIE_COUNT_SHIFT | (__u64)(ptr) << MS_COOKIE_PTR_SHIFT |           \
	 (__u64)(kind) << MS_COOKIE_KIND_SHIFT)

/*
 * glibc's internal steps: functions inside malloc's slow paths, probed when libc's debug
 * symbols are installed (libc6-dbg), to say what a slow call was doing. Never the hot paths
 * (_int_malloc, _int_free). X(ID, symbol).
 */
#define MS_GLIBC_STEPS(X)                                                                          \
	X(CONSOLIDATE, "malloc_consolidate")                                                       \
	X(SYSMALLOC, "sysmalloc")                                                                  \
	X(MUNMAP_CHUNK, "munmap_chunk")                                                            \
	X(ARENA_GET2, "arena_get2")                                                                \
	X(NEW_HEAP, "new_heap")

/* clang-format off */
enum ms_step {
#define MS_STEP_ENUM(id, name) MS_STEP_##id,
	MS_GLIBC_STEPS(MS_STEP_ENUM)
#undef MS_STEP_ENUM
	MS_STEP_COUNT,
	MS_STEP_MAX = 8, /* step slots in the maps */
};
/* clang-format on */
#define MS_STEP_NEST 4
#define MS_USER_FNS                                                                                \
	16 /* libc functions that allocate for the program (strdup...) */ /* steps open at once in \
									     one call (arena_get2  \
									     -> new_heap) */

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

/* Per-thread state slots, indexed by tid: a power of two between these, >= pid_max when it
 * fits (then tids never collide). 128 bytes each: 64Ki slots are 8 MiB. */
#define MS_THREAD_SLOTS_MIN 1024
#define MS_THREAD_SLOTS_MAX 65536

/*
 * The part of a thread's slot the collector writes (the slots map is mmapable): the top of
 * the stack the unwinder needed, learned from a complete walk of this thread's copy, so a
 * copy (--unwind copy) takes what the frames span instead of stack_copy bytes. Valid while
 * tid is the thread's; a copy found too short clears it.
 */
struct ms_thread_shared {
	__u64 copy_top;
	__u32 tid;
	__u32 pad;
};
#define MS_THREAD_SLOT_SIZE	128
#define MS_THREAD_SHARED_OFFSET 112

/* Phases: set by the target calling memstudy_phase(name); 0 is "before any marker". */
#define MS_MAX_PHASES	  16
#define MS_PHASE_NAME_LEN 32

/* Kernel work done by one thread; charged to the allocator call it happened inside. */
struct ms_kwork {
	__u64 faults;
	__u64 major_faults;
	__u64 syscalls[MS_SYS_MAX];
	__u64 syscall_ns;
};

/* One syscall made inside an allocator call (kept for the slowest calls). */
struct ms_call_syscall {
	__u64 ns;
	__u64 len;   /* the length argument; mremap: the new length */
	__s64 delta; /* brk: new break - old; mremap: new length - old */
	__s64 result;
	__u32 sys; /* enum ms_sys */
	__u32 pad;
};
#define MS_CALL_SYSCALLS 8 /* syscalls kept per call; more are counted */

/*
 * The kernel work and glibc's internal steps inside the allocator call in progress on one
 * thread, gathered as they happen, read at the call's return: charged to glibc's own calls,
 * or carried by a slow call's record. Cleared after a call that did any.
 */
struct ms_call_work {
	__u64 faults;
	__u64 major_faults;
	__u64 sys_ns;
	__u64 offcpu_ns; /* switched out outside its syscalls (theirs is in sys_ns) */
	__u64 syscalls[MS_SYS_MAX];
	__u32 nsys; /* syscalls made; the first MS_CALL_SYSCALLS are in sys[] */
	__u32 switches;
	__u32 step_calls[MS_STEP_MAX];
	__u64 step_ns[MS_STEP_MAX]; /* inclusive: a nested step's time is its parent's too */
	struct ms_call_syscall sys[MS_CALL_SYSCALLS];
};

/*
 * Per thread, in the thread_work map: its calls, bytes and time per function, its kernel
 * work, and its call in progress. Indexed by the order threads first used the allocator
 * (never reused: an exited thread's numbers stay for the report).
 */
struct ms_thread_work {
	__u32 tid;
	__u32 exited;
	__u32 tgid; /* its process (--follow traces several) */
	__u32 pad0;
	char comm[16];
	__u64 fn_calls[MS_FN_MAX];
	__u64 fn_bytes[MS_FN_MAX];
	__u64 fn_ns[MS_FN_MAX];
	__u64 fn_own_calls[MS_FN_MAX]; /* made by glibc itself */
	__u64 syscalls[MS_SYS_MAX];    /* all of the thread's, in allocator calls or not */
	__u64 syscall_ns;
	__u64 faults;
	__u64 major_faults;
	/* the call in progress */
	__u32 nest; /* internal steps open */
	__u32 step_kind[MS_STEP_NEST];
	__u32 pad;
	__u64 step_entry_ns[MS_STEP_NEST];
	struct ms_call_work call;
};
#define MS_THREAD_WORK_DEFAULT 4096 /* threads with numbers of their own; more are counted */

/*
 * Where a process's allocator and ld.so have their text, to tell the allocator's own calls:
 * [0] libc's (learned from the first call's probe address), [1] ld.so's (at exec, or from
 * /proc by the collector). One for the target; with --follow one per process (own_texts).
 */
struct ms_own_text {
	__u64 lo[2], hi[2];
	__u64 bias; /* libc's load bias: file offset + bias = run-time address */
	__u32 off;  /* its calls cannot be told apart (the program is its own allocator) */
	__u32 pad;
};

/* Per (phase, allocator function), per CPU: the calls glibc made on its own behalf (its
 * caller inside libc or ld.so), a part of fn_stats' numbers. */
struct ms_own_stats {
	__u64 calls;
	__u64 bytes;
	__u64 lat_sum_ns;
	struct ms_kwork kernel;
};

/* Per (allocator function, internal step), per CPU. */
struct ms_step_stats {
	__u64 calls;
	__u64 ns;
};

/* Per allocator function, per CPU: the latencies of this CPU's N slowest calls so far (N =
 * --slowest), so a call is sent to the collector only when it is among them. */
#define MS_SLOWEST_MAX 64
struct ms_slow_top {
	__u64 min; /* the fastest of ns[] once n == N */
	__u32 n;
	__u32 min_at;
	__u64 ns[MS_SLOWEST_MAX];
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

/* Why an event or update was dropped; summed into lost_events. Ring-buffer drops are also
 * counted by record type in the BPF object's lost_records[] (per-allocation mode's loss). */
enum ms_lost {
	MS_LOST_RINGBUF,      /* ring buffer full */
	MS_LOST_THREAD_STATE, /* per-thread state could not be created */
	MS_LOST_MAX,
};

/* Ring buffer records, tagged by type. */
enum ms_event_type {
	MS_EV_PHASE = 1,
	/* Per-allocation mode only (memstudy --per-allocation): */
	MS_EV_ALLOC,   /* an allocating call returned (realloc: also frees old_ptr) */
	MS_EV_FREE,    /* free() was entered: before glibc can hand the block to another thread */
	MS_EV_FAULT,   /* a page fault on a user address, or a major fault */
	MS_EV_MAP,     /* a successful mmap, munmap, mremap or brk */
	MS_EV_EXEC,    /* the target exec'ed: a new image (any mode) */
	MS_EV_MODULE,  /* a file mapped executable, named by the kernel */
	MS_EV_SLOW,    /* an allocator call among the slowest so far (--slowest) */
	MS_EV_SYSCALL, /* a memory syscall made outside any allocator call */
	MS_EV_PROC,    /* --follow: a process of the followed tree forked or exited */
	MS_EV_RSS,     /* memstudy record: the target's resident set moved (kmem/rss_stat) */
	MS_EV_KWORK,   /* per-allocation: the syscall time inside a call that made syscalls */
	MS_EV_TYPES = 16, /* room for every type, a power of two: lost_records[] */
};

struct ms_event_phase {
	__u32 type; /* MS_EV_PHASE */
	__u32 phase;
	__u64 ts_ns;
	char name[MS_PHASE_NAME_LEN];
};

#define MS_PATH_LEN 256

struct ms_event_exec {
	__u32 type; /* MS_EV_EXEC */
	__u32 tid;  /* the thread that called execve (the new image keeps the tgid) */
	__u64 ts_ns;
	char filename[MS_PATH_LEN - 8]; /* as given to execve */
	__u32 tgid;
	__u32 stopped; /* --follow: stopped (SIGSTOP) until the collector has probed it */
};

/* --follow: a process of the followed tree was forked (stopped with SIGSTOP before its
 * first instruction, for the collector to probe it and continue it), or exited. */
enum ms_proc_what {
	MS_PROC_FORK = 1,
	MS_PROC_EXIT,
	MS_PROC_THREAD, /* --follow --per-allocation: a new thread of pid, its tid in ppid */
};
struct ms_event_proc {
	__u32 type; /* MS_EV_PROC */
	__u32 what; /* enum ms_proc_what */
	__u64 ts_ns;
	__u32 pid;	 /* the new or exited process (its tgid) */
	__u32 ppid;	 /* fork: the parent process */
	__s32 exit_code; /* exit: as wait() reports it */
	__u32 stopped;	 /* fork: SIGSTOP was sent to it */
	char comm[16];
};

/* --follow: one process's calls of one function, for its own latency percentiles and
 * kernel work (the report's tables are the tree's). Updated atomically: its threads may
 * run on several CPUs. */
struct ms_proc_fn_key {
	__u32 tgid;
	__u32 fn;
};
struct ms_proc_fn {
	__u64 calls;
	__u64 lat_sum_ns;
	__u64 lat_max_ns;
	__u64 sys_ns; /* in syscalls made inside its calls */
	__u64 syscalls;
	__u64 faults; /* taken inside its calls */
	__u64 hist[MS_HIST_SLOTS];
};

/*
 * The target's resident memory as the kernel counts it (kmem/rss_stat, one of its mm's
 * counters changed): sent when a counter has moved by MS_RSS_STEP since the last record
 * of it, so that a timeline gets every step without a record per page.
 */
#define MS_RSS_STEP    (256 << 10)
#define MS_RSS_MEMBERS 4 /* MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES */
struct ms_event_rss {
	__u32 type; /* MS_EV_RSS */
	__u32 tid;
	__u64 ts_ns;
	__u32 member; /* the counter: 0 file pages, 1 anonymous, 2 swap entries, 3 shmem */
	__u32 pad;
	__s64 bytes; /* its value now */
};

/*
 * Per-allocation mode: an allocator call that made syscalls (brk, mmap, munmap...), at its
 * return: their time, for the call site of its block (an allocation's, or the freed
 * block's). Sent only for such calls, after the call's own record, by the same thread.
 */
struct ms_event_kwork {
	__u32 type; /* MS_EV_KWORK */
	__u32 tid;
	__u64 ts_ns;
	__u64 sys_ns; /* in the call's syscalls */
	__u32 syscalls;
	__u16 seq; /* the call's: its record's seq */
	__u8 fn;
	__u8 kind; /* enum ms_fn_kind */
};

/*
 * A module: an executable file mapping of the target, named from the kernel's own dentries
 * when it appears (the image at exec, each mmap with PROT_EXEC after), so a call site can
 * be named after the target is gone, however short its life.
 */
#define MS_MODULE_PATH_LEN  1024 /* name[]: path components, leaf first, NUL after each */
#define MS_MODULE_NAME_MAX  256	 /* one component */
#define MS_MODULE_MAX_DEPTH 32

enum ms_module_flags {
	MS_MODULE_EXE = 1,	 /* the program's own text, at exec */
	MS_MODULE_IMAGE = 2,	 /* a whole image starts at start (the interpreter at AT_BASE) */
	MS_MODULE_TRUNCATED = 4, /* the path was longer than name[] holds */
};

struct ms_event_module {
	__u32 type; /* MS_EV_MODULE */
	__u32 tid;
	__u64 ts_ns;
	__u64 start, end; /* the mapping */
	__u64 offset;	  /* file offset of start */
	__u64 ino;
	__u32 dev;
	__u16 flags; /* enum ms_module_flags */
	__u16 ncomp; /* components in name[] */
	char name[MS_MODULE_PATH_LEN];
};

/*
 * Per-allocation records. Fixed size, no pointers; the first u32 is the type. seq numbers
 * a thread's outermost allocator calls (16 bits wrap: only the current call is compared),
 * so a fault taken inside a call can be matched with the record of the same call.
 */
#define MS_STACK_DEPTH	   64	 /* frames kept per user stack (stack map value: 8 bytes each) */
#define MS_STACK_NO_FP	   -1000 /* stack_id: the caller keeps no frame pointer; caller only */
#define MS_STACK_IN_RECORD -1001 /* stack_id: the record carries its stack (below) */
#define MS_STACK_UNWOUND                                                                           \
	-1003		       /* stack_id: memstudy report's; the frames are final, and           \
				* stack_len holds the recording's id of the stack */
#define MS_STACK_COPY_MAX 8192 /* the most stack bytes one record carries */

struct ms_event_alloc {
	__u32 type; /* MS_EV_ALLOC */
	__u32 tid;
	__u64 ts_ns;
	__u64 ptr;	/* returned; 0 when the call failed */
	__u64 size;	/* requested */
	__u64 old_ptr;	/* realloc, reallocarray: the block passed in */
	__u64 caller;	/* return address into the caller (instruction pointer at the return) */
	__s32 stack_id; /* in the stacks map; MS_STACK_NO_FP, or -errno when not stored */
	__u8 fn;	/* enum ms_fn */
	__u8 kind;	/* enum ms_fn_kind: MS_KIND_ALLOC's old_ptr is the block's pool, or 0 */
	__u16 seq;
};

/* Why a stack walk ended before its depth (in the kernel, or in the collector). */
enum ms_unwind_end {
	MS_UNWIND_OUTERMOST,  /* the return address was 0 or undefined: the stack is complete */
	MS_UNWIND_NO_MODULE,  /* a frame in no code with rows (JIT, or not loaded yet) */
	MS_UNWIND_NO_CFI,     /* no CFI row and no frame pointer for the address */
	MS_UNWIND_EXPRESSION, /* a rule memstudy cannot express (a DWARF expression) */
	MS_UNWIND_COPY,	      /* the collector: the next frame lies past the copied bytes */
	MS_UNWIND_DEPTH,      /* the depth asked for was reached */
	MS_UNWIND_READ,	      /* the kernel: the stack could not be read there */
	MS_UNWIND_ENTRY,      /* the collector: main or start_thread, past them libc's start-up */
	MS_UNWIND_END_MAX,
};

/*
 * Stacks unwound in the kernel: the collector turns each module's CFI (.eh_frame) into rows,
 * one per address range with its own rule, sorted by address, in the unwind_rows map; the
 * BPF walk finds a frame's mapping in a table of text mappings, the row by binary search,
 * and reads 16 bytes of stack a frame. A rule packs:
 *   bits 0-2  enum ms_unwind_rule
 *   bits 3-7  rbp saved at CFA - 8 * n (n = 1..31); 0: rbp unchanged
 *   bits 8-31 the CFA's offset from rsp or rbp
 */
enum ms_unwind_rule {
	MS_UNW_FP,	   /* no CFI here: follow the frame pointer (rbp, [rbp], [rbp + 8]) */
	MS_UNW_CFA_RSP,	   /* CFA = rsp + off, the return address at CFA - 8 */
	MS_UNW_CFA_RBP,	   /* CFA = rbp + off, the return address at CFA - 8 */
	MS_UNW_OUTERMOST,  /* the CFI says there is no caller (_start) */
	MS_UNW_EXPRESSION, /* a rule the walk cannot express */
};
#define MS_UNW_KIND(r)	   ((r)&7)
#define MS_UNW_RBP_SLOT(r) (((r) >> 3) & 31)
#define MS_UNW_CFA_OFF(r)  ((r) >> 8)
#define MS_UNW_RULE(kind, rbp_slot, cfa_off)                                                       \
	((__u32)(kind) | (__u32)(rbp_slot) << 3 | (__u32)(cfa_off) << 8)
#define MS_UNW_CFA_OFF_MAX ((1U << 24) - 1)

struct ms_unwind_row {
	__u32 addr; /* first address of the range, in the module's own (ELF) addresses */
	__u32 rule;
};

/* A text mapping with rows: pc - bias is the module address of pc. */
struct ms_unwind_map {
	__u64 start, end;
	__u64 bias;
	__u32 first; /* its module's rows: unwind_rows[first .. first + count) */
	__u32 count; /* 0: no CFI, frame pointers only */
};

/* Text mappings per table; two tables, the collector fills one while the walk reads the
 * other (unwind_live in the BPF object's bss says which). */
#define MS_UNWIND_MAPS	       256
#define MS_UNWIND_ROWS_DEFAULT (1U << 22) /* 32 MiB: libLLVM-14 alone has over 1M rows */

/*
 * Per-allocation with stacks: the allocation record, the frames walked in the kernel
 * (frames[0] is a.caller), why that walk stopped, the registers of the frame it stopped
 * at, and, when it stopped for want of rows (a module loaded too recently, or stacks
 * copied instead, --unwind copy), the top STACK_LEN bytes of the stack from that frame's
 * sp, for the collector to unwind with the CFI (analyse/unwind.c). The record is cut after
 * frames[nframes] when it carries no stack.
 */
struct ms_event_alloc_stack {
	struct ms_event_alloc a; /* a.stack_id == MS_STACK_IN_RECORD */
	__u8 nframes;
	__u8 end; /* enum ms_unwind_end */
	__u16 pad;
	__u32 stack_len;
	__u64 pc, sp, bp; /* the frame the walk stopped at */
	__u64 frames[MS_STACK_DEPTH];
	__u8 stack[MS_STACK_COPY_MAX];
};

struct ms_event_free {
	__u32 type; /* MS_EV_FREE */
	__u32 tid;
	__u64 ts_ns;
	__u64 ptr; /* the block; with kind MS_KIND_POOL_*, the pool */
	__u16 seq;
	__u8 kind; /* MS_KIND_FREE, MS_KIND_POOL_CLEAR or MS_KIND_POOL_DESTROY */
	__u8 fn;
	__u16 pad[2];
};

enum ms_fault_flags {
	MS_FAULT_MAJOR = 1,    /* from the major-fault event (follows the fault's own record) */
	MS_FAULT_IN_ALLOC = 2, /* taken inside an allocator call of this thread */
	MS_FAULT_KERNEL = 4,   /* taken in kernel mode on a user address (copy_to_user...) */
	MS_FAULT_WRITE = 8,
};

struct ms_event_fault {
	__u32 type; /* MS_EV_FAULT */
	__u32 tid;
	__u64 ts_ns;
	__u64 addr;
	__u64 ip;
	__u16 flags; /* enum ms_fault_flags */
	__u16 seq;   /* the thread's allocator call, when MS_FAULT_IN_ALLOC */
	__u32 pad;
};

struct ms_event_map {
	__u32 type; /* MS_EV_MAP */
	__u32 tid;
	__u64 ts_ns;
	__u32 sys;	/* enum ms_sys: BRK, MMAP, MUNMAP or MREMAP */
	__u32 in_alloc; /* made inside an allocator call */
	__u64 addr;	/* mmap, mremap: the result; munmap: the address; brk: the new break */
	__u64 len;	/* mmap, munmap: the length; mremap: the new length */
	__u64 old_addr; /* mremap: the old address; brk: the break before the call */
	__u64 old_len;	/* mremap: the old length; brk: mm->start_brk */
	__u32 prot;	/* mmap */
	__u32 flags;	/* mmap: MAP_* flags */
};

/*
 * A slow call (MS_EV_SLOW): what happened inside it, and the caller's registers and stack
 * top at its return for the collector to unwind. The record is cut after stack[stack_len].
 */
struct ms_event_slow {
	__u32 type; /* MS_EV_SLOW */
	__u32 tid;
	__u64 ts_ns; /* when the call began */
	__u64 ns;
	__u64 bytes; /* requested */
	__u8 fn;     /* enum ms_fn */
	__u8 own;    /* glibc's own call (its caller in libc or ld.so) */
	__u8 work;   /* w holds the call's work (0: its thread has no work slot) */
	__u8 pad;
	__u32 stack_len;
	__u64 pc, sp, bp;
	struct ms_call_work w;
	__u8 stack[MS_STACK_COPY_MAX];
};

/* A memory syscall outside any allocator call (MS_EV_SYSCALL), with the caller's stack. */
struct ms_event_syscall {
	__u32 type; /* MS_EV_SYSCALL */
	__u32 tid;
	__u64 ts_ns; /* when it began */
	struct ms_call_syscall s;
	__u32 stack_len;
	__u32 pad;
	__u64 pc, sp, bp; /* the user registers at the syscall */
	__u8 stack[MS_STACK_COPY_MAX];
};

/*
 * The contract, checked: the collector sums statistics as arrays of u64 (no padding, no
 * other field type), and records keep their sizes (the stream's layout; a change here is a
 * format change for whatever reads the records).
 */
_Static_assert(sizeof(struct ms_kwork) % 8 == 0 && sizeof(struct ms_fn_stats) % 8 == 0 &&
		   sizeof(struct ms_sys_stats) == 7 * 8 && sizeof(struct ms_fault_stats) == 5 * 8,
	       "statistics are u64 fields only");
_Static_assert(sizeof(struct ms_fn_stats) == (8 + MS_SYS_MAX + MS_HIST_SLOTS) * 8,
	       "ms_fn_stats: every field a u64");
_Static_assert(sizeof(struct ms_event_phase) == 48 && sizeof(struct ms_event_alloc) == 56 &&
		   sizeof(struct ms_event_free) == 32 && sizeof(struct ms_event_fault) == 40 &&
		   sizeof(struct ms_event_map) == 64 && sizeof(struct ms_event_exec) == 272 &&
		   sizeof(struct ms_event_module) == 1080,
	       "record sizes are part of the stream's format");
_Static_assert(MS_FN_COUNT <= MS_FN_MAX && MS_FN_MAX <= MS_COOKIE_FN_MASK + 1, "function slots");
_Static_assert(sizeof(struct ms_unwind_row) == 8 && sizeof(struct ms_unwind_map) == 32 &&
		   __builtin_offsetof(struct ms_event_alloc_stack, frames) == 88 &&
		   __builtin_offsetof(struct ms_event_alloc_stack, stack) ==
		       88 + 8 * MS_STACK_DEPTH,
	       "unwind tables and stack records");
_Static_assert(sizeof(struct ms_call_syscall) == 40 && sizeof(struct ms_call_work) % 8 == 0 &&
		   sizeof(struct ms_thread_work) % 8 == 0 && sizeof(struct ms_own_stats) % 8 == 0 &&
		   MS_STEP_COUNT <= MS_STEP_MAX,
	       "call work and thread records");
_Static_assert(sizeof(struct ms_event_proc) == 48 && sizeof(struct ms_event_rss) == 32 &&
		   sizeof(struct ms_event_kwork) == 32,
	       "process, resident-set and kernel-work records");
_Static_assert(MS_EV_TYPES > MS_EV_PROC && !(MS_EV_TYPES & (MS_EV_TYPES - 1)),
	       "lost_records[] is indexed by type & (MS_EV_TYPES - 1)");

#endif /* MEMSTUDY_H */
