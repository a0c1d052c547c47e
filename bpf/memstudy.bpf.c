// SPDX-License-Identifier: GPL-2.0
/*
 * memstudy's kernel side, summary mode: count allocator calls and the kernel work done
 * inside them, aggregated in per-CPU maps that the collector reads at the end.
 *
 * Uprobes are attached for the target pid only, so they need no filter; tracepoints and
 * fault events fire for every process and filter on target_tgid first.
 *
 * Per-allocation mode (per_alloc, set before load) also streams one ring-buffer record per
 * allocator call, fault and mapping change to the collector (user/peralloc.c). In summary
 * mode the verifier prunes that code: it costs nothing there.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "hist_slot.h"
#include "memstudy.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_tgid;
/* --follow: the processes forked by the target's tree are traced too (the followed map) */
const volatile bool follow;
/* Without --follow: the target's children (fork, vfork, clone of a process), not traced */
__u64 children_not_followed;
__u64 follow_map_full; /* children not followed: the followed map was full */

/* Function slots in use (enum ms_fn, then the custom allocators'): fn_stats and own_stats
 * hold MS_MAX_PHASES of them, sized before load. */
const volatile __u32 fn_slots = MS_FN_MAX;
const volatile bool per_alloc;
/* Per-allocation: bytes of stack copied into an allocation record where the in-kernel walk
 * (unwind.h) stopped for want of rows, for the collector to unwind (a power of two,
 * <= MS_STACK_COPY_MAX). With walk_depth 0, from the caller's frame: --unwind copy. */
const volatile __u32 stack_copy;
/* --slowest N (<= MS_SLOWEST_MAX): each CPU keeps its N slowest calls per function and sends
 * a record for each call that joins them; 0: none. */
const volatile __u32 slowest_n;
/* Send each memory syscall made outside allocator calls with its caller's stack. */
const volatile bool syscall_stacks;
/* Tell the allocator's own calls apart (glibc's, or tcmalloc's...): the return address in
 * the allocator's file (own_lo/hi[0], learned from the first call's probe address) or in
 * ld.so ([1], at exec or from /proc by the collector), but not in the functions that
 * return the block to the program (glibc's strdup...): their file offsets in libc,
 * user_fn_lo/hi[0 .. user_fns). */
const volatile bool own_calls;
const volatile __u32 user_fns;
const volatile __u64 user_fn_lo[MS_USER_FNS], user_fn_hi[MS_USER_FNS];
struct ms_own_text own_text; /* the target's; --follow: each process's in own_texts */
/* Threads given a thread_work slot so far; past thread_work's size they get none. */
__u32 threads_seen;
const volatile __u32 thread_work_max = 1;
/* Name code mappings as they appear (MS_EV_MODULE): whenever the collector unwinds stacks. */
const volatile bool send_modules;

__u64 stack_errors; /* per-allocation: calls whose stack could not be stored (caller only) */
/* Ring-buffer records dropped, by type: read by the collector while it runs (bss is mapped),
 * so a free of a block it never saw can be told from one whose record was lost. */
__u64 lost_records[MS_EV_TYPES];
__u64 modules_unnamed; /* code mappings the kernel could not name (mmap lock busy...) */

__u32 cur_phase;      /* bumped by memstudy_phase() in the target */
__u64 phase_overflow; /* phase markers past MS_MAX_PHASES, merged into the last */

/*
 * Per thread: the allocator call in progress and the syscall in progress. The fields the
 * allocator probes touch come first, in one cache line; a slot is two lines, so threads on
 * two CPUs never share one.
 */
struct thread_state {
	__u32 tid;   /* owner of this slot; 0 when free */
	__u32 depth; /* >1 while glibc calls itself (realloc(NULL,n), reallocarray) */
	__u64 entry_ns;
	__u64 bytes;
	__u8 fn;
	__u8 kind;    /* enum ms_fn_kind */
	__u8 walking; /* reading the user stack: its reads may fault (not the target's faults) */
	__u8 dirty;   /* the call in progress did kernel work: thread_work's call is in use */
	__u8 in_sys;
	__u8 sys;
	__u8 armed_fn;	  /* an entry-only operator new is in progress: its slot + 1 */
	__u8 pre_counted; /* the call in progress was counted at an entry-only probe */
	__u16 seq;	  /* per-allocation: outermost allocator calls of this thread */
	__u16 variant;	  /* the C++ operator's variant + 1, or 0 */
	__u32 work;	  /* this thread's slot in thread_work, + 1; 0: none */
	__u64 sys_ns;
	__u64 sys_len;
	__u64 sys_len2;
	/* per-allocation mode */
	__u64 arg_ptr;	 /* the ptr argument: free's and realloc's block, posix_memalign's memptr */
	__u64 sys_arg0;	 /* mmap: addr; munmap, mremap: the old address */
	__u64 sys_arg3;	 /* mmap: flags */
	__u64 stack_end; /* the end of this thread's stack mapping, once looked up */
	__u64 off_ns;	 /* switched out at, inside an allocator call */
	__u64 armed_sp;	 /* the entry-only call's stack pointer: calls below it are inside */
	struct ms_thread_shared shared; /* written by the collector */
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct thread_state) == MS_THREAD_SLOT_SIZE &&
		   __builtin_offsetof(struct thread_state, shared) == MS_THREAD_SHARED_OFFSET,
	       "the collector writes thread_state.shared");

/*
 * Thread state lives in an array indexed by tid & slot_mask: the lookup is inlined, where
 * task storage costs a helper call, a lock and a cache walk on every probe hit. A thread
 * claims its slot with a compare-and-swap on first use and gives it back when it exits.
 * Sized from pid_max, tids never collide; when pid_max is larger than the array, a thread
 * whose slot is taken keeps its state in task storage instead (slot_spills counts them).
 * Mmapable only for the alignment: slot 0 starts on a page boundary.
 */
const volatile __u32 slot_mask = MS_THREAD_SLOTS_MIN - 1;
__u64 slot_spills;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, MS_THREAD_SLOTS_MIN); /* set before load */
	__type(key, __u32);
	__type(value, struct thread_state);
} thread_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_MAX_PHASES *MS_FN_MAX); /* set before load: fn_slots */
	__type(key, __u32);
	__type(value, struct ms_fn_stats);
} fn_stats SEC(".maps");

/* Calls per C++ operator variant (the cookie's), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_VARIANTS_MAX);
	__type(key, __u32);
	__type(value, __u64);
} variant_calls SEC(".maps");

/* --follow: where each process's allocator and ld.so are (the same as followed). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ms_own_text);
} own_texts SEC(".maps");

/* --follow: each process's calls per function (ms_proc_fn); sized before load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ms_proc_fn_key);
	__type(value, struct ms_proc_fn);
} proc_fn SEC(".maps");
static const struct ms_proc_fn proc_fn_zero; /* a new entry's value */

/* --follow: the processes traced, by tgid (the target's too); sized before load. The
 * value: --unwind kernel's layout (walks_here), 0 for a process not walked. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} followed SEC(".maps");

/* Per thread: sized before load (thread_work_max). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ms_thread_work);
} thread_work SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_MAX_PHASES *MS_FN_MAX); /* set before load: fn_slots */
	__type(key, __u32);
	__type(value, struct ms_own_stats);
} own_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_FN_MAX *MS_STEP_MAX);
	__type(key, __u32);
	__type(value, struct ms_step_stats);
} step_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_FN_MAX);
	__type(key, __u32);
	__type(value, struct ms_slow_top);
} slow_top SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_MAX_PHASES *MS_SYS_MAX);
	__type(key, __u32);
	__type(value, struct ms_sys_stats);
} sys_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_MAX_PHASES);
	__type(key, __u32);
	__type(value, struct ms_fault_stats);
} fault_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MS_LOST_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

