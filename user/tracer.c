// SPDX-License-Identifier: GPL-2.0
/* Load memstudy.bpf.c, attach it to one target, and sum its per-CPU maps into a report. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "floor.skel.h"
#include "memstudy.skel.h"
#include "tracer.h"
#include "util.h"

struct tracer {
	const struct target *target;
	struct tracer_opts opts;
	struct memstudy_bpf *skel;
	struct floor_bpf *floor;
	struct bpf_link **links;
	int nlinks;
	struct ring_buffer *rb;
	int ncpus;
	void *percpu; /* scratch for reading one per-CPU value */
	/* Phase names and start times, from ring-buffer records. */
	char phase_names[MS_MAX_PHASES][MS_PHASE_NAME_LEN];
	uint64_t phase_start[MS_MAX_PHASES];
	int nphases;
	uint64_t start_ns;
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !ms_verbose)
		return 0;
	return ms_verbose ? vfprintf(stderr, fmt, ap) : 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int tracer__check_privileges(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
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
		ms_err("tracing needs root, or the capabilities CAP_BPF and CAP_PERFMON (missing:%s%s)"
		       "; run it with sudo",
		       bpf ? "" : " CAP_BPF", perfmon ? "" : " CAP_PERFMON");
		return -1;
	}
	return 0;
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct tracer *tr = ctx;
	const struct ms_event_phase *e = data;

	if (size < sizeof(*e) || e->type != MS_EV_PHASE)
		return 0;
	if (e->phase < MS_MAX_PHASES) {
		snprintf(tr->phase_names[e->phase], MS_PHASE_NAME_LEN, "%s", e->name);
		tr->phase_start[e->phase] = e->ts_ns;
		if ((int)e->phase + 1 > tr->nphases)
			tr->nphases = e->phase + 1;
	}
	return 0;
}

struct tracer *tracer__open(const struct target *t, const struct tracer_opts *opts)
{
	struct tracer *tr;
	int err;

