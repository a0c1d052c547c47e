// SPDX-License-Identifier: GPL-2.0
/*
 * --follow: the processes of the traced tree. Each one's calls come from its threads'
 * numbers (thread_work, by tgid); the tables of the report are the whole tree's. Many
 * processes of one executable (a build's hundred cc1 runs) are one row, with their spread.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <json-c/json.h>

#include "analyse/peralloc_int.h"
#include "collect/procs.h"
#include "lib/fmt.h"
#include "output/report.h"

#define U64(x) json_object_new_uint64(x)

/* One process's numbers, summed over its threads. */
struct proc_sums {
	uint64_t calls[MS_FN_MAX], bytes[MS_FN_MAX], ns[MS_FN_MAX];
	uint64_t all_calls, all_bytes, syscalls[MS_SYS_MAX], faults, threads;
};

static void sum_proc(const struct report *r, const struct proc *p, struct proc_sums *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < r->nthreads; i++) {
		const struct ms_thread_work *w = &r->threads[i];

		/* a pid reused after an exit: threads seen while this process lived */
		if (w->tgid != (uint32_t)p->pid)
			continue;
		s->threads++;
		for (int f = 0; f < r->target->nfn; f++) {
			s->calls[f] += w->fn_calls[f];
			s->bytes[f] += w->fn_bytes[f];
			s->ns[f] += w->fn_ns[f];
			s->all_calls += w->fn_calls[f];
			s->all_bytes += w->fn_bytes[f];
		}
		for (int k = 0; k < MS_SYS_MAX; k++)
			s->syscalls[k] += w->syscalls[k];
		s->faults += w->faults;
	}
}

/* A process's (or an executable's, summed) calls of one function as the report's
 * statistics, for its percentiles. */
static void fn_stats_of(const struct ms_proc_fn *v, struct ms_fn_stats *f)
{
	memset(f, 0, sizeof(*f));
	f->calls = v->calls;
	f->lat_sum_ns = v->lat_sum_ns;
	f->lat_max_ns = v->lat_max_ns;
	memcpy(f->hist, v->hist, sizeof(f->hist));
}

static void proc_fn_add(struct ms_proc_fn *to, const struct ms_proc_fn *v)
{
	to->calls += v->calls;
	to->lat_sum_ns += v->lat_sum_ns;
	if (v->lat_max_ns > to->lat_max_ns)
		to->lat_max_ns = v->lat_max_ns;
	to->sys_ns += v->sys_ns;
	to->syscalls += v->syscalls;
	to->faults += v->faults;
	for (int k = 0; k < MS_HIST_SLOTS; k++)
		to->hist[k] += v->hist[k];
}

/* "latency_ns" {p50, p99, max} and "kernel" {syscall_ns, syscalls, page_faults} of V. */
static void proc_fn_json(json_object *fo, const struct ms_proc_fn *v)
{
	json_object *lat = json_object_new_object(), *k = json_object_new_object();
	struct ms_fn_stats f;

	fn_stats_of(v, &f);
	json_object_object_add(lat, "p50", U64(report__percentile(&f, 50)));
	json_object_object_add(lat, "p99", U64(report__percentile(&f, 99)));
	json_object_object_add(lat, "max", U64(v->lat_max_ns));
	json_object_object_add(fo, "latency_ns", lat);
	json_object_object_add(k, "syscall_ns", U64(v->sys_ns));
	json_object_object_add(k, "syscalls", U64(v->syscalls));
	json_object_object_add(k, "page_faults", U64(v->faults));
	json_object_object_add(fo, "kernel", k);
}

static const char *proc_exe(const struct proc *p)
{
	return p->img ? p->img->t.exe : "(no allocator found)";
}

static double since(const struct report *r, uint64_t ns)
{
	return ns > r->total.start_ns ? (ns - r->total.start_ns) / 1e9 : 0;
}