/* Sized by the collector before load: small in summary mode (phase markers only). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

/* User stacks of allocating calls, deduplicated by the kernel. Sized before load: one entry
 * in summary mode. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MS_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

/* Per-allocation with stacks: an allocation record and its stack are built here, then sent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ms_event_alloc_stack);
} stack_scratch SEC(".maps");

#include "unwind.h"

/* Per-allocation: a module record is built here (1 KiB: too big for the stack), then sent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ms_event_module);
} module_scratch SEC(".maps");

static __always_inline void count_lost(__u32 why)
{
	__u64 *n = bpf_map_lookup_elem(&lost, &why);

	if (n)
		(*n)++;
}

/* A record of TYPE did not fit in the ring buffer. */
static __always_inline void record_lost(__u32 type)
{
	count_lost(MS_LOST_RINGBUF);
	__sync_fetch_and_add(&lost_records[type & (MS_EV_TYPES - 1)], 1);
}

static __always_inline bool is_traced_tgid(__u32 tgid)
{
	return tgid == target_tgid || (follow && bpf_map_lookup_elem(&followed, &tgid));
}

/*
 * --unwind kernel: whose stacks are walked here with the tables, which hold the target's
 * code. The target's; with --follow, a forked child's too while its memory is laid out as
 * at its fork, under the tables of then: followed holds unwind_gen + 1 for it (0 for the
 * others: an exec'd image, a child that mapped code or unmapped where the tables have
 * some, one forked before the tables last changed). The others' stacks are copied for the
 * collector to unwind with their own code maps, as --unwind copy does.
 */
static __always_inline bool walks_here(__u32 tgid)
{
	__u32 *layout;

	if (tgid == target_tgid)
		return true;
	layout = follow ? bpf_map_lookup_elem(&followed, &tgid) : NULL;
	return layout && *layout == unwind_gen + 1;
}

/* The layout a child forked by PTGID starts with: its parent's, if that was the tables'. */
static __always_inline __u32 walk_layout_of(__u32 ptgid)
{
	__u32 *layout;

	if (!walk_depth)
		return 0;
	if (ptgid == target_tgid)
		return unwind_gen + 1;
	layout = bpf_map_lookup_elem(&followed, &ptgid);
	return layout && *layout == unwind_gen + 1 ? *layout : 0;
}

/* A walked child maps code, or unmaps or moves memory where the tables have code: its
 * layout may not be the tables' any more. */
static __always_inline void walk_layout_changed(struct thread_state *ts, __u32 sys)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, *layout;

	if (!walk_depth || !follow || tgid == target_tgid)
		return;
	layout = bpf_map_lookup_elem(&followed, &tgid);
	if (!layout || !*layout)
		return;
	if (sys == MS_SYS_MMAP ? (ts->sys_len2 & 4 /* PROT_EXEC */)
			       : walk_table_meets(ts->sys_arg0, ts->sys_arg0 + ts->sys_len))
		*layout = 0;
}

static __always_inline bool is_target(void)
{
	return is_traced_tgid(bpf_get_current_pid_tgid() >> 32);
}

/* A thread's first allocator work: give it a thread_work slot while there are any. */
static __always_inline void work_claim(struct thread_state *ts, __u32 tid)
{
	__u32 i = __sync_fetch_and_add(&threads_seen, 1);
	struct ms_thread_work *w;

	ts->work = 0;
	if (i >= thread_work_max)
		return;
	w = bpf_map_lookup_elem(&thread_work, &i);
	if (!w)
		return;
	w->tid = tid;
	w->tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(w->comm, sizeof(w->comm));
	ts->work = i + 1;
}

static __always_inline struct ms_thread_work *work_of(struct thread_state *ts)
{
	__u32 i = ts->work - 1;

	return ts->work ? bpf_map_lookup_elem(&thread_work, &i) : NULL;
}

/* The state slot of the target's thread TID, if it has one (not in task storage). */
static __always_inline struct thread_state *slot_of(__u32 tid)
{
	__u32 key = tid & slot_mask;
	struct thread_state *ts = bpf_map_lookup_elem(&thread_slots, &key);

	return ts && ts->tid == tid ? ts : NULL;
}

static __always_inline struct thread_state *thread_get(bool create)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 key = tid & slot_mask;
	struct thread_state *ts = bpf_map_lookup_elem(&thread_slots, &key);

	if (!ts)
		return NULL;
	if (ts->tid == tid)
		return ts;
	if (create && !ts->tid) {
		/* A thread that once found its slot taken stays in task storage: it may be
		 * inside a call whose state is there. */
		if (slot_spills) {
			struct thread_state *spilled =
			    bpf_task_storage_get(&threads, bpf_get_current_task_btf(), NULL, 0);

			if (spilled)
				return spilled;
		}
		if (!__sync_val_compare_and_swap(&ts->tid, 0, tid)) {
			work_claim(ts, tid);
			return ts;
		}
	}
	if (!create && !slot_spills)
		return NULL;
	/* The slot belongs to another thread: this one keeps its state in task storage. */
	ts = bpf_task_storage_get(&threads, bpf_get_current_task_btf(), NULL,
				  create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	if (ts && create && ts->tid != tid) {
		ts->tid = tid;
		__sync_fetch_and_add(&slot_spills, 1);
		work_claim(ts, tid);
	}
	if (!ts && create)
		count_lost(MS_LOST_THREAD_STATE);
	return ts;
}

static __always_inline __u32 phase_now(void)
{
	__u32 p = cur_phase;

	return p < MS_MAX_PHASES ? p : MS_MAX_PHASES - 1;
}

static __always_inline struct ms_fn_stats *fn_stats_of(__u32 phase, __u32 fn)
{
	__u32 key = phase * fn_slots + fn;

	return fn < fn_slots ? bpf_map_lookup_elem(&fn_stats, &key) : NULL;
}

/*
 * Argument register N of the call being entered: 1-5 rdi, rsi, rdx, rcx, r8; 6 rax, where a
 * probe moved past the prologue finds an argument the prologue copied there. Every
 * register is loaded first and the value chosen after: left to itself the compiler turns
 * the choice into an offset added to ctx, which the verifier refuses.
 */
static __always_inline __u64 arg_n(struct pt_regs *ctx, __u32 n)
{
	__u64 a1 = PT_REGS_PARM1(ctx), a2 = PT_REGS_PARM2(ctx), a3 = PT_REGS_PARM3(ctx);
	__u64 a4 = PT_REGS_PARM4(ctx), a5 = PT_REGS_PARM5(ctx), a6 = PT_REGS_RC(ctx);

	barrier_var(a1);
	barrier_var(a2);
	barrier_var(a3);
	barrier_var(a4);
	barrier_var(a5);
	barrier_var(a6);
	return n == 1	? a1
	       : n == 2 ? a2
	       : n == 3 ? a3
	       : n == 4 ? a4
	       : n == 5 ? a5
	       : n == 6 ? a6
			: 0;
}

/* Requested bytes: the size argument, times the count argument when there is one. */
static __always_inline __u64 request_bytes(__u64 cookie, struct pt_regs *ctx)
{
	__u32 count = MS_COOKIE_ARG(cookie, MS_COOKIE_COUNT_SHIFT);
	__u64 size = arg_n(ctx, MS_COOKIE_ARG(cookie, MS_COOKIE_SIZE_SHIFT));

	return count ? size * arg_n(ctx, count) : size;
}

/* The calling process's own_text: the target's, or with --follow its own (made on first
 * use when CREATE). */
static __always_inline struct ms_own_text *own_text_here(bool create)
{
	struct ms_own_text zero = {}, *ot;
	__u32 tgid;

	if (!follow)
		return &own_text;
	tgid = bpf_get_current_pid_tgid() >> 32;
	ot = bpf_map_lookup_elem(&own_texts, &tgid);
	if (!ot && create && !bpf_map_update_elem(&own_texts, &tgid, &zero, BPF_NOEXIST))
		ot = bpf_map_lookup_elem(&own_texts, &tgid);
	return ot;
}