	libbpf_set_print(libbpf_print);
	tr = calloc(1, sizeof(*tr));
	if (!tr)
		return NULL;
	tr->target = t;
	tr->opts = *opts;
	tr->nphases = 1;
	snprintf(tr->phase_names[0], MS_PHASE_NAME_LEN, "%s", t->has_phase ? "start" : "all");
	tr->ncpus = libbpf_num_possible_cpus();
	tr->percpu = calloc(tr->ncpus, sizeof(struct ms_fn_stats));
	tr->skel = memstudy_bpf__open();
	if (!tr->skel || !tr->percpu) {
		ms_err("cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	tr->skel->rodata->target_tgid = t->pid;
	if (opts->floor) {
		tr->floor = floor_bpf__open_and_load();
		if (!tr->floor) {
			ms_err("cannot load the floor programs: %s", strerror(errno));
			goto fail;
		}
	}
	err = memstudy_bpf__load(tr->skel);
	if (err) {
		ms_err("cannot load the BPF programs (%s); run with -v for the verifier log. The "
		       "kernel needs BTF (/sys/kernel/btf/vmlinux) and BPF task storage",
		       strerror(-err));
		goto fail;
	}
	tr->rb = ring_buffer__new(bpf_map__fd(tr->skel->maps.events), handle_event, tr, NULL);
	if (!tr->rb) {
		ms_err("cannot create the ring buffer: %s", strerror(errno));
		goto fail;
	}
	return tr;
fail:
	tracer__destroy(tr);
	return NULL;
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

static int attach_major_faults(struct tracer *tr)
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
		if (add_link(tr, bpf_program__attach_perf_event(tr->skel->progs.major_fault, fd),
			     "the major-fault counter")) {
			close(fd);
			return -1;
		}
		attached++;
	}
	return attached ? 0 : -1;
}

int tracer__attach(struct tracer *tr)
{
	const struct target *t = tr->target;
	int i;

	if (tr->floor) {
		for (i = 0; i < MS_FN_MAX; i++) {
			if (!t->fn[i].found || t->fn[i].alias_of >= 0)
				continue;
			if (attach_uprobe(tr, tr->floor->progs.floor_exit, true, t->allocator,
					  t->fn[i].site.offset, i, ms_fn_names[i]) ||
			    attach_uprobe(tr, tr->floor->progs.floor_enter, false, t->allocator,
					  t->fn[i].site.offset, i, ms_fn_names[i]))
				return -1;
		}
		tr->start_ns = now_ns();
		return 0;
	}
	if (tracefs__ensure(!tr->opts.no_mount))
		return -1;
	/* Kernel side first, so no allocator call misses the work done inside it. */
	for (i = 0; i < MS_SYS_MAX; i++) {
		char name[64];

		snprintf(name, sizeof(name), "sys_enter_%s", ms_sys_names[i]);
		if (add_link(tr, bpf_program__attach_tracepoint(tr->skel->progs.sys_enter,
								"syscalls", name),
			     name))
			return -1;
		snprintf(name, sizeof(name), "sys_exit_%s", ms_sys_names[i]);
		if (add_link(tr, bpf_program__attach_tracepoint(tr->skel->progs.sys_exit,
								"syscalls", name),
			     name))
			return -1;
	}
	if (add_link(tr, bpf_program__attach(tr->skel->progs.page_fault), "page_fault_user") ||
	    add_link(tr, bpf_program__attach(tr->skel->progs.page_fault_kernel),
		     "page_fault_kernel") ||
	    attach_major_faults(tr))
		return -1;
	if (t->has_phase &&
	    attach_uprobe(tr, tr->skel->progs.phase_mark, false, t->exe, t->phase_offset, 0,
			  "memstudy_phase"))
		return -1;
	for (i = 0; i < MS_FN_MAX; i++) {
		if (!t->fn[i].found || t->fn[i].alias_of >= 0)
			continue;
		if (attach_uprobe(tr, tr->skel->progs.alloc_exit, true, t->allocator,
				  t->fn[i].site.offset, i, ms_fn_names[i]) ||
		    attach_uprobe(tr, tr->skel->progs.alloc_enter, false, t->allocator,
				  t->fn[i].site.offset, i, ms_fn_names[i]))
			return -1;
	}
	tr->start_ns = now_ns();
	return 0;
}

void tracer__print_probes(const struct target *t, FILE *out)
{
	int i;

	fprintf(out, "allocator: %s\n", t->allocator);
	fprintf(out, "probes (entry and return at the same place; an emulated instruction costs "
		     "~0.8 us a hit, a single-stepped one ~9.5 us):\n");
	for (i = 0; i < MS_FN_MAX; i++) {
		const struct target_fn *f = &t->fn[i];

		if (!f->found)
			fprintf(out, "  %-15s not defined there: not traced\n", ms_fn_names[i]);
		else if (f->alias_of >= 0)
			fprintf(out, "  %-15s same address as %s: counted there\n", ms_fn_names[i],
				ms_fn_names[f->alias_of]);
		else {
			char at[64];

			snprintf(at, sizeof(at), "%s+%llu", ms_fn_names[i],
				 (unsigned long long)f->site.skip);
			fprintf(out, "  %-15s %-18s %-28s %s%s%s\n", ms_fn_names[i], at, f->site.insn,
				f->site.emulated ? "emulated" : "SINGLE-STEPPED",
				f->site.why[0] ? ": " : "", f->site.why);
		}
	}
	if (t->has_phase)
		fprintf(out, "phase marker: memstudy_phase in %s at offset 0x%llx\n", t->exe,
			(unsigned long long)t->phase_offset);
	fprintf(out, "syscalls: tracepoints on brk mmap munmap mremap madvise mprotect "
		     "(entry and exit)\n"
		     "faults: tp_btf page_fault_user and page_fault_kernel; perf software event "
		     "major-faults on every CPU\n");
}

int tracer__poll(struct tracer *tr, int timeout_ms)
{
	int n = ring_buffer__poll(tr->rb, timeout_ms);

	return n == -EINTR ? 0 : n;
}

/* Sum one per-CPU value of WORDS u64 fields into OUT. */
static int read_percpu(struct tracer *tr, struct bpf_map *map, uint32_t key, uint64_t *out,
		       size_t words)
{
	size_t vsize = bpf_map__value_size(map);
	uint64_t *v;
	int cpu;
	size_t i;

	if (bpf_map__lookup_elem(map, &key, sizeof(key), tr->percpu, vsize * tr->ncpus, 0))
		return -errno;
	memset(out, 0, words * 8);
	for (cpu = 0; cpu < tr->ncpus; cpu++) {
		v = (uint64_t *)((char *)tr->percpu + cpu * vsize);
		for (i = 0; i < words; i++)
			out[i] += v[i];
	}
	return 0;
}

int tracer__collect(struct tracer *tr, struct report *r)
{
	struct memstudy_bpf *s = tr->skel;
	int p, i, np;
	uint64_t end = now_ns();

	tracer__poll(tr, 0); /* phase names still in flight */
	memset(r, 0, sizeof(*r));
	r->target = tr->target;
	r->duration_s = (end - tr->start_ns) / 1e9;
	np = s->bss->cur_phase + 1;
	r->nphases = np < MS_MAX_PHASES ? np : MS_MAX_PHASES;
	r->phases_merged = s->bss->phase_overflow;
	for (p = 0; p < r->nphases; p++) {
		struct report_phase *ph = &r->phases[p];

		snprintf(ph->name, sizeof(ph->name), "%s",
			 tr->phase_names[p][0] ? tr->phase_names[p] : "?");
		ph->start_ns = p ? tr->phase_start[p] : tr->start_ns;
		for (i = 0; i < MS_FN_MAX; i++) {
			struct ms_fn_stats *f = &ph->fn[i];
			uint64_t *w = (uint64_t *)f;
			size_t words = sizeof(*f) / 8;

			if (read_percpu(tr, s->maps.fn_stats, p * MS_FN_MAX + i, w, words))
				return -1;
			/* lat_max is a maximum, not a sum: take the largest CPU's. */
			f->lat_max_ns = 0;
			for (int cpu = 0; cpu < tr->ncpus; cpu++) {
				struct ms_fn_stats *c = (struct ms_fn_stats *)((char *)tr->percpu +
									   cpu * sizeof(*c));
				if (c->lat_max_ns > f->lat_max_ns)
					f->lat_max_ns = c->lat_max_ns;
			}
		}
		for (i = 0; i < MS_SYS_MAX; i++)
			if (read_percpu(tr, s->maps.sys_stats, p * MS_SYS_MAX + i,
					(uint64_t *)&ph->sys[i], sizeof(ph->sys[i]) / 8))
				return -1;
		if (read_percpu(tr, s->maps.fault_stats, p, (uint64_t *)&ph->faults,
				sizeof(ph->faults) / 8))
			return -1;
	}
	for (p = 0; p < r->nphases; p++)
		r->phases[p].end_ns = p + 1 < r->nphases ? r->phases[p + 1].start_ns : end;
	for (i = 0; i < MS_LOST_MAX; i++) {
		if (read_percpu(tr, s->maps.lost, i, &r->lost[i], 1))
			return -1;
		r->lost_total += r->lost[i];
	}
	report__sum(r);
	return 0;
}

void tracer__detach(struct tracer *tr)
{
	int i;

	for (i = 0; i < tr->nlinks; i++)
		bpf_link__destroy(tr->links[i]);
	free(tr->links);
	tr->links = NULL;
	tr->nlinks = 0;
}

void tracer__destroy(struct tracer *tr)
{
	if (!tr)
		return;
	tracer__detach(tr);
	ring_buffer__free(tr->rb);
	floor_bpf__destroy(tr->floor);
	memstudy_bpf__destroy(tr->skel);
	free(tr->percpu);
	free(tr);
}
