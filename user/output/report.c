// SPDX-License-Identifier: GPL-2.0
/* The report: readable tables on a terminal, one JSON object for scripts (json-c). */
#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/json.h"
#include "analyse/hist.h"
#include "lib/fmt.h"
#include "lib/util.h"
#include "output/report.h"

static void add_u64s(uint64_t *dst, const uint64_t *src, size_t words)
{
	for (size_t i = 0; i < words; i++)
		dst[i] += src[i];
}

void report__sum(struct report *r)
{
	struct report_phase *t = &r->total;
	int p, i;

	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "total");
	for (p = 0; p < r->nphases; p++) {
		const struct report_phase *ph = &r->phases[p];

		for (i = 0; i < r->target->nfn; i++) {
			uint64_t max = t->fn[i].lat_max_ns;

			add_u64s((uint64_t *)&t->fn[i], (const uint64_t *)&ph->fn[i],
				 sizeof(t->fn[i]) / 8);
			t->fn[i].lat_max_ns =
			    max > ph->fn[i].lat_max_ns ? max : ph->fn[i].lat_max_ns;
		}
		add_u64s((uint64_t *)t->sys, (const uint64_t *)ph->sys, sizeof(t->sys) / 8);
		add_u64s((uint64_t *)&t->faults, (const uint64_t *)&ph->faults,
			 sizeof(t->faults) / 8);
	}
	if (r->nphases) {
		t->start_ns = r->phases[0].start_ns;
		t->end_ns = r->phases[r->nphases - 1].end_ns;
	}
}

static uint64_t fn_p(const struct ms_fn_stats *f, double pct)
{
	return hist_percentile(f->hist, MS_HIST_SLOTS, pct, f->lat_max_ns);
}

static uint64_t kwork_syscalls(const struct ms_kwork *k)
{
	uint64_t n = 0;

	for (int i = 0; i < MS_SYS_MAX; i++)
		n += k->syscalls[i];
	return n;
}

static void print_fn_table(const struct report *r, const struct report_phase *ph, bool all,
			   FILE *out)
{
	char b1[32], b2[32], b3[32], b4[32], b5[32], quiet[256] = "", missing[256] = "";
	int i;

	fprintf(out, "%-22s %10s %10s %6s %9s %9s %9s | %7s %6s %8s %9s\n", "function", "calls",
		"bytes", "failed", "p50", "p99", "max", "faults", "major", "syscalls", "sys time");
	for (i = 0; i < r->target->nfn; i++) {
		const struct ms_fn_stats *f = &ph->fn[i];
		const struct target_fn *tf = &r->target->fn[i];
		char name[32];

		if (!tf->found) {
			if (all)
				fprintf(out, "%-22s (not defined in the allocator: not traced)\n",
					ms_fn_names[i]);
			else
				appendf(missing, sizeof(missing), "%s%s", missing[0] ? ", " : "",
					ms_fn_names[i]);
			continue;
		}
		if (tf->alias_of >= 0)
			continue; /* its calls are in the row of the function it aliases */
		if (!f->calls && !all) {
			appendf(quiet, sizeof(quiet), "%s%s", quiet[0] ? ", " : "", ms_fn_names[i]);
			continue;
		}
		snprintf(name, sizeof(name), "%s", ms_fn_names[i]);
		for (int j = 0; j < r->target->nfn; j++)
			if (r->target->fn[j].alias_of == i)
				snprintf(name, sizeof(name), "%s/%s", ms_fn_names[i],
					 ms_fn_names[j]);
		fprintf(out, "%-22s %10llu %10s %6llu %9s %9s %9s | %7llu %6llu %8llu %9s\n", name,
			(unsigned long long)f->calls, fmt_bytes(b1, sizeof(b1), f->bytes),
			(unsigned long long)f->failed, fmt_ns(b2, sizeof(b2), fn_p(f, 50)),
			fmt_ns(b3, sizeof(b3), fn_p(f, 99)), fmt_ns(b4, sizeof(b4), f->lat_max_ns),
			(unsigned long long)f->kernel.faults,
			(unsigned long long)f->kernel.major_faults,
			(unsigned long long)kwork_syscalls(&f->kernel),
			fmt_ns(b5, sizeof(b5), f->kernel.syscall_ns));
	}
	if (quiet[0])
		fprintf(out, "(never called: %s; --all lists every function)\n", quiet);
	if (missing[0])
		fprintf(out, "(not defined in the allocator, so not traced: %s)\n", missing);
}