struct vma_seen {
	__u64 start, end, pgoff;
};

/* bpf_find_vma's callback: the mapping into *ctx. */
static long vma_of(struct task_struct *task, struct vm_area_struct *vma, void *ctx)
{
	struct vma_seen *v = ctx;

	v->start = BPF_CORE_READ(vma, vm_start);
	v->end = BPF_CORE_READ(vma, vm_end);
	v->pgoff = BPF_CORE_READ(vma, vm_pgoff);
	return 0;
}

/* Learn into OT the extent of the code holding IP: libc's (0) or ld.so's (1). */
static __always_inline void learn_own_text(struct ms_own_text *ot, __u32 which, __u64 ip)
{
	struct vma_seen v = {};

	if (bpf_find_vma(bpf_get_current_task_btf(), ip, vma_of, &v, 0) || !v.end)
		return;
	which &= 1;
	ot->lo[which] = v.start;
	ot->hi[which] = v.end;
	if (!which)
		ot->bias = v.start - (v.pgoff << 12);
}

/*
 * A call glibc made on its own behalf: its return address in libc or ld.so, outside the
 * functions that hand the block to the program (strdup, getline...). IP - 1: the call.
 */
static __always_inline bool is_own_call(__u64 ip)
{
	struct ms_own_text *ot = own_text_here(false);
	__u64 off;

	if (!ot || ot->off)
		return false;
	ip--;
	if (ip >= ot->lo[1] && ip < ot->hi[1])
		return true;
	if (ip < ot->lo[0] || ip >= ot->hi[0])
		return false;
	off = ip - ot->bias;
	for (int i = 0; i < MS_USER_FNS; i++) {
		if (i >= user_fns)
			break;
		if (off >= user_fn_lo[i] && off < user_fn_hi[i])
			return false;
	}
	return true;
}

/* One call of C++ variant V1 - 1 (the cookie's numbering; 0: not a variant). */
static __always_inline void count_variant(__u32 v1)
{
	__u32 v = v1 - 1;
	__u64 *n = v1 ? bpf_map_lookup_elem(&variant_calls, &v) : NULL;

	if (n)
		(*n)++;
}

/*
 * An entry-only probe (MS_COOKIE_ENTRY_ONLY): the call counted now, and armed so that the
 * outermost allocator call it makes, below its stack pointer, is charged to it. A new
 * inside an armed new (libstdc++'s nothrow new calls new) is part of the outer one.
 */
static __always_inline void entry_only_call(struct pt_regs *ctx, struct thread_state *ts,
					    __u64 cookie)
{
	__u32 fn = cookie & MS_COOKIE_FN_MASK, v = (cookie >> MS_COOKIE_VARIANT_SHIFT) & 0xff;
	struct ms_fn_stats *s;

	if (ts->depth || (ts->armed_fn && PT_REGS_SP(ctx) <= ts->armed_sp))
		return; /* inside another allocator call */
	s = fn_stats_of(phase_now(), fn);
	if (!s)
		return;
	s->calls++;
	s->bytes += request_bytes(cookie, ctx);
	count_variant(v);
	ts->armed_fn = fn + 1;
	ts->armed_sp = PT_REGS_SP(ctx);
}

/*
 * Per-allocation: blocks that go at a call's entry, before the allocator can hand them to
 * another thread (whose allocation record must come after this one): free's block, or
 * every block of a pool being cleared or destroyed.
 */
static __always_inline void emit_free(struct thread_state *ts, __u64 ptr, __u32 kind, __u32 fn,
				      __u64 now)
{
	struct ms_event_free *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		record_lost(MS_EV_FREE);
		return;
	}
	e->type = MS_EV_FREE;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->ts_ns = now;
	e->ptr = ptr;
	e->seq = ts->seq;
	e->kind = kind;
	e->fn = fn;
	e->pad[0] = e->pad[1] = 0;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

SEC("uprobe")
int BPF_KPROBE(alloc_enter)
{
	/* The clock first: read before the state lookup it costs less (measured). */
	__u64 now = bpf_ktime_get_ns();
	struct thread_state *ts = thread_get(true);
	__u32 kind, fn;
	__u64 cookie;

	if (!ts)
		return 0;
	cookie = bpf_get_attach_cookie(ctx);
	if (cookie & MS_COOKIE_ENTRY_ONLY) {
		entry_only_call(ctx, ts, cookie);
		return 0;
	}
	kind = MS_COOKIE_ARG(cookie, MS_COOKIE_KIND_SHIFT);
	fn = cookie & MS_COOKIE_FN_MASK;
	/* Blocks that go even inside another call: a pool's (a child pool destroyed by its
	 * parent's clear, APR's), and a free's inside a pool's clear or destroy (the pool's
	 * own memory, a cleanup's block), though that call is the pool's. */
	if (per_alloc && (kind >= MS_KIND_POOL_CLEAR ||
			  (kind == MS_KIND_FREE && ts->depth && ts->kind >= MS_KIND_POOL_CLEAR)))
		emit_free(ts, arg_n(ctx, MS_COOKIE_ARG(cookie, MS_COOKIE_PTR_SHIFT)), kind, fn,
			  now);
	/* glibc calling its own entry points (realloc(NULL, n) -> malloc) is one user call. */
	if (ts->depth++)
		return 0;
	/* the allocator's own text, from a probe in it (C++'s may be in another file) */
	if (own_calls && !(cookie >> MS_COOKIE_VARIANT_SHIFT) && fn < MS_FN_GLIBC_COUNT) {
		struct ms_own_text *ot = own_text_here(true);

		if (ot && !ot->hi[0])
			learn_own_text(ot, 0, PT_REGS_IP(ctx));
	}
	ts->fn = fn;
	ts->variant = (cookie >> MS_COOKIE_VARIANT_SHIFT) & 0xff;
	ts->kind = kind;
	ts->bytes = request_bytes(cookie, ctx);
	ts->entry_ns = now;
	ts->pre_counted = 0;
	if (ts->armed_fn) {
		/* the malloc an entry-only operator new makes is the new's body */
		if (PT_REGS_SP(ctx) <= ts->armed_sp) {
			ts->fn = ts->armed_fn - 1;
			ts->variant = 0;
			ts->pre_counted = 1;
		}
		ts->armed_fn = 0;
	}
	if (per_alloc) {
		ts->seq++;
		ts->arg_ptr = arg_n(ctx, MS_COOKIE_ARG(cookie, MS_COOKIE_PTR_SHIFT));
		if (ts->kind == MS_KIND_FREE && ts->arg_ptr)
			emit_free(ts, ts->arg_ptr, MS_KIND_FREE, ts->fn, now);
	}
	return 0;
}

static long stack_end_of_vma(struct task_struct *task, struct vm_area_struct *vma, void *ctx)
{
	*(__u64 *)ctx = BPF_CORE_READ(vma, vm_end);
	return 0;
}

/*
 * How many bytes of stack to copy from SP: LEN, or less where this thread's frames
 * are known to end (shared.copy_top), never past the end of its stack mapping (a read that
 * crosses into an unmapped page would return nothing). The end is looked up once a thread.
 */
static __always_inline __u64 copy_len(struct thread_state *ts, __u64 sp, __u64 len)
{
	if (ts->shared.tid == ts->tid && ts->shared.copy_top > sp && ts->shared.copy_top - sp < len)
		len = ts->shared.copy_top - sp;
	if (!ts->stack_end || sp >= ts->stack_end) {
		__u64 end = 0;

		/* may fail (the mmap lock busy): then the reads find the end */
		bpf_find_vma(bpf_get_current_task_btf(), sp, stack_end_of_vma, &end, 0);
		ts->stack_end = end;
	}
	if (ts->stack_end > sp && ts->stack_end - sp < len)
		len = ts->stack_end - sp;
	return len;
}

