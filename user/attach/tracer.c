// SPDX-License-Identifier: GPL-2.0
/* Load memstudy.bpf.c, attach it to one target, and sum its per-CPU maps into a report. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "memstudy.h"
#include "floor.skel.h"
#include "memstudy.skel.h"
#include "analyse/unwind.h"
#include "attach/tracer.h"
#include "resolve/fn_arity.h"
#include "attach/uprobe_multi.h"
#include "lib/util.h"

struct tracer {
	const struct target *target;
	struct tracer_opts opts;
	struct memstudy_bpf *skel;
	struct floor_bpf *floor;
	bool multi; /* uprobes as multi-uprobe links (uprobe_multi.h) */
	int *mfds;  /* those links */
	int nmfds;
	struct bpf_link **links;
	int nlinks;
	struct ring_buffer *rb;
	int ncpus;
	uint64_t start_ns;
	bool per_alloc;
	void (*idle)(void *ctx); /* between ring-buffer rounds (per-allocation mode) */
	void *idle_ctx;
	struct unwind_kernel_ops unwind_ops; /* the kernel side of unwinding */
	uint32_t rows_used;		     /* in unwind_rows */
	struct ms_unwind_map *published;     /* the live table, as last published */
	uint32_t npublished;
	uint8_t *slots; /* thread_slots, mapped (--unwind copy) */
	int releasing;	/* exited processes' probes being detached */
	size_t slots_len;
};

/*
 * Per-allocation ring buffer: records are 40-64 bytes (+8 of header), at most ~500k a
 * second from a target under probes (~2 us a call). 64 MiB holds about a million records:
 * seconds of the collector falling behind. Stack map: distinct allocating stacks; a full
 * map or a hash collision leaves a call with its caller only (stack_errors), never loses it.
 */
#define PA_RINGBUF_MB_DEFAULT 64
/* With stacks copied a record is ~150 bytes to 8 KiB: a deep C++ program (clang-format,
 * 8 KiB a record, 150k records/s for 0.3 s) lost half of them with 64 MiB, none with 512 */
#define PA_RINGBUF_MB_STACKS 256
#define PA_STACKS	     16384
/* Summary mode with slow calls or syscall stacks: a record is ~9 KiB, and sent only when a
 * call joins its CPU's slowest (a few hundred in a trace) or a syscall is made outside
 * allocator calls. */
#define DETAIL_RINGBUF_MB 16
#define PA_POLL_US	  2000

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !ms_verbose)
		return 0;
	return ms_verbose ? vfprintf(stderr, fmt, ap) : 0;
}

int tracer__check_privileges(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2] = {};
	bool bpf, perfmon, admin;

	if (syscall(SYS_capget, &hdr, data)) {
		ms_err("cannot read capabilities: %s", strerror(errno));
		return -1;
	}
#define HAS(cap) (data[(cap) / 32].effective & (1u << ((cap) % 32)))
	admin = HAS(CAP_SYS_ADMIN);
	bpf = HAS(CAP_BPF) || admin;
	perfmon = HAS(CAP_PERFMON) || admin;
#undef HAS
	if (!bpf || !perfmon) {
		ms_err(
		    "tracing needs root, or the capabilities CAP_BPF and CAP_PERFMON (missing:%s%s)"
		    "; run it with sudo",
		    bpf ? "" : " CAP_BPF", perfmon ? "" : " CAP_PERFMON");
		return -1;
	}
	return 0;
}

/* Enough per-thread slots that tids never collide, when pid_max allows (docs/design.md). */
static unsigned int thread_slots_for_pid_max(void)
{
	char buf[32];
	unsigned long pid_max = MS_THREAD_SLOTS_MAX;
	unsigned int n = MS_THREAD_SLOTS_MIN;

	if (read_file("/proc/sys/kernel/pid_max", buf, sizeof(buf)) > 0)
		pid_max = strtoul(buf, NULL, 10);
	while (n < pid_max && n < MS_THREAD_SLOTS_MAX)
		n <<= 1;
	return n;
}

/* A and B name one file (paths may differ: /proc/PID/root/... for another namespace). */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) || stat(b, &sb))
		return !strcmp(a, b);
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* What the calls are explained with: slowest calls, syscall stacks, glibc's own calls,
 * per-thread numbers. Set before load. */
static int configure_details(struct tracer *tr, const struct target *t,
			     const struct tracer_opts *opts)
{
	struct memstudy_bpf__rodata *ro = tr->skel->rodata;
	unsigned int nwork = opts->thread_work ? opts->thread_work : MS_THREAD_WORK_DEFAULT;

	if (opts->floor)
		return 0;
	ro->slowest_n = opts->slowest > MS_SLOWEST_MAX ? MS_SLOWEST_MAX : opts->slowest;
	ro->syscall_stacks = opts->syscall_stacks;
	ro->send_modules = opts->per_alloc || ro->slowest_n || ro->syscall_stacks;
	ro->thread_work_max = nwork;
	/* a static program's allocator is the program: every call would look like its own */
	/* a static program's allocator is the program: every call would look like its own
	 * (--follow: told per process, tracer__own_text) */
	ro->own_calls = opts->follow || !same_file(t->allocator, t->exe);
	ro->user_fns = t->steps.nuser;
	for (unsigned int i = 0; i < t->steps.nuser && i < MS_USER_FNS; i++) {
		ro->user_fn_lo[i] = t->steps.user_lo[i];
		ro->user_fn_hi[i] = t->steps.user_hi[i];
	}
	if (bpf_map__set_max_entries(tr->skel->maps.thread_work, nwork)) {
		ms_err("cannot size the per-thread map");
		return -1;
	}
	if (!opts->per_alloc && (ro->slowest_n || ro->syscall_stacks) &&
	    bpf_map__set_max_entries(tr->skel->maps.events,
				     (opts->ringbuf_mb ? opts->ringbuf_mb : DETAIL_RINGBUF_MB)
					 << 20)) {
		ms_err("cannot size the ring buffer");
		return -1;
	}
	return 0;
}