static void print_sys_table(const struct report_phase *ph, bool all, FILE *out)
{
	char b1[32], b2[32], b3[32], b4[32], quiet[128] = "";
	int i;

	fprintf(out, "%-9s %10s %9s %7s %11s %11s %11s %10s\n", "syscall", "calls", "in alloc",
		"failed", "bytes", "grown", "shrunk", "time");
	for (i = 0; i < MS_SYS_MAX; i++) {
		const struct ms_sys_stats *s = &ph->sys[i];

		if (!s->calls && !all) {
			appendf(quiet, sizeof(quiet), "%s%s", quiet[0] ? ", " : "",
				ms_sys_names[i]);
			continue;
		}
		fprintf(out, "%-9s %10llu %9llu %7llu %11s %11s %11s %10s\n", ms_sys_names[i],
			(unsigned long long)s->calls, (unsigned long long)s->in_alloc_calls,
			(unsigned long long)s->failed,
			i == MS_SYS_BRK ? "-" : fmt_bytes(b1, sizeof(b1), s->bytes),
			i == MS_SYS_BRK || i == MS_SYS_MREMAP
			    ? fmt_bytes(b2, sizeof(b2), s->grow_bytes)
			    : "-",
			i == MS_SYS_BRK || i == MS_SYS_MREMAP
			    ? fmt_bytes(b3, sizeof(b3), s->shrink_bytes)
			    : "-",
			fmt_ns(b4, sizeof(b4), s->ns));
	}
	if (quiet[0])
		fprintf(out, "(never called: %s)\n", quiet);
}

static void print_phases(const struct report *r, FILE *out)
{
	char b1[32], b2[32], b3[32];
	int p;

	fprintf(out, "\nPhases (marked by the target's memstudy_phase() calls)\n");
	fprintf(out, "%-16s %10s %10s %10s %10s %10s %8s %8s %8s %10s\n", "phase", "wall", "malloc",
		"free", "free time", "faults", "brk", "mmap", "munmap", "sys time");
	for (p = 0; p < r->nphases; p++) {
		const struct report_phase *ph = &r->phases[p];
		uint64_t sys_ns = 0;

		for (int i = 0; i < MS_SYS_MAX; i++)
			sys_ns += ph->sys[i].ns;
		fprintf(out, "%-16s %10s %10llu %10llu %10s %10llu %8llu %8llu %8llu %10s\n",
			ph->name, fmt_ns(b1, sizeof(b1), ph->end_ns - ph->start_ns),
			(unsigned long long)ph->fn[MS_FN_MALLOC].calls,
			(unsigned long long)ph->fn[MS_FN_FREE].calls,
			fmt_ns(b2, sizeof(b2), ph->fn[MS_FN_FREE].lat_sum_ns),
			(unsigned long long)(ph->faults.user + ph->faults.kernel_on_user),
			(unsigned long long)ph->sys[MS_SYS_BRK].calls,
			(unsigned long long)ph->sys[MS_SYS_MMAP].calls,
			(unsigned long long)ph->sys[MS_SYS_MUNMAP].calls,
			fmt_ns(b3, sizeof(b3), sys_ns));
	}
}

/*
 * memstudy's own cost per traced call, for users to subtract from latencies: the entry trap
 * (emulated or single-stepped) and the return trap as measured on this machine when the
 * trace ended (calibrate.c), plus memstudy's programs as bench/overhead.py measured them.
 */
static uint64_t fn_probe_cost_ns(const struct report *r, const struct target_fn *f)
{
	const struct probe_costs *c = &r->costs;

	return (f->site.emulated ? c->entry_emulated_ns : c->entry_sstep_ns) + c->return_ns +
	       c->programs_ns;
}

/* Probe hits and the estimated time they cost the target. */
static void overhead(const struct report *r, uint64_t *hits, uint64_t *ns)
{
	*hits = *ns = 0;
	for (int i = 0; i < r->target->nfn; i++) {
		const struct target_fn *f = &r->target->fn[i];

		if (!f->found || f->alias_of >= 0)
			continue;
		*hits += 2 * r->total.fn[i].calls;
		*ns += r->total.fn[i].calls * fn_probe_cost_ns(r, f);
	}
}