/* Copy LEN bytes of stack from SP into BUF, at most CAP; shorter where the read crossed into
 * an unmapped page. The bytes copied. */
static __always_inline __u32 copy_stack(__u8 *buf, __u64 sp, __u64 len, __u32 cap)
{
	for (int i = 0; i < 4; i++) {
		if (len > cap)
			len = cap;
		if (len >= 8 && !bpf_probe_read_user(buf, len, (void *)sp))
			return len;
		len >>= 1;
	}
	return 0;
}

/* Send the record in BIG with its stack: the frames walked, then the copied bytes if any. */
static __always_inline void send_walked(struct pt_regs *ctx, struct thread_state *ts,
					struct ms_event_alloc_stack *big)
{
	__u64 size;

	ts->walking = 1; /* the walk's reads may fault: not the target's faults */
	walk_stack(ctx, big);
	big->stack_len = 0;
	if (stack_copy && big->end == MS_UNWIND_NO_MODULE)
		big->stack_len = copy_stack(big->stack, big->sp, copy_len(ts, big->sp, stack_copy),
					    MS_STACK_COPY_MAX);
	ts->walking = 0;
	big->pad = 0;
	if (big->stack_len)
		size = offsetof(struct ms_event_alloc_stack, stack) +
		       (big->stack_len < MS_STACK_COPY_MAX ? big->stack_len : MS_STACK_COPY_MAX);
	else
		size = offsetof(struct ms_event_alloc_stack, frames) +
		       8 * (big->nframes & (MS_STACK_DEPTH - 1));
	if (bpf_ringbuf_output(&events, big, size, BPF_RB_NO_WAKEUP))
		record_lost(MS_EV_ALLOC);
}

/*
 * --unwind copy: the record with LEN bytes of stack copied in place (one copy, not two),
 * in a record of CLASS bytes of stack: a size the verifier knows, and records that pack
 * densely in the ring (a 4 KiB record for a 500-byte stack costs a page a call).
 */
static __always_inline bool send_copied(struct pt_regs *ctx, struct thread_state *ts,
					const struct ms_event_alloc *a, __u64 len,
					const __u32 class)
{
	struct ms_event_alloc_stack *big =
	    bpf_ringbuf_reserve(&events, offsetof(struct ms_event_alloc_stack, stack) + class, 0);

	if (!big)
		return false;
	big->a = *a;
	big->nframes = 0;
	big->end = MS_UNWIND_NO_MODULE;
	big->pad = 0;
	big->pc = PT_REGS_IP(ctx);
	big->sp = PT_REGS_SP(ctx);
	big->bp = PT_REGS_FP(ctx);
	ts->walking = 1;
	big->stack_len = copy_stack(big->stack, big->sp, len, class);
	ts->walking = 0;
	bpf_ringbuf_submit(big, BPF_RB_NO_WAKEUP);
	return true;
}

static __always_inline void fill_alloc(struct ms_event_alloc *e, struct pt_regs *ctx,
				       struct thread_state *ts, __u64 ret, __u64 now)
{
	__u64 ptr = ret;

	if (ts->kind == MS_KIND_ALLOC_OUT) {
		ptr = 0;
		if (!(int)ret)
			bpf_probe_read_user(&ptr, sizeof(ptr), (void *)ts->arg_ptr);
	}
	e->type = MS_EV_ALLOC;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->ts_ns = now;
	e->ptr = ptr;
	e->size = ts->bytes;
	/* realloc's block passed in; a pool allocator's pool (0 without one) */
	e->old_ptr = ts->kind == MS_KIND_REALLOC || ts->kind == MS_KIND_ALLOC ? ts->arg_ptr : 0;
	e->caller = PT_REGS_IP(ctx);
	e->fn = ts->fn;
	e->kind = ts->kind;
	e->seq = ts->seq;
}

/*
 * Per-allocation: the allocation record, at the return of the outermost call. Here the
 * instruction pointer is the return address into the caller, and the registers are the
 * caller's, so a walk starts at the immediate caller instead of skipping it (glibc itself
 * has no frame pointers). The stack: copied for the collector to unwind (stack_copy, the
 * default), walked here (walk_depth), or from frame pointers as far as the program keeps
 * them (neither).
 */
static __always_inline void emit_alloc(struct pt_regs *ctx, struct thread_state *ts, __u64 ret,
				       __u64 now)
{
	struct ms_event_alloc_stack *big;
	struct ms_event_alloc *e, a;
	__u32 zero = 0;
	__u64 fp, len;
	bool sent;

	if (walk_depth && walks_here(bpf_get_current_pid_tgid() >> 32)) {
		big = bpf_map_lookup_elem(&stack_scratch, &zero);
		if (!big) {
			record_lost(MS_EV_ALLOC);
			return;
		}
		fill_alloc(&big->a, ctx, ts, ret, now);
		big->a.stack_id = MS_STACK_IN_RECORD;
		send_walked(ctx, ts, big);
		return;
	}
	if (stack_copy) {
		fill_alloc(&a, ctx, ts, ret, now);
		a.stack_id = MS_STACK_IN_RECORD;
		len = copy_len(ts, PT_REGS_SP(ctx), stack_copy);
		if (len <= 64)
			sent = send_copied(ctx, ts, &a, len, 64);
		else if (len <= 128)
			sent = send_copied(ctx, ts, &a, len, 128);
		else if (len <= 256)
			sent = send_copied(ctx, ts, &a, len, 256);
		else if (len <= 512)
			sent = send_copied(ctx, ts, &a, len, 512);
		else if (len <= 1024)
			sent = send_copied(ctx, ts, &a, len, 1024);
		else if (len <= 2048)
			sent = send_copied(ctx, ts, &a, len, 2048);
		else if (len <= 4096)
			sent = send_copied(ctx, ts, &a, len, 4096);
		else
			sent = send_copied(ctx, ts, &a, len, MS_STACK_COPY_MAX);
		if (!sent)
			record_lost(MS_EV_ALLOC);
		return;
	}
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		record_lost(MS_EV_ALLOC);
		return;
	}
	fill_alloc(e, ctx, ts, ret, now);
	/* Walk only when the caller's frame pointer looks like one (on the stack, above sp):
	 * in code built without frame pointers rbp holds data, and a walk from it costs
	 * faulting reads (~1 us) for frames that are noise. */
	fp = PT_REGS_FP(ctx);
	if (fp > PT_REGS_SP(ctx) && fp - PT_REGS_SP(ctx) < (8 << 20) && !(fp & 7)) {
		ts->walking = 1;
		e->stack_id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
		ts->walking = 0;
		if (e->stack_id < 0)
			__sync_fetch_and_add(&stack_errors, 1);
	} else {
		e->stack_id = MS_STACK_NO_FP;
	}
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* A call of glibc's own: counted apart, with the kernel work it did (gathered in W). */
static __always_inline void charge_own(__u32 phase, struct thread_state *ts,
				       struct ms_thread_work *w, __u64 lat)
{
	__u32 key = phase * fn_slots + ts->fn;
	struct ms_own_stats *o = ts->fn < fn_slots ? bpf_map_lookup_elem(&own_stats, &key) : NULL;

	if (!o)
		return;
	o->calls++;
	o->bytes += ts->bytes;
	o->lat_sum_ns += lat;
	if (!ts->dirty || !w)
		return;
	o->kernel.faults += w->call.faults;
	o->kernel.major_faults += w->call.major_faults;
	o->kernel.syscall_ns += w->call.sys_ns;
	for (int i = 0; i < MS_SYS_MAX; i++)
		o->kernel.syscalls[i] += w->call.syscalls[i];
}

