// SPDX-License-Identifier: GPL-2.0
/* The report as text: tables, log2 histograms, the live view of --interval. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "analyse/hist.h"
#include "lib/fmt.h"
#include "lib/json.h"
#include "lib/util.h"
#include "output/report.h"

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
		char name[2 * SPEC_SYM_LEN];

		if (!tf->found && i >= MS_FN_GLIBC_COUNT && !r->target->cxx[0])
			continue; /* no C++ runtime in the program */
		if (!tf->found) {
			if (all)
				fprintf(out, "%-22s (not defined in the allocator: not traced)\n",
					r->target->fn[i].name);
			else
				appendf(missing, sizeof(missing), "%s%s", missing[0] ? ", " : "",
					r->target->fn[i].name);
			continue;
		}
		if (tf->alias_of >= 0)
			continue; /* its calls are in the row of the function it aliases */
		if (!f->calls && !all) {
			appendf(quiet, sizeof(quiet), "%s%s", quiet[0] ? ", " : "",
				r->target->fn[i].name);
			continue;
		}
		snprintf(name, sizeof(name), "%s", r->target->fn[i].name);
		for (int j = 0; j < r->target->nfn; j++)
			if (r->target->fn[j].alias_of == i)
				snprintf(name, sizeof(name), "%s/%s", r->target->fn[i].name,
					 r->target->fn[j].name);
		fprintf(out, "%-22s %10llu %10s %6llu %9s %9s %9s | %7llu %6llu %8llu %9s\n", name,
			(unsigned long long)f->calls, fmt_bytes(b1, sizeof(b1), f->bytes),
			(unsigned long long)f->failed,
			fmt_ns(b2, sizeof(b2), report__percentile(f, 50)),
			fmt_ns(b3, sizeof(b3), report__percentile(f, 99)),
			fmt_ns(b4, sizeof(b4), f->lat_max_ns), (unsigned long long)f->kernel.faults,
			(unsigned long long)f->kernel.major_faults,
			(unsigned long long)kwork_syscalls(&f->kernel),
			fmt_ns(b5, sizeof(b5), f->kernel.syscall_ns));
	}
	if (quiet[0])
		fprintf(out, "(never called: %s; --all lists every function)\n", quiet);
	if (missing[0])
		fprintf(out, "(not defined in the allocator, so not traced: %s)\n", missing);
}

/* C++'s operators: the calls of each variant (nothrow, sized, aligned). */
static void print_variants(const struct report *r, FILE *out)
{
	for (int f = 0; f < r->target->nfn; f++) {
		bool any = false;

		for (int v = 0; v < ms_nvariants; v++) {
			if (ms_variants[v].fn != f || !r->variant_calls[v])
				continue;
			fprintf(out, "%s %s %llu", any ? "," : "  variants:", ms_variants[v].label,
				(unsigned long long)r->variant_calls[v]);
			any = true;
		}
		if (any)
			fputc('\n', out);
	}
}

/* Probes the kernel single-steps (~10x an emulated one), named in the report itself. */
static void print_single_stepped(const struct report *r, FILE *out)
{
	const char *stepped[MS_FN_MAX + MS_VARIANTS_MAX];
	int n = report__single_stepped(r, false, stepped, sizeof(stepped) / sizeof(*stepped));
	char names[512] = "";

	for (int i = 0; i < n; i++)
		appendf(names, sizeof(names), "%s%s", i ? ", " : "", stepped[i]);
	if (names[0])
		fprintf(out,
			"(single-stepped probes, ~10x an emulated one per call, included in the "
			"latencies: %s; --dry-run says why)\n",
			names);
}

/* "of which N by glibc itself", per function, with the kernel work of those calls. */
static void print_own_calls(const struct report *r, const struct report_phase *ph, FILE *out)
{
	const char *who = target__allocator_name(r->target->allocator);
	char b[32];

	for (int i = 0; r->own_calls && i < r->target->nfn; i++) {
		const struct ms_own_stats *o = &ph->own[i];

		if (!o->calls)
			continue;
		fprintf(out,
			"  %s: of which %llu by %s itself (called from inside %s or ld.so%s), "
			"%llu faults, %llu syscalls (%s) inside them\n",
			r->target->fn[i].name, (unsigned long long)o->calls, who,
			r->target->is_glibc ? "libc" : who,
			r->target->is_glibc ? ": thread exit, stdio, dlopen..." : "",
			(unsigned long long)o->kernel.faults, /* major faults are of these */
			(unsigned long long)kwork_syscalls(&o->kernel),
			fmt_ns(b, sizeof(b), o->kernel.syscall_ns));
	}
}