/* The execs: which images this report mixes, and which calls it lacks. */
static void print_execs(const struct report *r, FILE *out)
{
	for (int i = 0; i < r->nexecs; i++) {
		const struct report_exec *e = &r->execs[i];

		if (e->probed)
			fprintf(out,
				"exec at %.3f s into %s: its allocator is the traced %s, so its "
				"calls are counted in this report together with the earlier "
				"image's\n",
				e->t_s, e->exe, e->allocator);
		else
			fprintf(
			    out,
			    "exec at %.3f s into %s: NOT TRACED after it - its allocator (%s) is "
			    "not the probed file, so the new image's calls are missing from this "
			    "report\n",
			    e->t_s, e->exe, e->allocator);
	}
	if (r->execs_dropped)
		fprintf(out, "(%llu more execs not listed)\n",
			(unsigned long long)r->execs_dropped);
}

void report__print_text(const struct report *r, FILE *out, const struct report_text_opts *o)
{
	const struct report_phase *t = &r->total;
	int i;

	fprintf(out, "\nmemstudy: PID %d (%s), %.3f s traced%s; allocator %s\n", r->target->pid,
		r->target->comm, r->duration_s, r->target_exited ? " until it exited" : "",
		r->target->allocator);
	print_execs(r, out);
	fprintf(out, "lost events: %llu%s\n", (unsigned long long)r->lost_total,
		r->lost_total ? " (some counts are low: see docs/json.md, lost_events)" : "");
	fprintf(out, "\nAllocator calls, and the kernel work done inside them\n");
	print_fn_table(r, t, o->all_rows, out);
	fprintf(out, "\nMemory syscalls (\"in alloc\": made inside an allocator call)\n");
	print_sys_table(t, o->all_rows, out);
	fprintf(out,
		"\nPage faults: %llu in user mode (%llu inside allocator calls), %llu in the "
		"kernel on user memory, %llu major (%llu inside allocator calls)\n",
		(unsigned long long)t->faults.user, (unsigned long long)t->faults.in_alloc_calls,
		(unsigned long long)t->faults.kernel_on_user, (unsigned long long)t->faults.major,
		(unsigned long long)t->faults.major_in_alloc_calls);
	{
		uint64_t hits, ns;
		char b1[32];

		overhead(r, &hits, &ns);
		fprintf(out,
			"memstudy's own cost: ~%s over %llu probe hits (~%.1f us per malloc, "
			"~%.1f us per free: included in the latencies above;\n"
			"  %s: entry %.2f us, single-stepped entry %.1f us, return %.2f us, "
			"programs %.2f us)\n",
			fmt_ns(b1, sizeof(b1), ns), (unsigned long long)hits,
			fn_probe_cost_ns(r, &r->target->fn[MS_FN_MALLOC]) / 1e3,
			fn_probe_cost_ns(r, &r->target->fn[MS_FN_FREE]) / 1e3,
			r->costs.measured ? "probe costs measured here" : "probe costs assumed",
			r->costs.entry_emulated_ns / 1e3, r->costs.entry_sstep_ns / 1e3,
			r->costs.return_ns / 1e3, r->costs.programs_ns / 1e3);
	}
	if (r->nphases > 1)
		print_phases(r, out);
	if (r->phases_merged)
		fprintf(out,
			"(%llu phase markers past the %d-phase limit were merged into the last)\n",
			(unsigned long long)r->phases_merged, MS_MAX_PHASES);
	for (i = 0; o->histograms && i < r->target->nfn; i++) {
		if (!t->fn[i].calls)
			continue;
		fprintf(out, "\n%s latency:\n", ms_fn_names[i]);
		hist_print_log2(out, t->fn[i].hist, MS_HIST_SLOTS, "nsecs");
	}
}

void report__print_interval(const struct report *prev, const struct report *now, double secs,
			    FILE *out)
{
	const struct report_phase *a = &prev->total, *b = &now->total;
	uint64_t calls = 0;

	uint64_t frees = 0;

	for (int i = 0; i < now->target->nfn; i++) {
		uint64_t n = b->fn[i].calls - a->fn[i].calls;

		if (ms_fn_specs[i].kind == MS_KIND_FREE)
			frees += n;
		else
			calls += n;
	}
	fprintf(out,
		"%8.1fs  allocs/s %9.0f  frees/s %9.0f  faults/s %8.0f  brk %5llu  mmap %5llu  "
		"munmap %5llu  madvise %5llu  lost %llu\n",
		now->duration_s, calls / secs, frees / secs,
		(b->faults.user + b->faults.kernel_on_user - a->faults.user -
		 a->faults.kernel_on_user) /
		    secs,
		(unsigned long long)(b->sys[MS_SYS_BRK].calls - a->sys[MS_SYS_BRK].calls),
		(unsigned long long)(b->sys[MS_SYS_MMAP].calls - a->sys[MS_SYS_MMAP].calls),
		(unsigned long long)(b->sys[MS_SYS_MUNMAP].calls - a->sys[MS_SYS_MUNMAP].calls),
		(unsigned long long)(b->sys[MS_SYS_MADVISE].calls - a->sys[MS_SYS_MADVISE].calls),
		(unsigned long long)now->lost_total);
	fflush(out);
}