/* A slow call: its record, with what happened inside it and the caller's stack top. */
static __always_inline void emit_slow(struct pt_regs *ctx, struct thread_state *ts,
				      struct ms_thread_work *w, __u64 lat, bool own)
{
	struct ms_event_slow *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&lost_records[MS_EV_SLOW], 1);
		return;
	}
	e->type = MS_EV_SLOW;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->ts_ns = ts->entry_ns;
	e->ns = lat;
	e->bytes = ts->bytes;
	e->fn = ts->fn;
	e->own = own;
	e->work = w && ts->dirty;
	e->pad = 0;
	if (e->work)
		__builtin_memcpy(&e->w, &w->call, sizeof(e->w));
	else
		__builtin_memset(&e->w, 0, sizeof(e->w));
	e->pc = PT_REGS_IP(ctx);
	e->sp = PT_REGS_SP(ctx);
	e->bp = PT_REGS_FP(ctx);
	ts->walking = 1;
	e->stack_len =
	    copy_stack(e->stack, e->sp, copy_len(ts, e->sp, MS_STACK_COPY_MAX), MS_STACK_COPY_MAX);
	ts->walking = 0;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/*
 * Keep this CPU's slowest_n slowest calls of the function: a call slower than the fastest
 * of them takes its place and is sent. A call among the N slowest of the whole trace is
 * among its CPU's N slowest when it returns, so the collector sees every one of them.
 */
static __always_inline void note_slow(struct pt_regs *ctx, struct thread_state *ts,
				      struct ms_thread_work *w, __u64 lat, bool own)
{
	__u32 fn = ts->fn;
	struct ms_slow_top *top = bpf_map_lookup_elem(&slow_top, &fn);
	__u64 min = ~0ULL;
	__u32 at = 0;

	if (!top || (top->n >= slowest_n && lat <= top->min))
		return;
	if (top->n < slowest_n)
		top->ns[top->n++ & (MS_SLOWEST_MAX - 1)] = lat;
	else
		top->ns[top->min_at & (MS_SLOWEST_MAX - 1)] = lat;
	if (top->n >= slowest_n) {
		for (int i = 0; i < MS_SLOWEST_MAX; i++) {
			if (i >= slowest_n)
				break;
			if (top->ns[i] < min) {
				min = top->ns[i];
				at = i;
			}
		}
		top->min = min;
		top->min_at = at;
	}
	emit_slow(ctx, ts, w, lat, own);
}

/* --follow: the call's latency and kernel work into its process's numbers. */
static __always_inline void proc_fn_account(struct thread_state *ts, struct ms_thread_work *w,
					    __u64 lat)
{
	struct ms_proc_fn_key k = {.tgid = bpf_get_current_pid_tgid() >> 32,
				   .fn = ts->fn & (MS_FN_MAX - 1)};
	struct ms_proc_fn *v = bpf_map_lookup_elem(&proc_fn, &k);

	if (!v) {
		bpf_map_update_elem(&proc_fn, &k, &proc_fn_zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&proc_fn, &k);
		if (!v)
			return; /* full: the tree's tables still have it */
	}
	__sync_fetch_and_add(&v->calls, 1);
	__sync_fetch_and_add(&v->lat_sum_ns, lat);
	if (lat > v->lat_max_ns)
		v->lat_max_ns = lat; /* a race may keep the other of two maxima: both are close */
	__sync_fetch_and_add(&v->hist[hist_slot(lat) & (MS_HIST_SLOTS - 1)], 1);
	if (w && ts->dirty) {
		__sync_fetch_and_add(&v->sys_ns, w->call.sys_ns);
		__sync_fetch_and_add(&v->syscalls, w->call.nsys);
		__sync_fetch_and_add(&v->faults, w->call.faults);
	}
}

/* Per-allocation: the syscall time of a call that made syscalls, for its block's site. */
static __always_inline void emit_kwork(struct thread_state *ts, struct ms_thread_work *w, __u64 now)
{
	struct ms_event_kwork *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		record_lost(MS_EV_KWORK);
		return;
	}
	e->type = MS_EV_KWORK;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->ts_ns = now;
	e->sys_ns = w->call.sys_ns;
	e->syscalls = w->call.nsys;
	e->seq = ts->seq;
	e->fn = ts->fn;
	e->kind = ts->kind;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

SEC("uretprobe")
int BPF_KRETPROBE(alloc_exit, long ret)
{
	__u64 now = bpf_ktime_get_ns();
	struct thread_state *ts = thread_get(false);
	struct ms_thread_work *w;
	struct ms_fn_stats *s;
	__u32 phase;
	__u64 lat;
	bool own;

	if (!ts || !ts->depth)
		return 0; /* entered before we attached */
	if (--ts->depth)
		return 0;
	lat = now - ts->entry_ns;
	if (per_alloc && ts->kind <= MS_KIND_REALLOC) /* a block came out */
		emit_alloc(ctx, ts, ret, now);
	/* Kernel work inside the call was charged as it happened (sys_exit, page_fault). */
	phase = phase_now();
	s = fn_stats_of(phase, ts->fn);
	if (!s)
		return 0;
	if (!ts->pre_counted) { /* an entry-only new counted itself */
		s->calls++;
		s->bytes += ts->bytes;
	}
	if (ts->kind == MS_KIND_ALLOC_OUT ? (int)ret != 0
					  : ts->kind != MS_KIND_FREE && !ret && ts->bytes)
		s->failed++;
	s->lat_sum_ns += lat;
	if (lat > s->lat_max_ns)
		s->lat_max_ns = lat;
	s->hist[hist_slot(lat) & (MS_HIST_SLOTS - 1)]++;
	count_variant(ts->variant);
	own = own_calls && is_own_call(PT_REGS_IP(ctx));
	w = work_of(ts);
	if (w) {
		__u32 fn = ts->fn & (MS_FN_MAX - 1);

		w->fn_calls[fn]++;
		w->fn_bytes[fn] += ts->bytes;
		w->fn_ns[fn] += lat;
		if (own)
			w->fn_own_calls[fn]++;
	}
	if (own)
		charge_own(phase, ts, w, lat);
	if (slowest_n)
		note_slow(ctx, ts, w, lat, own);
	if (follow)
		proc_fn_account(ts, w, lat);
	if (ts->dirty) {
		ts->dirty = 0;
		if (w) {
			if (per_alloc && w->call.nsys)
				emit_kwork(ts, w, now);
			__builtin_memset(&w->call, 0, sizeof(w->call));
			w->nest = 0;
		}
	}
	return 0;
}

/* A process record (reserved by the caller), sent. */
static __always_inline void send_proc(struct ms_event_proc *e, __u32 what, __u32 pid, __u32 ppid,
				      __s32 code, __u32 stopped, struct task_struct *p)
{
	e->type = MS_EV_PROC;
	e->what = what;
	e->ts_ns = bpf_ktime_get_ns();
	e->pid = pid;
	e->ppid = ppid;
	e->exit_code = code;
	e->stopped = stopped;
	BPF_CORE_READ_STR_INTO(&e->comm, p, comm);
	bpf_ringbuf_submit(e, 0);
}

/* --follow: a followed process's last thread exits: it leaves the tree. */
static __always_inline void proc_exit(struct task_struct *p)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);

	struct ms_event_proc *e;

	if (!bpf_map_lookup_elem(&followed, &tgid))
		return;
	bpf_map_delete_elem(&followed, &tgid);
	bpf_map_delete_elem(&own_texts, &tgid);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		record_lost(MS_EV_PROC);
		return;
	}
	send_proc(e, MS_PROC_EXIT, tgid, 0, BPF_CORE_READ(p, exit_code), 0, p);
}

extern int bpf_send_signal_task(struct task_struct *task, int sig, enum pid_type type,
				__u64 value) __ksym;