json_object *report__procs_json(const struct report *r)
{
	const struct procs *ps = r->procs;
	json_object *a = json_object_new_array();

	for (int i = 0; ps && i < ps->n; i++) {
		const struct proc *p = &ps->p[i];
		json_object *o = json_object_new_object(), *fns = json_object_new_object();
		json_object *sys = json_object_new_object(), *al = json_object_new_array();
		struct proc_sums s;

		sum_proc(r, p, &s);
		json_object_object_add(o, "pid", json_object_new_int(p->pid));
		json_object_object_add(o, "ppid", json_object_new_int(p->ppid));
		json_object_object_add(o, "comm", json_object_new_string(p->comm));
		json_object_object_add(o, "exe", json_object_new_string(proc_exe(p)));
		if (p->img && p->img->probed) {
			json_object_array_add(al, json_object_new_string(p->img->t.allocator));
			if (p->img->t.cxx[0] && strcmp(p->img->t.cxx, p->img->t.allocator))
				json_object_array_add(al, json_object_new_string(p->img->t.cxx));
		}
		json_object_object_add(o, "allocators", al);
		json_object_object_add(o, "start_s", json_object_new_double(since(r, p->start_ns)));
		json_object_object_add(
		    o, "end_s", p->exited ? json_object_new_double(since(r, p->end_ns)) : NULL);
		/* its exit status, or the signal that ended it (wait()'s status, split) */
		json_object_object_add(o, "exit",
				       p->exited && WIFEXITED(p->exit_code)
					   ? json_object_new_int(WEXITSTATUS(p->exit_code))
					   : NULL);
		json_object_object_add(o, "signal",
				       p->exited && WIFSIGNALED(p->exit_code)
					   ? json_object_new_int(WTERMSIG(p->exit_code))
					   : NULL);
		json_object_object_add(o, "execs", json_object_new_int(p->execs));
		json_object_object_add(o, "probes_attach_us",
				       json_object_new_double(p->attach_ns / 1e3));
		json_object_object_add(o, "probes_failed",
				       json_object_new_boolean(p->attach_failed));
		/* stopped until its probes were in place: nothing could run unprobed; unknown
		 * when its probes failed or its image had no allocator symbols to probe */
		json_object_object_add(o, "missed_calls_bound",
				       p->attach_failed || (p->img && !p->img->probed) ? NULL
										       : U64(0));
		json_object_object_add(o, "threads", U64(s.threads));
		for (int f = 0; f < r->target->nfn; f++) {
			json_object *fo;

			if (!s.calls[f])
				continue;
			fo = json_object_new_object();
			json_object_object_add(fo, "calls", U64(s.calls[f]));
			json_object_object_add(fo, "bytes", U64(s.bytes[f]));
			json_object_object_add(fo, "latency_sum_ns", U64(s.ns[f]));
			if (p->fn && p->fn[f].calls)
				proc_fn_json(fo, &p->fn[f]);
			json_object_object_add(fns, r->target->fn[f].name, fo);
		}
		json_object_object_add(o, "functions", fns);
		for (int k = 0; k < MS_SYS_MAX; k++)
			json_object_object_add(sys, ms_sys_names[k], U64(s.syscalls[k]));
		json_object_object_add(o, "syscalls", sys);
		json_object_object_add(o, "page_faults", U64(s.faults));
		if (p->pa) /* --per-allocation: its own sites, blocks and faults */
			json_object_object_add(o, "per_allocation", peralloc__json(p->pa));
		json_object_array_add(a, o);
	}
	return a;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* --per-allocation: the processes besides the target, each with its own collector. */
static void print_procs_peralloc(const struct procs *ps, FILE *out, int top)
{
	int shown = 0;

	for (int i = 1; i < ps->n; i++) {
		const struct pa_stats *st = ps->p[i].pa ? peralloc__stats(ps->p[i].pa) : NULL;
		uint64_t faults = 0;

		if (!st)
			continue;
		if (!shown++)
			fprintf(out,
				"Per allocation, per process (the sections above are the target's; "
				"each process's in the JSON's processes[].per_allocation):\n"
				"%8s %-16s %10s %10s %10s %10s %10s\n",
				"pid", "comm", "allocs", "frees", "live end", "inherited",
				"faults");
		if (shown > top)
			continue;
		for (int k = 0; k < PA_KIND_MAX; k++)
			faults += st->kind[k].faults;
		fprintf(out, "%8d %-16s %10llu %10llu %10llu %10llu %10llu\n", ps->p[i].pid,
			ps->p[i].comm, (unsigned long long)st->allocs,
			(unsigned long long)(st->frees + st->pool_frees),
			(unsigned long long)st->live_at_end, (unsigned long long)st->inherited,
			(unsigned long long)faults);
	}
	if (shown > top)
		fprintf(out, "(%d more processes: --top N, or the JSON)\n", shown - top);
}

/* Per executable and function, its processes' calls summed: latency percentiles and the
 * kernel work inside them. */
static void print_exe_functions(const struct report *r, FILE *out, int top)
{
	const struct procs *ps = r->procs;
	bool *done = calloc(ps->n, sizeof(*done));
	char b1[32], b2[32], b3[32], b4[32];
	int rows = 0;

	if (!done)
		return;
	for (int i = 0; i < ps->n; i++) {
		struct ms_proc_fn sum[MS_FN_MAX];

		if (done[i])
			continue;
		memset(sum, 0, sizeof(sum));
		for (int j = i; j < ps->n; j++) {
			if (done[j] || strcmp(proc_exe(&ps->p[j]), proc_exe(&ps->p[i])))
				continue;
			done[j] = true;
			for (int f = 0; ps->p[j].fn && f < r->target->nfn; f++)
				proc_fn_add(&sum[f], &ps->p[j].fn[f]);
		}
		for (int f = 0; f < r->target->nfn; f++) {
			struct ms_fn_stats st;

			if (!sum[f].calls)
				continue;
			if (!rows++)
				fprintf(out, "%-32s %-14s %10s %9s %9s %9s %10s %7s\n",
					"executable, per function", "", "calls", "p50", "p99",
					"max", "sys time", "faults");
			if (rows > top * 2)
				continue;
			fn_stats_of(&sum[f], &st);
			fprintf(out, "%-32.32s %-14.14s %10llu %9s %9s %9s %10s %7llu\n",
				proc_exe(&ps->p[i]), r->target->fn[f].name,
				(unsigned long long)sum[f].calls,
				fmt_ns(b1, sizeof(b1), report__percentile(&st, 50)),
				fmt_ns(b2, sizeof(b2), report__percentile(&st, 99)),
				fmt_ns(b3, sizeof(b3), sum[f].lat_max_ns),
				fmt_ns(b4, sizeof(b4), sum[f].sys_ns),
				(unsigned long long)sum[f].faults);
		}
	}
	if (rows > top * 2)
		fprintf(out, "(%d more rows: --top N, or the JSON's processes[].functions)\n",
			rows - top * 2);
	free(done);
}

/* One row per executable: how many processes, their calls and bytes, the spread. */
void report__print_procs(const struct report *r, FILE *out, int top)
{
	const struct procs *ps = r->procs;
	bool *done;
	char b1[32], b2[32];
	int rows = 0;

	if (!ps)
		return;
	done = calloc(ps->n, sizeof(*done));
	if (!done)
		return;
	fprintf(out, "\nProcesses followed: %d (the tables above are their sum)\n", ps->n);
	fprintf(out, "%-40s %6s %10s %10s   %s\n", "executable", "procs", "calls", "bytes",
		"calls per process: min / median / max; exits != 0");
	for (int i = 0; i < ps->n; i++) {
		uint64_t *per = calloc(ps->n, sizeof(*per)), calls = 0, bytes = 0;
		int n = 0, bad = 0;

		if (done[i] || !per) {
			free(per);
			continue;
		}
		for (int j = i; j < ps->n; j++) {
			struct proc_sums s;

			if (done[j] || strcmp(proc_exe(&ps->p[j]), proc_exe(&ps->p[i])))
				continue;
			done[j] = true;
			sum_proc(r, &ps->p[j], &s);
			per[n++] = s.all_calls;
			calls += s.all_calls;
			bytes += s.all_bytes;
			bad += ps->p[j].exited && ps->p[j].exit_code;
		}
		qsort(per, n, sizeof(*per), cmp_u64);
		if (rows++ < top)
			fprintf(out, "%-40.40s %6d %10llu %10s   %llu / %llu / %llu; %d\n",
				proc_exe(&ps->p[i]), n, (unsigned long long)calls,
				fmt_bytes(b1, sizeof(b1), bytes), (unsigned long long)per[0],
				(unsigned long long)per[n / 2], (unsigned long long)per[n - 1],
				bad);
		free(per);
	}
	if (rows > top)
		fprintf(out, "(%d more executables: --top N, or the JSON's processes[])\n",
			rows - top);
	if (ps->nlat) {
		uint64_t *l = malloc(ps->nlat * sizeof(*l));

		if (l) {
			memcpy(l, ps->lat_ns, ps->nlat * sizeof(*l));
			qsort(l, ps->nlat, sizeof(*l), cmp_u64);
			fprintf(out,
				"Each new process waited for its probes (stopped at fork or exec): "
				"median %s, max %s over %d\n",
				fmt_ns(b1, sizeof(b1), l[ps->nlat / 2]),
				fmt_ns(b2, sizeof(b2), l[ps->nlat - 1]), ps->nlat);
			free(l);
		}
	}
	print_exe_functions(r, out, top);
	print_procs_peralloc(ps, out, top);
	if (ps->attach_failures)
		fprintf(out, "memstudy could not probe %llu processes: their calls are missing\n",
			(unsigned long long)ps->attach_failures);
	if (ps->unresolved_images)
		fprintf(out, "%llu images had no allocator to probe (a static, stripped program)\n",
			(unsigned long long)ps->unresolved_images);
	if (ps->slots_lost)
		fprintf(out,
			"%llu custom allocator functions of exec'd images were not probed: the "
			"tree has slots for %d functions\n",
			(unsigned long long)ps->slots_lost, MS_FN_MAX);
	free(done);
}