/* Where each function's time went among glibc's internal steps (libc6-dbg). */
static void print_steps(const struct report *r, FILE *out)
{
	const struct glibc_steps *gs = &r->target->steps;
	bool any = false;
	char b[32], p[32];

	if (r->target->is_glibc && !gs->debug_file[0]) {
		fprintf(out, "\n(glibc's internal steps are not shown: %s)\n", glibc_steps_hint);
		return;
	}
	for (int f = 0; r->steps_traced && f < r->target->nfn; f++) {
		for (int k = 0; k < MS_STEP_COUNT; k++) {
			const struct ms_step_stats *st = &r->steps[f][k];
			uint64_t total = r->total.fn[f].lat_sum_ns;

			if (!st->calls)
				continue;
			if (!any)
				fprintf(out,
					"\nglibc's internal steps inside the calls (from "
					"libc6-dbg's symbols; a step's time includes the "
					"steps it calls)\n%-22s %-20s %10s %10s %9s\n",
					"function", "step", "calls", "time", "of its time");
			any = true;
			fprintf(out, "%-22s %-20s %10llu %10s %9s\n", r->target->fn[f].name,
				ms_step_names[k], (unsigned long long)st->calls,
				fmt_ns(b, sizeof(b), st->ns),
				fmt_pct(p, sizeof(p), total ? (double)st->ns / total : 0));
		}
	}
}

static int by_calls_desc(const void *a, const void *b, void *ctx)
{
	const struct ms_thread_work *x = a, *y = b;
	int nfn = *(int *)ctx;
	uint64_t cx = 0, cy = 0;

	for (int f = 0; f < nfn; f++) {
		cx += x->fn_calls[f];
		cy += y->fn_calls[f];
	}
	return cx < cy ? 1 : cx > cy ? -1 : 0;
}

void report__print_threads(const struct report *r, FILE *out, int top)
{
	struct ms_thread_work *v;
	int nfn = r->target->nfn, shown = 0;

	if (r->nthreads < 2)
		return; /* one thread: the tables above are its own */
	v = malloc(r->nthreads * sizeof(*v));
	if (!v)
		return;
	memcpy(v, r->threads, r->nthreads * sizeof(*v));
	qsort_r(v, r->nthreads, sizeof(*v), by_calls_desc, &nfn);
	fprintf(out, "\nThreads (%d; by allocator calls)\n%-8s %-16s %10s %10s %10s %10s %9s %8s\n",
		r->nthreads, "tid", "comm", "malloc", "free", "other", "by glibc", "syscalls",
		"faults");
	for (int i = 0; i < r->nthreads && shown < top; i++, shown++) {
		const struct ms_thread_work *w = &v[i];
		uint64_t other = 0, own = 0, sys = 0;

		for (int f = 0; f < nfn; f++) {
			if (f != MS_FN_MALLOC && f != MS_FN_FREE)
				other += w->fn_calls[f];
			own += w->fn_own_calls[f];
		}
		for (int k = 0; k < MS_SYS_MAX; k++)
			sys += w->syscalls[k];
		fprintf(out, "%-8u %-16.16s %10llu %10llu %10llu %10llu %9llu %8llu%s\n", w->tid,
			w->comm, (unsigned long long)w->fn_calls[MS_FN_MALLOC],
			(unsigned long long)w->fn_calls[MS_FN_FREE], (unsigned long long)other,
			(unsigned long long)own, (unsigned long long)sys,
			(unsigned long long)w->faults, /* major faults are of these */
			w->exited ? "" : " (live)");
	}
	if (r->nthreads > shown)
		fprintf(out, "(%d more threads in the JSON's threads[])\n", r->nthreads - shown);
	if (r->threads_without_numbers)
		fprintf(out, "(%llu threads past the first %d have no numbers of their own)\n",
			(unsigned long long)r->threads_without_numbers, r->nthreads);
	free(v);
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
	for (i = 0; i < r->target->nfamilies; i++)
		fprintf(out, "%s %s in %s (%s)\n",
			i ? "     and" : "custom allocators:", r->target->families[i].name,
			r->target->families[i].file,
			r->target->families[i].builtin ? "built-in spec" : "your spec");
	print_execs(r, out);
	if (r->children_not_followed)
		fprintf(out,
			"children: the target's tree forked %llu processes, not traced (--follow "
			"traces them)\n",
			(unsigned long long)r->children_not_followed);
	fprintf(out, "lost events: %llu%s\n", (unsigned long long)r->lost_total,
		r->lost_total ? " (some counts are low: see docs/json.md, lost_events)" : "");
	fprintf(out, "\nAllocator calls, and the kernel work done inside them\n");
	print_fn_table(r, t, o->all_rows, out);
	print_variants(r, out);
	print_single_stepped(r, out);
	print_own_calls(r, t, out);
	print_steps(r, out);
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

		report__overhead(r, &hits, &ns);
		fprintf(out,
			"memstudy's own cost: ~%s over %llu probe hits (~%.1f us per malloc, "
			"~%.1f us per free: included in the latencies above;\n"
			"  %s: entry %.2f us, single-stepped entry %.1f us, return %.2f us, "
			"programs %.2f us)\n",
			fmt_ns(b1, sizeof(b1), ns), (unsigned long long)hits,
			report__probe_cost_ns(r, &r->target->fn[MS_FN_MALLOC]) / 1e3,
			report__probe_cost_ns(r, &r->target->fn[MS_FN_FREE]) / 1e3,
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
		fprintf(out, "\n%s latency:\n", r->target->fn[i].name);
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
		else if (ms_fn_specs[i].kind != MS_KIND_OTHER)
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