/*
 * A process of the traced tree forked (a thread is not a process: threads are followed
 * already). With --follow the child joins the tree and is stopped before its first
 * instruction, until the collector has attached its probes and continues it: none of its
 * calls is missed. Without, it is counted.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid), pid = BPF_CORE_READ(child, pid), layout;
	struct ms_event_proc *e;

	if (!is_traced_tgid(ptgid))
		return 0;
	if (BPF_CORE_READ(child, tgid) != pid) {
		/* a thread: the collector learns whose its records are (a child's) */
		if (follow && per_alloc && ptgid != target_tgid) {
			e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
			if (!e) {
				record_lost(MS_EV_PROC);
				return 0;
			}
			send_proc(e, MS_PROC_THREAD, ptgid, pid, 0, 0, child);
		}
		return 0;
	}
	if (!follow) {
		__sync_fetch_and_add(&children_not_followed, 1);
		return 0;
	}
	/* the record first: a child stopped with no record would never be continued */
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		record_lost(MS_EV_PROC);
		return 0;
	}
	layout = walk_layout_of(ptgid); /* its memory is its parent's copy */
	if (bpf_map_update_elem(&followed, &pid, &layout, BPF_NOEXIST)) {
		__sync_fetch_and_add(&follow_map_full, 1);
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	if (own_calls) { /* the same memory: its allocator's text where its parent's is */
		struct ms_own_text *ot = bpf_map_lookup_elem(&own_texts, &ptgid);

		if (ot)
			bpf_map_update_elem(&own_texts, &pid, ot, BPF_ANY);
	}
	send_proc(e, MS_PROC_FORK, pid, ptgid, 0,
		  !bpf_send_signal_task(child, 19 /* SIGSTOP */, PIDTYPE_TGID, 0), child);
	return 0;
}

/* A thread's exit gives its slot back (any process: a forked child may have taken one). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(thread_exit, struct task_struct *p, bool group_dead)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_state *ts = slot_of(tid);

	if (follow && group_dead)
		proc_exit(p);
	if (ts) {
		struct ms_thread_work *w = work_of(ts);

		if (w) {
			bpf_get_current_comm(w->comm, sizeof(w->comm));
			w->exited = 1;
		}
		/* clean for the next owner; tid last, so nobody claims it half-cleared */
		__builtin_memset(&ts->depth, 0, sizeof(*ts) - offsetof(struct thread_state, depth));
		__sync_val_compare_and_swap(&ts->tid, tid, 0);
	}
	return 0;
}

/*
 * glibc's internal steps (MS_GLIBC_STEPS; the cookie is the step): their time inside the
 * allocator call in progress, per call (a slow call's record says it) and per function.
 */
SEC("uprobe")
int BPF_KPROBE(step_enter)
{
	__u64 now = bpf_ktime_get_ns();
	struct thread_state *ts = thread_get(false);
	struct ms_thread_work *w;
	__u32 n;

	if (!ts || !ts->depth)
		return 0;
	w = work_of(ts);
	if (!w)
		return 0;
	n = w->nest++;
	if (n < MS_STEP_NEST) {
		w->step_kind[n] = bpf_get_attach_cookie(ctx);
		w->step_entry_ns[n] = now;
	}
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(step_exit)
{
	__u64 now = bpf_ktime_get_ns();
	struct thread_state *ts = thread_get(false);
	struct ms_step_stats *st;
	struct ms_thread_work *w;
	__u32 n, k, key;
	__u64 d;

	if (!ts || !ts->depth)
		return 0;
	w = work_of(ts);
	if (!w || !w->nest)
		return 0;
	n = --w->nest;
	if (n >= MS_STEP_NEST)
		return 0;
	k = w->step_kind[n] & (MS_STEP_MAX - 1);
	d = now - w->step_entry_ns[n];
	ts->dirty = 1;
	w->call.step_calls[k]++;
	w->call.step_ns[k] += d;
	key = (ts->fn & (MS_FN_MAX - 1)) * MS_STEP_MAX + k;
	st = bpf_map_lookup_elem(&step_stats, &key);
	if (st) {
		st->calls++;
		st->ns += d;
	}
	return 0;
}

/*
 * A target thread switched out inside an allocator call, or back in: the time it spent
 * off the CPU is the call's too (a slow call that was only preempted says so).
 */
SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct thread_state *ts;

	if (!slowest_n)
		return 0;
	if (prev->tgid == target_tgid) {
		ts = slot_of(prev->pid);
		if (ts && ts->depth)
			ts->off_ns = bpf_ktime_get_ns();
	}
	if (next->tgid == target_tgid) {
		ts = slot_of(next->pid);
		if (ts && ts->off_ns) {
			struct ms_thread_work *w = ts->depth ? work_of(ts) : NULL;

			if (w) {
				/* inside a syscall the wait is the syscall's time already */
				if (!ts->in_sys)
					w->call.offcpu_ns += bpf_ktime_get_ns() - ts->off_ns;
				w->call.switches++;
				ts->dirty = 1;
			}
			ts->off_ns = 0;
		}
	}
	return 0;
}

/* memstudy_phase(const char *name) in the target: start a new phase. */
SEC("uprobe")
int BPF_KPROBE(phase_mark, const char *name)
{
	struct ms_event_phase *e;
	__u32 p = __sync_fetch_and_add(&cur_phase, 1) + 1;

	if (p >= MS_MAX_PHASES)
		__sync_fetch_and_add(&phase_overflow, 1);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		record_lost(MS_EV_PHASE);
		return 0;
	}
	e->type = MS_EV_PHASE;
	e->phase = p;
	e->ts_ns = bpf_ktime_get_ns();
	bpf_probe_read_user_str(e->name, sizeof(e->name), name);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __always_inline int sys_index(long id)
{
	switch (id) { /* x86_64 syscall numbers */
	case 12:
		return MS_SYS_BRK;
	case 9:
		return MS_SYS_MMAP;
	case 11:
		return MS_SYS_MUNMAP;
	case 25:
		return MS_SYS_MREMAP;
	case 28:
		return MS_SYS_MADVISE;
	case 10:
		return MS_SYS_MPROTECT;
	}
	return -1;
}