/* JSON ---------------------------------------------------------------------------------- */

#define U64(v) json_object_new_uint64(v)

static json_object *json_hist(const struct ms_fn_stats *f)
{
	json_object *a = json_object_new_array();

	for (unsigned int i = 0; i < MS_HIST_SLOTS; i++) {
		json_object *b;

		if (!f->hist[i])
			continue;
		b = json_object_new_object();
		json_object_object_add(b, "low", U64(hist_slot_low(i)));
		json_object_object_add(b, "high", U64(hist_slot_high(i)));
		json_object_object_add(b, "count", U64(f->hist[i]));
		json_object_array_add(a, b);
	}
	return a;
}

static json_object *json_phase(const struct report *r, const struct report_phase *ph)
{
	json_object *o = json_object_new_object(), *fns = json_object_new_object();
	json_object *sys = json_object_new_object(), *pf = json_object_new_object();
	int i, j;

	for (i = 0; i < r->target->nfn; i++) {
		const struct ms_fn_stats *f = &ph->fn[i];
		const struct target_fn *tf = &r->target->fn[i];
		json_object *fo = json_object_new_object(), *lat = json_object_new_object();
		json_object *k = json_object_new_object(), *ks = json_object_new_object();

		json_object_object_add(fo, "traced", json_object_new_boolean(tf->found));
		if (tf->alias_of >= 0)
			json_object_object_add(fo, "alias_of",
					       json_object_new_string(ms_fn_names[tf->alias_of]));
		json_object_object_add(fo, "calls", U64(f->calls));
		json_object_object_add(fo, "bytes", U64(f->bytes));
		json_object_object_add(fo, "failed", U64(f->failed));
		json_object_object_add(lat, "p50", U64(fn_p(f, 50)));
		json_object_object_add(lat, "p99", U64(fn_p(f, 99)));
		json_object_object_add(lat, "max", U64(f->lat_max_ns));
		json_object_object_add(lat, "sum", U64(f->lat_sum_ns));
		json_object_object_add(lat, "histogram", json_hist(f));
		json_object_object_add(fo, "latency_ns", lat);
		json_object_object_add(k, "page_faults", U64(f->kernel.faults));
		json_object_object_add(k, "major_faults", U64(f->kernel.major_faults));
		for (j = 0; j < MS_SYS_MAX; j++)
			json_object_object_add(ks, ms_sys_names[j], U64(f->kernel.syscalls[j]));
		json_object_object_add(k, "syscalls", ks);
		json_object_object_add(k, "syscall_ns", U64(f->kernel.syscall_ns));
		json_object_object_add(fo, "kernel", k);
		json_object_object_add(fns, ms_fn_names[i], fo);
	}
	for (i = 0; i < MS_SYS_MAX; i++) {
		const struct ms_sys_stats *s = &ph->sys[i];
		json_object *so = json_object_new_object();

		json_object_object_add(so, "calls", U64(s->calls));
		json_object_object_add(so, "in_alloc_calls", U64(s->in_alloc_calls));
		json_object_object_add(so, "failed", U64(s->failed));
		json_object_object_add(so, "ns", U64(s->ns));
		json_object_object_add(so, "bytes", U64(s->bytes));
		json_object_object_add(so, "grow_bytes", U64(s->grow_bytes));
		json_object_object_add(so, "shrink_bytes", U64(s->shrink_bytes));
		json_object_object_add(sys, ms_sys_names[i], so);
	}
	json_object_object_add(pf, "user", U64(ph->faults.user));
	json_object_object_add(pf, "kernel_on_user", U64(ph->faults.kernel_on_user));
	json_object_object_add(pf, "major", U64(ph->faults.major));
	json_object_object_add(pf, "in_alloc_calls", U64(ph->faults.in_alloc_calls));
	json_object_object_add(pf, "major_in_alloc_calls", U64(ph->faults.major_in_alloc_calls));
	json_object_object_add(o, "functions", fns);
	json_object_object_add(o, "syscalls", sys);
	json_object_object_add(o, "page_faults", pf);
	return o;
}