struct tracer *tracer__open(const struct target *t, const struct tracer_opts *opts,
			    ring_buffer_sample_fn on_record, void *ctx)
{
	unsigned int nslots, fn_slots;
	struct tracer *tr;
	int err;

	libbpf_set_print(libbpf_print);
	tr = calloc(1, sizeof(*tr));
	if (!tr)
		return NULL;
	tr->target = t;
	tr->opts = *opts;
	tr->ncpus = libbpf_num_possible_cpus();
	tr->skel = memstudy_bpf__open();
	if (!tr->skel) {
		ms_err("cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	tr->skel->rodata->target_tgid = t->pid;
	nslots = opts->thread_slots ? opts->thread_slots : thread_slots_for_pid_max();
	tr->skel->rodata->slot_mask = nslots - 1;
	if (bpf_map__set_max_entries(tr->skel->maps.thread_slots, nslots)) {
		ms_err("cannot size the thread slots");
		goto fail;
	}
	/* statistics for the function slots in use only: each is 4 KiB per phase and CPU;
	 * --follow: all of them, for the functions an exec'd image brings (share_slots) */
	fn_slots = opts->follow ? MS_FN_MAX : t->nfn;
	tr->skel->rodata->fn_slots = fn_slots;
	if (bpf_map__set_max_entries(tr->skel->maps.fn_stats, MS_MAX_PHASES * fn_slots) ||
	    bpf_map__set_max_entries(tr->skel->maps.own_stats, MS_MAX_PHASES * fn_slots)) {
		ms_err("cannot size the function statistics");
		goto fail;
	}
	if (configure_details(tr, t, opts))
		goto fail;
	tr->skel->rodata->per_alloc = opts->per_alloc && !opts->floor;
	if (tr->skel->rodata->per_alloc) {
		/* --follow --unwind kernel: the processes not walked send copies */
		bool copies = opts->stack_bytes && (!opts->walk_depth || opts->follow);
		unsigned int mb = opts->ringbuf_mb ? opts->ringbuf_mb
				  : copies	   ? PA_RINGBUF_MB_STACKS
						   : PA_RINGBUF_MB_DEFAULT;

		/* a power of two number of pages */
		while (mb & (mb - 1))
			mb &= mb - 1;
		if (bpf_map__set_max_entries(tr->skel->maps.events, mb << 20) ||
		    bpf_map__set_max_entries(tr->skel->maps.stacks, PA_STACKS)) {
			ms_err("cannot size the per-allocation maps");
			goto fail;
		}
		tr->per_alloc = true;
		tr->skel->rodata->stack_copy = opts->stack_bytes;
		tr->skel->rodata->walk_depth =
		    opts->walk_depth > MS_STACK_DEPTH ? MS_STACK_DEPTH : opts->walk_depth;
		if (opts->walk_depth &&
		    bpf_map__set_max_entries(tr->skel->maps.unwind_rows,
					     opts->unwind_rows ? opts->unwind_rows
							       : MS_UNWIND_ROWS_DEFAULT)) {
			ms_err("cannot size the unwind rows map");
			goto fail;
		}
	}
	tr->multi = !opts->classic_uprobes && uprobe_multi__supported();
	if (tr->multi) {
		bpf_program__set_expected_attach_type(tr->skel->progs.alloc_enter,
						      MS_BPF_TRACE_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(tr->skel->progs.alloc_exit,
						      MS_BPF_TRACE_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(tr->skel->progs.phase_mark,
						      MS_BPF_TRACE_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(tr->skel->progs.step_enter,
						      MS_BPF_TRACE_UPROBE_MULTI);
		bpf_program__set_expected_attach_type(tr->skel->progs.step_exit,
						      MS_BPF_TRACE_UPROBE_MULTI);
	}
	if (opts->floor) {
		/* The floor uses the same kind of attachment as the real thing. */
		tr->floor = floor_bpf__open();
		if (tr->floor && tr->multi) {
			bpf_program__set_expected_attach_type(tr->floor->progs.floor_enter,
							      MS_BPF_TRACE_UPROBE_MULTI);
			bpf_program__set_expected_attach_type(tr->floor->progs.floor_exit,
							      MS_BPF_TRACE_UPROBE_MULTI);
		}
		if (!tr->floor || floor_bpf__load(tr->floor)) {
			ms_err("cannot load the floor programs: %s", strerror(errno));
			goto fail;
		}
	}
	tr->skel->rodata->follow = opts->follow; /* the floor's too: probe_progs_of */
	if (bpf_map__set_max_entries(tr->skel->maps.followed,
				     opts->follow_max ? opts->follow_max : 8192) ||
	    bpf_map__set_max_entries(tr->skel->maps.own_texts,
				     opts->follow_max ? opts->follow_max : 8192) ||
	    /* a process calls a few functions: 4 each, and the map allocates as it fills */
	    bpf_map__set_max_entries(
		tr->skel->maps.proc_fn,
		tr->skel->rodata->follow ? 4 * (opts->follow_max ? opts->follow_max : 8192) : 1)) {
		ms_err("cannot size the followed processes' map");
		goto fail;
	}
	err = memstudy_bpf__load(tr->skel);
	if (err) {
		ms_err("cannot load the BPF programs (%s); run with -v for the verifier log. The "
		       "kernel needs BTF (/sys/kernel/btf/vmlinux) and BPF task storage",
		       strerror(-err));
		goto fail;
	}
	if (tr->skel->rodata->follow) {
		uint32_t pid = t->pid, layout = 0; /* the target's stacks are walked anyway */

		bpf_map__update_elem(tr->skel->maps.followed, &pid, sizeof(pid), &layout,
				     sizeof(layout), BPF_ANY);
		tracer__own_text(tr, t->pid, !tracer__own_calls_for(t), 0, 0);
	}
	tr->rb = ring_buffer__new(bpf_map__fd(tr->skel->maps.events), on_record, ctx, NULL);
	if (!tr->rb) {
		ms_err("cannot create the ring buffer: %s", strerror(errno));
		goto fail;
	}
	return tr;
fail:
	tracer__destroy(tr);
	return NULL;
}

/* A multi-uprobe link's fd, kept to be closed at detach. */
static int add_mfd(struct tracer *tr, int fd)
{
	int *fds = realloc(tr->mfds, (tr->nmfds + 1) * sizeof(*fds));

	if (!fds) {
		close(fd);
		return -1;
	}
	tr->mfds = fds;
	tr->mfds[tr->nmfds++] = fd;
	return 0;
}

static int add_link(struct tracer *tr, struct bpf_link *link, const char *what)
{
	struct bpf_link **l;

	if (!link) {
		ms_err("cannot attach %s: %s", what, strerror(errno));
		return -1;
	}
	l = realloc(tr->links, (tr->nlinks + 1) * sizeof(*l));
	if (!l) {
		bpf_link__destroy(link);
		return -1;
	}
	tr->links = l;
	tr->links[tr->nlinks++] = link;
	return 0;
}

static int attach_uprobe(struct tracer *tr, struct bpf_program *prog, bool ret, const char *file,
			 uint64_t off, uint64_t cookie, const char *name)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret, .bpf_cookie = cookie);
	char what[PATH_MAX + 64];

	snprintf(what, sizeof(what), "%s %s in %s", ret ? "return probe on" : "probe on", name,
		 file);
	return add_link(tr, bpf_program__attach_uprobe_opts(prog, tr->target->pid, file, off, &uo),
			what);
}

/* Probe points in one file: offsets and cookies. */
struct probe_group {
	const char *file;
	uint64_t offs[MS_FN_MAX + MS_VARIANTS_MAX], cookies[MS_FN_MAX + MS_VARIANTS_MAX];
	const char *names[MS_FN_MAX + MS_VARIANTS_MAX];
	unsigned int n;
};

static void group_add(struct probe_group *g, uint64_t off, uint64_t cookie, const char *name)
{
	g->offs[g->n] = off;
	g->cookies[g->n] = cookie;
	g->names[g->n++] = name;
}

/* Entry and return probes on the points of G (entry probes only with a NULL EXIT): two
 * multi-uprobe links, or two classic links per point on kernels without them. */
static int attach_group(struct tracer *tr, const struct probe_group *g, struct bpf_program *enter,
			struct bpf_program *exit)
{
	int fd;

	for (unsigned int i = 0; !tr->multi && i < g->n; i++)
		if ((exit && attach_uprobe(tr, exit, true, g->file, g->offs[i], g->cookies[i],
					   g->names[i])) ||
		    attach_uprobe(tr, enter, false, g->file, g->offs[i], g->cookies[i],
				  g->names[i]))
			return -1;
	/* Return probes first: an entry seen without its return would leave a call open. */
	for (int i = exit ? 0 : 1; tr->multi && g->n && i < 2; i++) {
		struct bpf_program *prog = i ? enter : exit;

		fd = uprobe_multi__attach(bpf_program__fd(prog), g->file, g->offs, g->cookies, g->n,
					  !i, tr->target->pid);
		if (fd < 0) {
			ms_err("cannot attach the %s probes in %s: %s", i ? "entry" : "return",
			       g->file, strerror(-fd));
			return -1;
		}
		if (add_mfd(tr, fd))
			return -1;
	}
	return 0;
}

/* Every traced allocator function: the malloc family in the allocator's file, C++'s
 * operators in theirs (one group when it is the same file), each custom allocator function
 * in its file's group. */
enum { GROUPS_ALLOCATOR = 1, GROUPS_OTHER = 2, GROUPS_ALL = 3 };

static int attach_allocator(struct tracer *tr, struct bpf_program *enter, struct bpf_program *exit,
			    int which)
{
	const struct target *t = tr->target;
	const int fixed = 3, ngroups = fixed + MS_FN_MAX - MS_FN_CUSTOM;
	struct probe_group *g = calloc(ngroups, sizeof(*g));
	int i, k, err = -1;

	if (!g)
		return -1;
	g[0].file = t->allocator;
	g[1].file = t->cxx;
	g[2].file = t->cxx; /* entry probes only: see MS_COOKIE_ENTRY_ONLY */
	for (i = 0; i < MS_FN_GLIBC_COUNT && i < t->nfn; i++)
		if (t->fn[i].found && t->fn[i].alias_of < 0)
			group_add(&g[0], t->fn[i].site.offset, target__cookie(t, i), t->fn[i].name);
	for (i = MS_FN_CUSTOM; i < t->nfn; i++) {
		if (!t->fn[i].found || t->fn[i].alias_of >= 0)
			continue;
		for (k = fixed; g[k].file && strcmp(g[k].file, t->fn[i].file); k++)
			;
		if (!strcmp(t->fn[i].file, t->allocator))
			k = 0;
		g[k].file = t->fn[i].file;
		group_add(&g[k], t->fn[i].site.offset, target__cookie(t, i), t->fn[i].name);
	}
	for (i = 0; i < ms_nvariants; i++) {
		const struct target_variant *v = &t->variants[i];
		int k = target__variant_entry_only(t, i)		   ? 2
			: strcmp(target__variant_file(t, i), t->allocator) ? 1
									   : 0;

		if (target__variant_probed(t, i))
			group_add(&g[k], v->site.offset, target__variant_cookie(t, i),
				  ms_variants[i].label);
	}
	if (!(which & GROUPS_ALLOCATOR) || !attach_group(tr, &g[0], enter, exit))
		err = 0;
	if (!err && (which & GROUPS_OTHER))
		err = attach_group(tr, &g[1], enter, exit) || attach_group(tr, &g[2], enter, NULL);
	for (k = fixed; !err && (which & GROUPS_OTHER) && k < ngroups && g[k].file; k++)
		err = attach_group(tr, &g[k], enter, exit);
	free(g);
	return err;
}

static int attach_major_faults(struct tracer *tr, struct bpf_program *prog)
{
	struct perf_event_attr attr = {
	    .type = PERF_TYPE_SOFTWARE,
	    .size = sizeof(attr),
	    .config = PERF_COUNT_SW_PAGE_FAULTS_MAJ,
	    .sample_period = 1,
	};
	int cpu, fd, attached = 0;

	/* One event per CPU with a tgid filter in BPF sees every thread, old and new. */
	for (cpu = 0; cpu < tr->ncpus; cpu++) {
		fd = syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		if (fd < 0) {
			if (errno == ENODEV)
				continue; /* CPU possible but not online */
			ms_err("cannot open the major-fault perf event on CPU %d: %s", cpu,
			       strerror(errno));
			return -1;
		}
		if (add_link(tr, bpf_program__attach_perf_event(prog, fd),
			     "the major-fault counter")) {
			close(fd);
			return -1;
		}
		attached++;
	}
	return attached ? 0 : -1;
}

/* The programs one attach uses: memstudy's own, or the empty floor ones in their place. */
struct probe_progs {
	struct bpf_program *alloc_enter, *alloc_exit, *step_enter, *step_exit, *sys_enter,
	    *sys_exit, *thread_exit, *sched_switch, *page_fault, *page_fault_kernel, *major_fault,
	    *phase_mark, *exec, *fork;
};

static int attach_kernel_side(struct tracer *tr, const struct probe_progs *p)
{
	int i;

	if (tracefs__ensure(!tr->opts.no_mount))
		return -1;
	for (i = 0; i < MS_SYS_MAX; i++) {
		char name[64];

		snprintf(name, sizeof(name), "sys_enter_%s", ms_sys_names[i]);
		if (add_link(tr, bpf_program__attach_tracepoint(p->sys_enter, "syscalls", name),
			     name))
			return -1;
		snprintf(name, sizeof(name), "sys_exit_%s", ms_sys_names[i]);
		if (add_link(tr, bpf_program__attach_tracepoint(p->sys_exit, "syscalls", name),
			     name))
			return -1;
	}
	if (add_link(tr, bpf_program__attach(p->thread_exit), "sched_process_exit") ||
	    add_link(tr, bpf_program__attach(p->exec), "sched_process_exec") ||
	    (p->fork && add_link(tr, bpf_program__attach(p->fork), "sched_process_fork")) ||
	    /* slow calls: the time a call spent switched out */
	    (tr->opts.slowest &&
	     add_link(tr, bpf_program__attach(p->sched_switch), "sched_switch")) ||
	    /* memstudy record: the resident set over time (the floor has no such program) */
	    (tr->opts.rss && tr->per_alloc &&
	     add_link(tr,
		      bpf_program__attach_tracepoint(tr->skel->progs.rss_stat, "kmem", "rss_stat"),
		      "kmem/rss_stat")) ||
	    add_link(tr, bpf_program__attach(p->page_fault), "page_fault_user") ||
	    add_link(tr, bpf_program__attach(p->page_fault_kernel), "page_fault_kernel") ||
	    attach_major_faults(tr, p->major_fault))
		return -1;
	return 0;
}

/* Entry and return probes on glibc's internal steps (libc6-dbg), the step in the cookie. */
static int attach_steps(struct tracer *tr, struct bpf_program *enter, struct bpf_program *exit)
{
	const struct target *t = tr->target;
	const struct glibc_steps *gs = &t->steps;
	uint64_t offs[MS_STEP_MAX], cookies[MS_STEP_MAX];
	unsigned int n = 0;

	for (int s = 0; s < MS_STEP_COUNT; s++) {
		if (!gs->found[s])
			continue;
		if (!tr->multi) {
			if (attach_uprobe(tr, exit, true, t->allocator, gs->site[s].offset, s,
					  ms_step_names[s]) ||
			    attach_uprobe(tr, enter, false, t->allocator, gs->site[s].offset, s,
					  ms_step_names[s]))
				return -1;
			continue;
		}
		offs[n] = gs->site[s].offset;
		cookies[n++] = s;
	}
	for (int i = 0; tr->multi && n && i < 2; i++) {
		struct bpf_program *prog = i ? enter : exit;
		int fd = uprobe_multi__attach(bpf_program__fd(prog), t->allocator, offs, cookies, n,
					      !i, t->pid);

		if (fd < 0) {
			ms_err("cannot attach the probes on glibc's internal steps in %s: %s",
			       t->allocator, strerror(-fd));
			return -1;
		}
		if (add_mfd(tr, fd))
			return -1;
	}
	return 0;
}

bool tracer__steps_traced(const struct tracer *tr)
{
	return tr->opts.glibc_steps && !tr->opts.floor && glibc_steps__count(&tr->target->steps);
}

void tracer__set_loader_text(struct tracer *tr, uint64_t start, uint64_t end)
{
	if (tr->skel->rodata->follow) {
		tracer__own_text(tr, tr->target->pid, !tracer__own_calls_for(tr->target), start,
				 end);
		return;
	}
	tr->skel->bss->own_text.lo[1] = start;
	tr->skel->bss->own_text.hi[1] = end;
}

bool tracer__own_calls_for(const struct target *t)
{
	return !same_file(t->allocator, t->exe);
}

void tracer__own_text(struct tracer *tr, pid_t pid, bool off, uint64_t ld_start, uint64_t ld_end)
{
	struct ms_own_text ot = {0};
	uint32_t key = pid;

	if (!tr->skel->rodata->follow || !tr->skel->rodata->own_calls)
		return;
	/* what the kernel side learned already stays (libc's text, from a call) */
	bpf_map__lookup_elem(tr->skel->maps.own_texts, &key, sizeof(key), &ot, sizeof(ot), 0);
	ot.off = off;
	if (ld_end) {
		ot.lo[1] = ld_start;
		ot.hi[1] = ld_end;
	}
	bpf_map__update_elem(tr->skel->maps.own_texts, &key, sizeof(key), &ot, sizeof(ot), BPF_ANY);
}

static int attach_phase_marker(struct tracer *tr, struct bpf_program *prog)
{
	const struct target *t = tr->target;
	uint64_t zero = 0;
	int fd;

	if (!tr->multi)
		return attach_uprobe(tr, prog, false, t->exe, t->phase_offset, 0, "memstudy_phase");
	fd = uprobe_multi__attach(bpf_program__fd(prog), t->exe, &t->phase_offset, &zero, 1, false,
				  t->pid);
	if (fd < 0) {
		ms_err("cannot attach the phase marker probe in %s: %s", t->exe, strerror(-fd));
		return -1;
	}
	if (add_mfd(tr, fd))
		return -1;
	return 0;
}

/*
 * The programs the probes get: memstudy's, or with --probe-floor the empty ones - but for
 * the process tree's own under --follow (a fork, an exec, an exit): they stop each new
 * process until its probes are in place, which the floor's probes need too.
 */
static struct probe_progs probe_progs_of(const struct tracer *tr)
{
	struct memstudy_bpf *m = tr->skel;
	struct probe_progs p = {
	    .alloc_enter = m->progs.alloc_enter,
	    .alloc_exit = m->progs.alloc_exit,
	    .sys_enter = m->progs.sys_enter,
	    .sys_exit = m->progs.sys_exit,
	    .step_enter = m->progs.step_enter,
	    .step_exit = m->progs.step_exit,
	    .thread_exit = m->progs.thread_exit,
	    .sched_switch = m->progs.on_switch,
	    .exec = m->progs.on_exec,
	    .fork = m->progs.on_fork,
	    .page_fault = m->progs.page_fault,
	    .page_fault_kernel = m->progs.page_fault_kernel,
	    .major_fault = m->progs.major_fault,
	    .phase_mark = m->progs.phase_mark,
	};

	if (tr->floor) {
		struct floor_bpf *f = tr->floor;
		struct probe_progs tree = p;

		p = (struct probe_progs){
		    .alloc_enter = f->progs.floor_enter,
		    .alloc_exit = f->progs.floor_exit,
		    .sys_enter = f->progs.floor_syscall,
		    .sys_exit = f->progs.floor_syscall,
		    .step_enter = f->progs.floor_enter,
		    .step_exit = f->progs.floor_exit,
		    .thread_exit = f->progs.floor_thread_exit,
		    .sched_switch = f->progs.floor_switch,
		    .exec = f->progs.floor_exec,
		    .fork = f->progs.floor_fork,
		    .page_fault = f->progs.floor_page_fault,
		    .page_fault_kernel = f->progs.floor_page_fault_kernel,
		    .major_fault = f->progs.floor_major_fault,
		    .phase_mark = f->progs.floor_enter,
		};
		if (tr->opts.follow) {
			p.thread_exit = tree.thread_exit;
			p.exec = tree.exec;
			p.fork = tree.fork;
		}
	}
	return p;
}

int tracer__attach(struct tracer *tr)
{
	const struct target *t = tr->target;
	struct probe_progs p = probe_progs_of(tr);

	/* Kernel side first, so no allocator call misses the work done inside it. */
	if (tr->opts.floor != TRACER_FLOOR_UPROBES && attach_kernel_side(tr, &p))
		return -1;
	if (t->has_phase && tr->opts.floor != TRACER_FLOOR_UPROBES &&
	    attach_phase_marker(tr, p.phase_mark))
		return -1;
	/* Steps before the allocator: a call in progress when its probes land has them all. */
	if (tr->opts.glibc_steps && tr->opts.floor != TRACER_FLOOR_UPROBES &&
	    attach_steps(tr, p.step_enter, p.step_exit))
		return -1;
	if (attach_allocator(tr, p.alloc_enter, p.alloc_exit, GROUPS_ALL))
		return -1;
	tr->start_ns = mono_ns();
	return 0;
}

void tracer__warn_single_stepped(const struct target *t)
{
	if (t->probe_at_entry)
		return; /* asked for */
	for (int i = 0; i < t->nfn; i++) {
		const struct target_fn *f = &t->fn[i];

		if (f->found && f->alias_of < 0 && !f->site.emulated)
			fprintf(
			    stderr,
			    "memstudy: warning: %s's probe is on an instruction the kernel must "
			    "single-step (~13 us a call, not ~1): %s. --dry-run lists every "
			    "probe\n",
			    f->name, f->site.why);
	}
}

/* One function's probe, for --dry-run. */
static void print_fn_probe(const struct target *t, int i, FILE *out)
{
	const struct target_fn *f = &t->fn[i];
	char at[SPEC_SYM_LEN + 32];

	if (!f->found) {
		fprintf(out, "  %-15s not defined there: not traced\n", f->name);
	} else if (f->alias_of >= 0) {
		fprintf(out, "  %-15s same address as %s: counted there\n", f->name,
			t->fn[f->alias_of].name);
	} else {
		snprintf(at, sizeof(at), "%s+%llu", f->name, (unsigned long long)f->site.skip);
		fprintf(out, "  %-15s %-18s %-28s %s%s%s\n", f->name, at, f->site.insn,
			f->site.emulated ? "emulated" : "SINGLE-STEPPED",
			f->site.why[0] ? ": " : "", f->site.why);
	}
}

/* The custom allocators chosen, each function as its spec line and its probe. */
static void print_custom(const struct target *t, FILE *out)
{
	for (int k = 0; k < t->nfamilies; k++) {
		fprintf(out, "custom allocator %s (%s): %s\n", t->families[k].name,
			t->families[k].builtin ? "built-in spec, its symbols are present"
					       : "your spec",
			t->families[k].file);
		for (int f = MS_FN_CUSTOM; f < t->nfn; f++) {
			const struct target_fn *tf = &t->fn[f];
			struct spec_fn sf = {.kind = tf->spec.kind,
					     .size = tf->spec.size_arg,
					     .count = tf->spec.count_arg,
					     .ptr = tf->pool ? 0 : tf->spec.ptr_arg,
					     .pool = tf->pool};
			char line[SPEC_SYM_LEN + 64];

			if (tf->family != k)
				continue;
			snprintf(sf.sym, sizeof(sf.sym), "%s", tf->name);
			spec__format_fn(&sf, line, sizeof(line));
			if (!t->families[k].builtin && tf->arity == FN_ARITY_UNKNOWN)
				appendf(line, sizeof(line), " (arguments unchecked: no DWARF)");
			else if (!t->families[k].builtin && tf->arity != FN_ARITY_VARIADIC)
				appendf(line, sizeof(line), " (%d argument%s, by its DWARF)",
					tf->arity, tf->arity == 1 ? "" : "s");
			fprintf(out, "    %s%s%s\n", line,
				strcmp(tf->file, t->families[k].file) ? " in " : "",
				strcmp(tf->file, t->families[k].file) ? tf->file : "");
			print_fn_probe(t, f, out);
		}
	}
}

void tracer__print_probes(const struct target *t, FILE *out)
{
	int i;

	fprintf(out, "allocator: %s (%s)\n", t->allocator, target__allocator_name(t->allocator));
	if (t->cxx[0])
		fprintf(out, "C++ operators: %s (%s)\n", t->cxx, target__allocator_name(t->cxx));
	fprintf(out, "probes (entry and return at the same place; an emulated instruction costs "
		     "~0.9 us a hit, a single-stepped one ~13 us):\n");
	for (i = 0; i < MS_FN_GLIBC_COUNT && i < t->nfn; i++)
		print_fn_probe(t, i, out);
	for (i = 0; i < ms_nvariants; i++) {
		const struct target_variant *v = &t->variants[i];

		if (!v->found)
			continue;
		if (v->alias_variant >= 0)
			fprintf(out, "  %-38s same address as %s: counted there\n",
				ms_variants[i].label, ms_variants[v->alias_variant].label);
		else if (v->alias_of >= 0)
			fprintf(out, "  %-38s same address as %s: counted there\n",
				ms_variants[i].label, t->fn[v->alias_of].name);
		else
			fprintf(out, "  %-38s +%-3llu %-26s %s%s%s\n", ms_variants[i].label,
				(unsigned long long)v->site.skip, v->site.insn,
				v->site.emulated ? "emulated" : "SINGLE-STEPPED",
				v->site.why[0] ? ": " : "", v->site.why);
	}
	if (t->is_glibc && !t->steps.debug_file[0])
		fprintf(out,
			"glibc's internal steps: not probed (no debug file for build-id %s: "
			"install libc6-dbg)\n",
			t->steps.build_id);
	else if (t->is_glibc)
		fprintf(out,
			"glibc's internal steps (names from %s; they run rarely, so a "
			"single-step costs little):\n",
			t->steps.debug_file);
	for (i = 0; i < MS_STEP_COUNT; i++) {
		const struct probe_site *s = &t->steps.site[i];
		char at[64];

		if (!t->steps.found[i])
			continue;
		snprintf(at, sizeof(at), "%s+%llu", ms_step_names[i], (unsigned long long)s->skip);
		fprintf(out, "  %-18s %-22s %-28s %s\n", ms_step_names[i], at, s->insn,
			s->emulated ? "emulated" : "SINGLE-STEPPED");
	}
	print_custom(t, out);
	if (t->has_phase)
		fprintf(out, "phase marker: memstudy_phase in %s at offset 0x%llx\n", t->exe,
			(unsigned long long)t->phase_offset);
	fprintf(out, "syscalls: tracepoints on brk mmap munmap mremap madvise mprotect "
		     "(entry and exit)\n"
		     "faults: tp_btf page_fault_user and page_fault_kernel; perf software event "
		     "major-faults on every CPU\n");
}

void tracer__set_idle(struct tracer *tr, void (*fn)(void *ctx), void *ctx)
{
	tr->idle = fn;
	tr->idle_ctx = ctx;
}

int tracer__poll(struct tracer *tr, int timeout_ms)
{
	uint64_t end = mono_ns() + timeout_ms * 1000000ULL;
	int n, total = 0;

	if (!tr->per_alloc) {
		/* Slow-call and syscall records do not wake us, and the ring wakes no one for a
		 * record behind them (a phase marker): poll for the wakeups, consume the rest. */
		n = ring_buffer__poll(tr->rb, timeout_ms);
		if (n < 0 && n != -EINTR)
			return n;
		total = n > 0 ? n : 0;
		n = ring_buffer__consume(tr->rb);
		if (n > 0)
			total += n;
		if (tr->idle)
			tr->idle(tr->idle_ctx);
		return total;
	}
	/* Per-allocation records do not wake us (a wakeup per record would cost the target
	 * more than the record): drain on a short timer instead. */
	for (;;) {
		n = ring_buffer__consume(tr->rb);
		if (n < 0 && n != -EINTR)
			return n;
		if (n > 0)
			total += n;
		if (tr->idle)
			tr->idle(tr->idle_ctx);
		if (n > 0 && total < 1000000)
			continue; /* more may be waiting */
		if (mono_ns() >= end)
			break;
		usleep(PA_POLL_US);
	}
	return total;
}

void tracer__drain(struct tracer *tr)
{
	while (ring_buffer__consume(tr->rb) > 0)
		;
	if (tr->idle)
		tr->idle(tr->idle_ctx);
}

struct memstudy_bpf *tracer__skel(struct tracer *tr)
{
	return tr->skel;
}

const struct target *tracer__target(const struct tracer *tr)
{
	return tr->target;
}

uint64_t tracer__start_ns(const struct tracer *tr)
{
	return tr->start_ns;
}

int tracer__stack_fd(const struct tracer *tr)
{
	return bpf_map__fd(tr->skel->maps.stacks);
}

/* unwind_kernel_ops: rows appended to the map, in batches */
static bool unwind_add_rows(void *ctx, const struct ms_unwind_row *rows, uint32_t n,
			    uint32_t *first)
{
	struct tracer *tr = ctx;
	uint32_t cap = bpf_map__max_entries(tr->skel->maps.unwind_rows), keys[4096];
	int fd = bpf_map__fd(tr->skel->maps.unwind_rows);

	if (n > cap - tr->rows_used)
		return false;
	for (uint32_t done = 0; done < n;) {
		uint32_t k = n - done < 4096 ? n - done : 4096;

		for (uint32_t i = 0; i < k; i++)
			keys[i] = tr->rows_used + done + i;
		if (bpf_map_update_batch(fd, keys, rows + done, &k, NULL) || !k)
			return false; /* the rows already written are not used */
		done += k;
	}
	*first = tr->rows_used;
	tr->rows_used += n;
	return true;
}

/* Does the table MAPS keep every mapping of the one before (one only added to)? */
static bool table_grew(const struct tracer *tr, const struct ms_unwind_map *maps, uint32_t n)
{
	uint32_t j = 0;

	for (uint32_t i = 0; i < tr->npublished; i++) { /* both sorted by address */
		const struct ms_unwind_map *old = &tr->published[i];

		while (j < n && maps[j].start < old->start)
			j++;
		if (j == n || memcmp(&maps[j], old, sizeof(*old)))
			return false;
	}
	return true;
}

/* The walk reads the table unwind_live names: fill the other, then flip. */
static void unwind_publish(void *ctx, const struct ms_unwind_map *maps, uint32_t n)
{
	struct tracer *tr = ctx;
	struct memstudy_bpf__bss *bss = tr->skel->bss;
	uint32_t next = (__atomic_load_n(&bss->unwind_live, __ATOMIC_RELAXED) + 1) & 1;
	uint32_t keys[MS_UNWIND_MAPS], k = n;

	for (uint32_t i = 0; i < n; i++)
		keys[i] = next * MS_UNWIND_MAPS + i;
	if (n &&
	    bpf_map_update_batch(bpf_map__fd(tr->skel->maps.unwind_maps), keys, maps, &k, NULL)) {
		ms_warn("cannot load the unwind table: %s; stacks stop at code loaded since",
			strerror(errno));
		return;
	}
	bss->unwind_nmaps[next] = n;
	/* --follow: a child forked before keeps the code it had then. A table only added to
	 * still describes all of it (what the target mapped since is no code of the child's:
	 * a child that maps code is walked no more). One that dropped or changed a mapping
	 * may not: the children forked before it are not walked with it (walks_here). */
	if (!table_grew(tr, maps, n))
		__atomic_add_fetch(&bss->unwind_gen, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&bss->unwind_live, next, __ATOMIC_RELEASE);
	tr->published = xrealloc(tr->published, (n ? n : 1) * sizeof(*maps));
	memcpy(tr->published, maps, n * sizeof(*maps));
	tr->npublished = n;
}

/* --unwind copy: where thread TID's frames end, into its slot's shared part */
static void unwind_set_copy_top(void *ctx, uint32_t tid, uint64_t top)
{
	struct tracer *tr = ctx;
	uint32_t slot = tid & tr->skel->rodata->slot_mask;
	struct ms_thread_shared *sh =
	    (void *)(tr->slots + (size_t)slot * MS_THREAD_SLOT_SIZE + MS_THREAD_SHARED_OFFSET);

	/* the copy checks tid first: never a top with another thread's tid */
	__atomic_store_n(&sh->tid, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&sh->copy_top, top, __ATOMIC_RELEASE);
	__atomic_store_n(&sh->tid, tid, __ATOMIC_RELEASE);
}

const struct unwind_kernel_ops *tracer__unwind_ops(struct tracer *tr)
{
	const struct memstudy_bpf__rodata *ro = tr->skel->rodata;

	if (!tr->per_alloc || (!ro->walk_depth && !ro->stack_copy))
		return NULL;
	tr->unwind_ops = (struct unwind_kernel_ops){.ctx = tr};
	if (ro->walk_depth) {
		tr->unwind_ops.add_rows = unwind_add_rows;
		tr->unwind_ops.publish = unwind_publish;
	}
	if (ro->stack_copy && !tr->slots) {
		tr->slots_len = (size_t)(ro->slot_mask + 1) * MS_THREAD_SLOT_SIZE;
		tr->slots = mmap(NULL, tr->slots_len, PROT_READ | PROT_WRITE, MAP_SHARED,
				 bpf_map__fd(tr->skel->maps.thread_slots), 0);
		if (tr->slots == MAP_FAILED)
			tr->slots = NULL; /* copies stay stack_copy bytes long */
	}
	if (tr->slots)
		tr->unwind_ops.set_copy_top = unwind_set_copy_top;
	return &tr->unwind_ops;
}

static void *destroy_link(void *link)
{
	bpf_link__destroy(link);
	return NULL;
}

/*
 * Each detach waits for an RCU grace period in the kernel (~0.1 s here): one after the
 * other, thirty links took three seconds. Detached in parallel they share grace periods.
 */
int tracer__attach_process(struct tracer *tr, const struct target *t, struct tracer_links *l,
			   bool keep_allocator)
{
	const struct target *main = tr->target;
	int *fds = tr->mfds, nfds = tr->nmfds, nlinks = tr->nlinks, err = 0;
	struct bpf_link **links = tr->links;
	struct probe_progs p = probe_progs_of(tr);

	/* the same attach as the target's, into the lists of this process */
	tr->mfds = l->fds;
	tr->links = l->links;
	tr->nmfds = l->nfds;
	tr->nlinks = l->nlinks;
	tr->target = t;
	if (!keep_allocator) { /* the allocator's file first: l->shared_* count them */
		err = attach_allocator(tr, p.alloc_enter, p.alloc_exit, GROUPS_ALLOCATOR) ||
		      (tracer__steps_traced(tr) && attach_steps(tr, p.step_enter, p.step_exit));
		l->shared_fds = tr->nmfds;
		l->shared_links = tr->nlinks;
	}
	err = err || attach_allocator(tr, p.alloc_enter, p.alloc_exit, GROUPS_OTHER) ||
	      (t->has_phase && attach_phase_marker(tr, p.phase_mark));
	tr->target = main;
	l->fds = tr->mfds;
	l->nfds = tr->nmfds;
	l->links = tr->links;
	l->nlinks = tr->nlinks;
	tr->mfds = fds;
	tr->nmfds = nfds;
	tr->links = links;
	tr->nlinks = nlinks;
	if (err)
		tracer__links_free(l);
	return err ? -1 : 0;
}

/* L's probes past the allocator's file's, moved out of it. */
static struct tracer_links links_tail(struct tracer_links *l)
{
	struct tracer_links rest = {0};

	if (l->nfds > l->shared_fds) {
		rest.nfds = l->nfds - l->shared_fds;
		rest.fds = malloc(rest.nfds * sizeof(*rest.fds));
		if (rest.fds)
			memcpy(rest.fds, l->fds + l->shared_fds, rest.nfds * sizeof(*rest.fds));
		else
			rest.nfds = 0;
	}
	if (l->nlinks > l->shared_links) {
		rest.nlinks = l->nlinks - l->shared_links;
		rest.links = malloc(rest.nlinks * sizeof(*rest.links));
		if (rest.links)
			memcpy(rest.links, l->links + l->shared_links,
			       rest.nlinks * sizeof(*rest.links));
		else
			rest.nlinks = 0;
	}
	l->nfds = l->shared_fds;
	l->nlinks = l->shared_links;
	return rest;
}

void tracer__links_drop_others(struct tracer *tr, struct tracer_links *l, bool now)
{
	struct tracer_links rest = links_tail(l);

	if (now)
		tracer__links_free(&rest);
	else
		tracer__links_release(tr, &rest);
}

void tracer__follow_pid(struct tracer *tr, pid_t pid)
{
	/* its memory is not known to be the tables' (walks_here): its stacks are copied */
	uint32_t key = pid, layout = 0;

	bpf_map__update_elem(tr->skel->maps.followed, &key, sizeof(key), &layout, sizeof(layout),
			     BPF_ANY);
}

static void *destroy_link(void *link);

void tracer__links_free(struct tracer_links *l)
{
	struct par_job *jobs = calloc(l->nfds + l->nlinks + 1, sizeof(*jobs));
	int n = 0;

	/* each detach waits for a grace period: at once, they overlap */
	for (int i = 0; i < l->nfds; i++)
		if (jobs)
			jobs[n++] = (struct par_job){close_fd_job, (void *)(intptr_t)l->fds[i]};
		else
			close(l->fds[i]);
	for (int i = 0; i < l->nlinks; i++)
		if (jobs)
			jobs[n++] = (struct par_job){destroy_link, l->links[i]};
		else
			bpf_link__destroy(l->links[i]);
	run_parallel(jobs, n);
	free(jobs);
	free(l->fds);
	free(l->links);
	*l = (struct tracer_links){0};
}

struct release_job {
	struct tracer_links l;
	int *pending;
};

static void *release_links(void *arg)
{
	struct release_job *j = arg;

	tracer__links_free(&j->l);
	__atomic_sub_fetch(j->pending, 1, __ATOMIC_RELEASE);
	free(j);
	return NULL;
}

void tracer__links_release(struct tracer *tr, struct tracer_links *l)
{
	struct release_job *j;
	pthread_attr_t attr;
	pthread_t th;
	bool started = false;

	if (!l->nfds && !l->nlinks) {
		tracer__links_free(l);
		return;
	}
	j = malloc(sizeof(*j));
	if (j) {
		j->l = *l;
		j->pending = &tr->releasing;
		*l = (struct tracer_links){0};
		__atomic_add_fetch(&tr->releasing, 1, __ATOMIC_ACQUIRE);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		started = !pthread_create(&th, &attr, release_links, j);
		pthread_attr_destroy(&attr);
		if (!started)
			release_links(j);
		return;
	}
	tracer__links_free(l);
}

void tracer__detach(struct tracer *tr)
{
	struct par_job *jobs = calloc(tr->nmfds + tr->nlinks + 1, sizeof(*jobs));
	int i, n = 0;

	for (i = 0; i < tr->nmfds; i++)
		if (jobs)
			jobs[n++] = (struct par_job){close_fd_job, (void *)(intptr_t)tr->mfds[i]};
		else
			close(tr->mfds[i]);
	for (i = 0; i < tr->nlinks; i++)
		if (jobs)
			jobs[n++] = (struct par_job){destroy_link, tr->links[i]};
		else
			bpf_link__destroy(tr->links[i]);
	run_parallel(jobs, n);
	free(jobs);
	tr->nmfds = 0;
	free(tr->mfds);
	tr->mfds = NULL;
	free(tr->links);
	tr->links = NULL;
	tr->nlinks = 0;
}

void tracer__destroy(struct tracer *tr)
{
	if (!tr)
		return;
	tracer__detach(tr);
	while (__atomic_load_n(&tr->releasing, __ATOMIC_ACQUIRE)) /* processes' probes */
		usleep(1000);
	ring_buffer__free(tr->rb);
	if (tr->slots)
		munmap(tr->slots, tr->slots_len);
	floor_bpf__destroy(tr->floor);
	memstudy_bpf__destroy(tr->skel);
	free(tr->published);
	free(tr);
}