/* Per-allocation: a mapping change, so the collector can tell heap, arenas and stacks. */
static __always_inline void emit_map(struct thread_state *ts, __u32 sys, long ret, __u64 now)
{
	struct ms_event_map *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		record_lost(MS_EV_MAP);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = MS_EV_MAP;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->ts_ns = now;
	e->sys = sys;
	e->in_alloc = ts->depth > 0;
	if (sys == MS_SYS_BRK) {
		struct task_struct *task = bpf_get_current_task_btf();

		e->addr = ret;
		e->old_addr = ts->sys_len;
		e->old_len = BPF_CORE_READ(task, mm, start_brk);
	} else if (sys == MS_SYS_MMAP) {
		e->addr = ret;
		e->len = ts->sys_len;
		e->prot = ts->sys_len2;
		e->flags = ts->sys_arg3;
	} else if (sys == MS_SYS_MUNMAP) {
		e->addr = ts->sys_arg0;
		e->len = ts->sys_len;
	} else { /* mremap(old_addr, old_len, new_len, ...) */
		e->addr = ret;
		e->len = ts->sys_len2;
		e->old_addr = ts->sys_arg0;
		e->old_len = ts->sys_len;
	}
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

static __always_inline void emit_fault(__u64 addr, __u64 ip, __u16 flags, struct thread_state *ts)
{
	struct ms_event_fault *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		record_lost(MS_EV_FAULT);
		return;
	}
	e->type = MS_EV_FAULT;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->ts_ns = bpf_ktime_get_ns();
	e->addr = addr;
	e->ip = ip;
	e->seq = 0;
	if (ts && ts->depth) {
		flags |= MS_FAULT_IN_ALLOC;
		e->seq = ts->seq;
	}
	e->flags = flags;
	e->pad = 0;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/*
 * The path of FILE, leaf first, into E->name: each dentry's name up to its mount's root,
 * then on from the mount point in the parent mount, up to the root of the namespace.
 */
static __always_inline void file_path(struct file *file, struct ms_event_module *e)
{
	struct dentry *d = BPF_CORE_READ(file, f_path.dentry);
	struct vfsmount *vm = BPF_CORE_READ(file, f_path.mnt);
	struct mount *mnt = container_of(vm, struct mount, mnt);
	__u32 pos = 0, n = 0;

	for (int i = 0; i < MS_MODULE_MAX_DEPTH; i++) {
		struct dentry *parent;
		long len;

		if (d == BPF_CORE_READ(vm, mnt_root)) {
			struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

			if (up == mnt)
				break; /* the root mount */
			d = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = up;
			vm = __builtin_preserve_access_index(&up->mnt);
			continue;
		}
		parent = BPF_CORE_READ(d, d_parent);
		if (parent == d)
			break;
		if (pos > MS_MODULE_PATH_LEN - MS_MODULE_NAME_MAX) {
			e->flags |= MS_MODULE_TRUNCATED;
			break;
		}
		len = bpf_probe_read_kernel_str(&e->name[pos], MS_MODULE_NAME_MAX,
						BPF_CORE_READ(d, d_name.name));
		if (len <= 0)
			break;
		pos += len;
		n++;
		d = parent;
	}
	e->ncomp = n;
}

/* bpf_find_vma's callback: the mapping holding the address, into the scratch record. */
static long module_of_vma(struct task_struct *task, struct vm_area_struct *vma, void *ctx)
{
	__u32 zero = 0;
	struct ms_event_module *e = bpf_map_lookup_elem(&module_scratch, &zero);
	struct file *file = BPF_CORE_READ(vma, vm_file);

	if (!e || !file)
		return 0;
	e->start = BPF_CORE_READ(vma, vm_start);
	e->end = BPF_CORE_READ(vma, vm_end);
	e->offset = BPF_CORE_READ(vma, vm_pgoff) << 12;
	e->ino = BPF_CORE_READ(file, f_inode, i_ino);
	e->dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	file_path(file, e);
	return 0;
}

/* Per-allocation: name the file mapped at ADDR in the target, while the mapping exists. */
static __always_inline void emit_module(__u64 addr, __u16 flags)
{
	__u32 zero = 0;
	struct ms_event_module *e = bpf_map_lookup_elem(&module_scratch, &zero);

	if (!e)
		return;
	e->type = MS_EV_MODULE;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->ts_ns = bpf_ktime_get_ns();
	e->flags = flags;
	e->ncomp = 0;
	if (bpf_find_vma(bpf_get_current_task_btf(), addr, module_of_vma, NULL, 0) || !e->ncomp) {
		__sync_fetch_and_add(&modules_unnamed, 1);
		return;
	}
	if (bpf_ringbuf_output(&events, e, sizeof(*e), 0))
		record_lost(MS_EV_MODULE);
}

/* Attached to sys_enter_{brk,mmap,munmap,mremap,madvise,mprotect}. */
SEC("tracepoint")
int sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct thread_state *ts;
	int sys;

	if (!is_target())
		return 0;
	sys = sys_index((int)ctx->id); /* __syscall_nr is an int: the upper half is padding */
	if (sys < 0)
		return 0;
	ts = thread_get(true);
	if (!ts)
		return 0;
	ts->sys = sys;
	ts->in_sys = 1;
	if (sys == MS_SYS_BRK) {
		struct task_struct *task = bpf_get_current_task_btf();

		ts->sys_len = BPF_CORE_READ(task, mm, brk); /* brk before the call */
	} else {
		/* One program serves syscalls with 1 to 6 arguments: a direct ctx read past
		 * the shortest record would make the attach to sys_enter_brk fail. */
		bpf_probe_read_kernel(&ts->sys_len, sizeof(ts->sys_len), &ctx->args[1]);
		bpf_probe_read_kernel(&ts->sys_len2, sizeof(ts->sys_len2), &ctx->args[2]);
		if (per_alloc)
			bpf_probe_read_kernel(&ts->sys_arg0, sizeof(ts->sys_arg0), &ctx->args[0]);
		if (per_alloc || send_modules)
			bpf_probe_read_kernel(&ts->sys_arg3, sizeof(ts->sys_arg3), &ctx->args[3]);
	}
	ts->sys_ns = bpf_ktime_get_ns();
	return 0;
}

/* The syscall's lengths as its record says them: sys_len and sys_len2 are its arguments. */
static __always_inline void fill_syscall(struct ms_call_syscall *c, struct thread_state *ts,
					 __u32 sys, long ret, __u64 ns)
{
	c->ns = ns;
	c->sys = sys;
	c->pad = 0;
	c->result = ret;
	c->delta = 0;
	if (sys == MS_SYS_BRK) {
		/* brk returns the break, the old one when it fails; sys_len: the one before */
		c->len = 0;
		c->delta = (__s64)((__u64)ret - ts->sys_len);
	} else if (sys == MS_SYS_MREMAP) {
		c->len = ts->sys_len2;
		c->delta = ts->sys_len2 - ts->sys_len;
	} else {
		c->len = ts->sys_len;
	}
}

/* A memory syscall outside allocator calls: its record, with the caller's stack. */
static __always_inline void emit_syscall(struct thread_state *ts, __u32 sys, long ret, __u64 ns)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	struct ms_event_syscall *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&lost_records[MS_EV_SYSCALL], 1);
		return;
	}
	e->type = MS_EV_SYSCALL;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->ts_ns = ts->sys_ns;
	fill_syscall(&e->s, ts, sys, ret, ns);
	e->pad = 0;
	e->pc = BPF_CORE_READ(regs, ip);
	e->sp = BPF_CORE_READ(regs, sp);
	e->bp = BPF_CORE_READ(regs, bp);
	ts->walking = 1;
	e->stack_len =
	    copy_stack(e->stack, e->sp, copy_len(ts, e->sp, MS_STACK_COPY_MAX), MS_STACK_COPY_MAX);
	ts->walking = 0;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* The thread's syscall totals, and the call in progress's list (or the syscall's stack). */
static __always_inline void note_syscall(struct thread_state *ts, __u32 sys, long ret, __u64 ns)
{
	struct ms_thread_work *w = work_of(ts);
	__u32 n;

	if (w && sys < MS_SYS_MAX) {
		w->syscalls[sys]++;
		w->syscall_ns += ns;
	}
	if (!ts->depth) {
		if (syscall_stacks)
			emit_syscall(ts, sys, ret, ns);
		return;
	}
	if (!w)
		return;
	ts->dirty = 1;
	w->call.sys_ns += ns;
	n = w->call.nsys++;
	if (sys < MS_SYS_MAX)
		w->call.syscalls[sys]++;
	if (n < MS_CALL_SYSCALLS)
		fill_syscall(&w->call.sys[n], ts, sys, ret, ns);
}

SEC("tracepoint")
int sys_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct thread_state *ts;
	struct ms_sys_stats *s;
	__u64 ns;
	__u32 key, sys, phase;
	long ret = ctx->ret;
	bool failed = ret < 0 && ret > -4096; /* -errno */

	if (!is_target())
		return 0;
	ts = thread_get(false);
	if (!ts || !ts->in_sys)
		return 0; /* entered before we attached */
	ts->in_sys = 0;
	ns = bpf_ktime_get_ns() - ts->sys_ns;
	sys = ts->sys;
	if (sys >= MS_SYS_MAX)
		return 0;
	phase = phase_now();
	key = phase * MS_SYS_MAX + sys;
	s = bpf_map_lookup_elem(&sys_stats, &key);
	if (!s)
		return 0;
	s->calls++;
	s->ns += ns;
	if (failed) {
		s->failed++;
	} else if (sys == MS_SYS_BRK) {
		__u64 old = ts->sys_len, new = ret;

		if (new > old)
			s->grow_bytes += new - old;
		else
			s->shrink_bytes += old - new;
	} else if (sys == MS_SYS_MREMAP) {
		s->bytes += ts->sys_len2;
		if (ts->sys_len2 > ts->sys_len)
			s->grow_bytes += ts->sys_len2 - ts->sys_len;
		else
			s->shrink_bytes += ts->sys_len - ts->sys_len2;
	} else {
		s->bytes += ts->sys_len;
	}
	if (ts->depth) {
		struct ms_fn_stats *f = fn_stats_of(phase, ts->fn);

		s->in_alloc_calls++;
		if (f) {
			f->kernel.syscalls[sys]++;
			f->kernel.syscall_ns += ns;
		}
	}
	note_syscall(ts, sys, ret, ns);
	if (per_alloc && !failed && sys <= MS_SYS_MREMAP)
		emit_map(ts, sys, ret, ts->sys_ns + ns);
	if (!failed && sys >= MS_SYS_MMAP && sys <= MS_SYS_MREMAP) /* not brk: no code there */
		walk_layout_changed(ts, sys);
	/* code mapped from a file (ld.so loading a library, dlopen): name it now */
	if (send_modules && !failed && sys == MS_SYS_MMAP && (ts->sys_len2 & 4 /* PROT_EXEC */) &&
	    !(ts->sys_arg3 & 0x20 /* MAP_ANONYMOUS */))
		emit_module(ret, 0);
	return 0;
}