json_object *report__to_json(const struct report *r)
{
	json_object *root = json_phase(r, &r->total), *tg = json_object_new_object();
	json_object *lost = json_object_new_object(), *phases = json_object_new_array();
	static const char *const lost_names[MS_LOST_MAX] = {"ring_buffer", "thread_state"};
	int p;

	json_object_object_add(tg, "pid", json_object_new_int(r->target->pid));
	json_object_object_add(tg, "comm", json_object_new_string(r->target->comm));
	json_object_object_add(tg, "exe", json_object_new_string(r->target->exe));
	json_object_object_add(tg, "allocator", json_object_new_string(r->target->allocator));
	json_object_object_add(tg, "exited", json_object_new_boolean(r->target_exited));
	{
		json_object *ex = json_object_new_array();

		for (int i = 0; i < r->nexecs; i++) {
			json_object *e = json_object_new_object();

			json_object_object_add(e, "t_s", json_object_new_double(r->execs[i].t_s));
			json_object_object_add(e, "exe", json_object_new_string(r->execs[i].exe));
			json_object_object_add(e, "allocator",
					       json_object_new_string(r->execs[i].allocator));
			json_object_object_add(e, "probed",
					       json_object_new_boolean(r->execs[i].probed));
			json_object_array_add(ex, e);
		}
		json_object_object_add(tg, "execs", ex);
		json_object_object_add(tg, "execs_not_listed", U64(r->execs_dropped));
	}
	json_object_object_add(root, "target", tg);
	json_object_object_add(root, "duration_s", json_object_new_double(r->duration_s));
	json_object_object_add(root, "lost_events", U64(r->lost_total));
	for (int i = 0; i < MS_LOST_MAX; i++)
		json_object_object_add(lost, lost_names[i], U64(r->lost[i]));
	json_object_object_add(root, "lost_by_reason", lost);
	for (p = 0; p < r->nphases; p++) {
		json_object *ph = json_phase(r, &r->phases[p]);

		json_object_object_add(ph, "name", json_object_new_string(r->phases[p].name));
		json_object_object_add(
		    ph, "duration_s",
		    json_object_new_double((r->phases[p].end_ns - r->phases[p].start_ns) / 1e9));
		json_object_array_add(phases, ph);
	}
	json_object_object_add(root, "phases", phases);
	json_object_object_add(root, "phases_merged", U64(r->phases_merged));
	{
		json_object *ov = json_object_new_object(), *per = json_object_new_object();
		uint64_t hits, ns;

		overhead(r, &hits, &ns);
		json_object_object_add(ov, "probe_hits", U64(hits));
		json_object_object_add(ov, "estimated_ns", U64(ns));
		for (int i = 0; i < r->target->nfn; i++) {
			const struct target_fn *f = &r->target->fn[i];
			json_object *fo;

			if (!f->found || f->alias_of >= 0)
				continue;
			fo = json_object_new_object();
			json_object_object_add(fo, "offset", U64(f->site.skip));
			json_object_object_add(fo, "file_offset", U64(f->site.offset));
			json_object_object_add(fo, "emulated",
					       json_object_new_boolean(f->site.emulated));
			json_object_object_add(fo, "cost_per_call_ns", U64(fn_probe_cost_ns(r, f)));
			json_object_object_add(per, ms_fn_names[i], fo);
		}
		json_object_object_add(ov, "probes", per);
		{
			json_object *cal = json_object_new_object();

			json_object_object_add(cal, "measured",
					       json_object_new_boolean(r->costs.measured));
			json_object_object_add(cal, "entry_emulated_ns",
					       U64(r->costs.entry_emulated_ns));
			json_object_object_add(cal, "entry_single_step_ns",
					       U64(r->costs.entry_sstep_ns));
			json_object_object_add(cal, "return_ns", U64(r->costs.return_ns));
			json_object_object_add(cal, "programs_ns", U64(r->costs.programs_ns));
			json_object_object_add(ov, "per_hit", cal);
		}
		json_object_object_add(ov, "thread_slots", U64(r->thread_slots));
		json_object_object_add(ov, "threads_in_task_storage",
				       U64(r->threads_in_task_storage));
		json_object_object_add(root, "overhead", ov);
	}
	return root;
}