enum fault_source {
	FAULT_USER,	      /* exceptions:page_fault_user */
	FAULT_KERNEL_ON_USER, /* exceptions:page_fault_kernel on a user address */
	FAULT_MAJOR,	      /* the major-fault perf event, after the fault's own record */
};

/*
 * Count a fault of the target in its phase, charge it to the allocator call in progress on
 * this thread (user and major faults: kernel-mode ones, such as copy_to_user, belong to the
 * syscall, not the allocator), and in per-allocation mode send its record.
 */
static __always_inline void charge_fault(enum fault_source src, __u64 addr, __u64 ip, __u16 flags)
{
	struct thread_state *ts = thread_get(false);
	bool in_call = ts && ts->depth && src != FAULT_KERNEL_ON_USER;
	__u32 phase = phase_now();
	struct ms_fault_stats *s;
	struct ms_thread_work *w;
	struct ms_fn_stats *f;

	/* the stack walk reads with faults disabled: a bad frame pointer faults here */
	if (src == FAULT_KERNEL_ON_USER && ts && ts->walking)
		return;
	s = bpf_map_lookup_elem(&fault_stats, &phase);
	if (s) {
		if (src == FAULT_USER)
			s->user++;
		else if (src == FAULT_KERNEL_ON_USER)
			s->kernel_on_user++;
		else
			s->major++;
		if (in_call && src == FAULT_USER)
			s->in_alloc_calls++;
		else if (in_call)
			s->major_in_alloc_calls++;
	}
	f = in_call ? fn_stats_of(phase, ts->fn) : NULL;
	if (f && src == FAULT_USER)
		f->kernel.faults++;
	else if (f)
		f->kernel.major_faults++;
	w = ts ? work_of(ts) : NULL;
	if (w) {
		if (src == FAULT_MAJOR)
			w->major_faults++;
		else
			w->faults++;
		if (in_call) {
			ts->dirty = 1;
			if (src == FAULT_USER)
				w->call.faults++;
			else
				w->call.major_faults++;
		}
	}
	if (per_alloc)
		emit_fault(addr, ip, flags, ts);
}

SEC("tp_btf/page_fault_user")
int BPF_PROG(page_fault, unsigned long address, struct pt_regs *regs, unsigned long error_code)
{
	if (is_target())
		charge_fault(FAULT_USER, address, regs->ip, error_code & 2 ? MS_FAULT_WRITE : 0);
	return 0;
}

/* Faults the kernel takes on user addresses for the target (read() into a fresh buffer...):
 * getrusage counts them, so the report does too, apart from user-mode faults. */
SEC("tp_btf/page_fault_kernel")
int BPF_PROG(page_fault_kernel, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	if (is_target() && address < 0x800000000000UL)
		charge_fault(FAULT_KERNEL_ON_USER, address, regs->ip,
			     MS_FAULT_KERNEL | (error_code & 2 ? MS_FAULT_WRITE : 0));
	return 0;
}

/* The resident-set counter values last sent, per counter (memstudy record's timeline). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MS_RSS_MEMBERS);
	__type(key, __u32);
	__type(value, __s64);
} rss_sent SEC(".maps");

/* kmem/rss_stat: one of an mm's counters changed; the target's own (curr), by a step. */
SEC("tracepoint")
int rss_stat(struct trace_event_raw_rss_stat *ctx)
{
	__u32 member = ctx->member;
	struct ms_event_rss *e;
	__s64 *sent, d;

	if (!ctx->curr || !is_target() || member >= MS_RSS_MEMBERS)
		return 0;
	sent = bpf_map_lookup_elem(&rss_sent, &member);
	if (!sent)
		return 0;
	d = ctx->size - *sent;
	if (d < MS_RSS_STEP && d > -MS_RSS_STEP)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		record_lost(MS_EV_RSS);
		return 0;
	}
	*sent = ctx->size;
	e->type = MS_EV_RSS;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->ts_ns = bpf_ktime_get_ns();
	e->member = member;
	e->pad = 0;
	e->bytes = ctx->size;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 0;
}

/* Software event PERF_COUNT_SW_PAGE_FAULTS_MAJ, one per CPU, sample period 1. */
SEC("perf_event")
int major_fault(struct bpf_perf_event_data *ctx)
{
	if (is_target())
		charge_fault(FAULT_MAJOR, ctx->addr, PT_REGS_IP(&ctx->regs), MS_FAULT_MAJOR);
	return 0;
}

/* The target exec'ed: tell the collector (any mode; rare). The tgid stays the same. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct ms_event_exec *e;

	if (!is_target())
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		record_lost(MS_EV_EXEC);
		return 0;
	}
	e->type = MS_EV_EXEC;
	e->tid = old_pid;
	e->ts_ns = bpf_ktime_get_ns();
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
	e->tgid = tgid;
	/* --follow: the new image waits for its allocator's probes (the collector continues
	 * it), as a forked child does */
	e->stopped = follow && !bpf_send_signal_thread(19 /* SIGSTOP */);
	bpf_ringbuf_submit(e, 0);
	if (walk_depth && follow && tgid != target_tgid) { /* its own code now */
		__u32 *layout = bpf_map_lookup_elem(&followed, &tgid);

		if (layout)
			*layout = 0;
	}
	if (send_modules || own_calls) {
		/* the kernel mapped the program and its interpreter: no mmap shows them */
		struct mm_struct *mm = BPF_CORE_READ(p, mm);
		__u64 base = 0;

		if (send_modules)
			emit_module(BPF_CORE_READ(mm, start_code), MS_MODULE_EXE);
		for (int i = 0; i + 1 < 56; i += 2) {
			__u64 type = BPF_CORE_READ(mm, saved_auxv[i]);

			if (!type)
				break;
			if (type == 7) { /* AT_BASE */
				base = BPF_CORE_READ(mm, saved_auxv[i + 1]);
				break;
			}
		}
		if (base && send_modules)
			emit_module(base, MS_MODULE_IMAGE);
		/* the new image's libc is learned at its first call; ld.so is where it starts */
		if (own_calls) {
			struct ms_own_text *ot = own_text_here(true);

			if (ot) {
				ot->lo[0] = ot->hi[0] = ot->lo[1] = ot->hi[1] = 0;
				ot->off = 0; /* the collector says again when it cannot be told */
			}
			if (ot && base) {
				struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(p);

				learn_own_text(ot, 1, BPF_CORE_READ(regs, ip));
			}
		}
	}
	return 0;
}
