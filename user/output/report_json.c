// SPDX-License-Identifier: GPL-2.0
/* The report as one JSON object (docs/json.md is the contract). */
#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "analyse/hist.h"
#include "lib/fmt.h"
#include "lib/json.h"
#include "lib/util.h"
#include "collect/procs.h"
#include "output/report.h"

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

static json_object *json_kwork(const struct ms_kwork *w)
{
	json_object *k = json_object_new_object(), *ks = json_object_new_object();

	json_object_object_add(k, "page_faults", U64(w->faults));
	json_object_object_add(k, "major_faults", U64(w->major_faults));
	for (int j = 0; j < MS_SYS_MAX; j++)
		json_object_object_add(ks, ms_sys_names[j], U64(w->syscalls[j]));
	json_object_object_add(k, "syscalls", ks);
	json_object_object_add(k, "syscall_ns", U64(w->syscall_ns));
	return k;
}

/* The calls glibc made on its own behalf: a part of the function's numbers. */
static json_object *json_own(const struct ms_own_stats *o)
{
	json_object *j = json_object_new_object();

	json_object_object_add(j, "calls", U64(o->calls));
	json_object_object_add(j, "bytes", U64(o->bytes));
	json_object_object_add(j, "latency_sum_ns", U64(o->lat_sum_ns));
	json_object_object_add(j, "kernel", json_kwork(&o->kernel));
	return j;
}

/* A C++ operator's calls per variant (the whole trace's): {"new(size_t)": n, ...}. */
static json_object *json_variants(const struct report *r, int fn)
{
	json_object *o = json_object_new_object();

	for (int v = 0; v < ms_nvariants; v++)
		if (ms_variants[v].fn == fn && target__variant_probed(r->target, v))
			json_object_object_add(o, ms_variants[v].label, U64(r->variant_calls[v]));
	return o;
}

/* FN has variants in the files probed (C++'s operators; an allocator's own API). */
static bool has_variants(const struct report *r, int fn)
{
	for (int v = 0; v < ms_nvariants; v++)
		if (ms_variants[v].fn == fn && r->target->variants[v].found &&
		    target__variant_file(r->target, v)[0])
			return true;
	return false;
}

/* Variants at another's address: counted under that one's name. */
static json_object *json_variant_aliases(const struct report *r, int fn)
{
	const struct target *t = r->target;
	json_object *o = json_object_new_object();

	for (int v = 0; v < ms_nvariants; v++) {
		const struct target_variant *tv = &t->variants[v];

		if (ms_variants[v].fn != fn || !target__variant_file(t, v)[0] || !tv->found)
			continue;
		if (tv->alias_variant >= 0)
			json_object_object_add(
			    o, ms_variants[v].label,
			    json_object_new_string(ms_variants[tv->alias_variant].label));
		else if (tv->alias_of >= 0)
			json_object_object_add(o, ms_variants[v].label,
					       json_object_new_string(t->fn[tv->alias_of].name));
	}
	return o;
}

/* The allocators found: each file with the functions probed in it. */
static json_object *json_allocators(const struct report *r)
{
	const struct target *t = r->target;
	json_object *a = json_object_new_array();
	const char *files[2] = {t->allocator, t->cxx};

	for (int k = 0; k < 2; k++) {
		json_object *o, *fns;

		if (!files[k][0] || (k && !strcmp(files[1], files[0])))
			continue;
		o = json_object_new_object();
		fns = json_object_new_array();
		json_object_object_add(o, "name",
				       json_object_new_string(target__allocator_name(files[k])));
		json_object_object_add(o, "file", json_object_new_string(files[k]));
		for (int f = 0; f < MS_FN_CUSTOM && f < t->nfn; f++) {
			bool cxx = f >= MS_FN_GLIBC_COUNT;

			if (t->fn[f].found && (cxx ? !strcmp(t->cxx, files[k]) : !k))
				json_object_array_add(
				    fns, json_object_new_string(r->target->fn[f].name));
		}
		json_object_object_add(o, "functions", fns);
		json_object_array_add(a, o);
	}
	for (int k = 0; k < t->nfamilies; k++) {
		json_object *o = json_object_new_object(), *fns = json_object_new_array();

		json_object_object_add(o, "name", json_object_new_string(t->families[k].name));
		json_object_object_add(o, "file", json_object_new_string(t->families[k].file));
		json_object_object_add(o, "custom", json_object_new_boolean(true));
		json_object_object_add(o, "builtin_spec",
				       json_object_new_boolean(t->families[k].builtin));
		for (int f = MS_FN_CUSTOM; f < t->nfn; f++)
			if (t->fn[f].family == k)
				json_object_array_add(fns, json_object_new_string(t->fn[f].name));
		json_object_object_add(o, "functions", fns);
		json_object_array_add(a, o);
	}
	return a;
}

/* Every probe the kernel must single-step (~10x an emulated one): named, not only warned. */
static json_object *json_single_stepped(const struct report *r)
{
	const char *names[MS_FN_MAX + MS_VARIANTS_MAX + MS_STEP_MAX];
	int n = report__single_stepped(r, true, names, sizeof(names) / sizeof(*names));
	json_object *a = json_object_new_array();

	for (int i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(names[i]));
	return a;
}

static json_object *json_phase(const struct report *r, const struct report_phase *ph)
{
	json_object *o = json_object_new_object(), *fns = json_object_new_object();
	json_object *sys = json_object_new_object(), *pf = json_object_new_object();
	int i;

	for (i = 0; i < r->target->nfn; i++) {
		const struct ms_fn_stats *f = &ph->fn[i];
		const struct target_fn *tf = &r->target->fn[i];
		json_object *fo = json_object_new_object(), *lat = json_object_new_object();

		json_object_object_add(fo, "traced",
				       json_object_new_boolean(tf->found || tf->elsewhere));
		if (tf->alias_of >= 0)
			json_object_object_add(
			    fo, "alias_of",
			    json_object_new_string(r->target->fn[tf->alias_of].name));
		json_object_object_add(fo, "calls", U64(f->calls));
		json_object_object_add(fo, "bytes", U64(f->bytes));
		json_object_object_add(fo, "failed", U64(f->failed));
		json_object_object_add(lat, "p50", U64(report__percentile(f, 50)));
		json_object_object_add(lat, "p99", U64(report__percentile(f, 99)));
		json_object_object_add(lat, "max", U64(f->lat_max_ns));
		json_object_object_add(lat, "sum", U64(f->lat_sum_ns));
		json_object_object_add(lat, "histogram", json_hist(f));
		json_object_object_add(fo, "latency_ns", lat);
		json_object_object_add(fo, "kernel", json_kwork(&f->kernel));
		if (r->own_calls)
			json_object_object_add(fo, "internal_calls", json_own(&ph->own[i]));
		if (ph == &r->total && has_variants(r, i)) {
			json_object_object_add(fo, "variants", json_variants(r, i));
			json_object_object_add(fo, "variants_counted_elsewhere",
					       json_variant_aliases(r, i));
		}
		json_object_object_add(fns, r->target->fn[i].name, fo);
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

/* functions.<fn>.internal_steps[], and what was probed (glibc_steps). */
static void add_steps(const struct report *r, json_object *root)
{
	const struct glibc_steps *gs = &r->target->steps;
	json_object *fns = json_object_object_get(root, "functions"), *g, *names;

	g = json_object_new_object();
	names = json_object_new_array();
	json_object_object_add(g, "traced", json_object_new_boolean(r->steps_traced));
	json_object_object_add(g, "debug_file", json_object_new_string(gs->debug_file));
	for (int k = 0; k < MS_STEP_COUNT; k++)
		if (gs->found[k])
			json_object_array_add(names, json_object_new_string(ms_step_names[k]));
	json_object_object_add(g, "probed", names);
	if (r->target->is_glibc && !gs->debug_file[0])
		json_object_object_add(g, "hint", json_object_new_string(glibc_steps_hint));
	json_object_object_add(root, "glibc_steps", g);
	for (int f = 0; r->steps_traced && f < r->target->nfn; f++) {
		json_object *fo = json_object_object_get(fns, r->target->fn[f].name);
		json_object *a = json_object_new_array();
		uint64_t total = r->total.fn[f].lat_sum_ns;

		for (int k = 0; k < MS_STEP_COUNT; k++) {
			const struct ms_step_stats *st = &r->steps[f][k];
			json_object *so;

			if (!st->calls)
				continue;
			so = json_object_new_object();
			json_object_object_add(so, "name",
					       json_object_new_string(ms_step_names[k]));
			json_object_object_add(so, "calls", U64(st->calls));
			json_object_object_add(so, "ns", U64(st->ns));
			json_object_object_add(
			    so, "share_of_time",
			    json_object_new_double(total ? (double)st->ns / total : 0));
			json_object_array_add(a, so);
		}
		if (fo)
			json_object_object_add(fo, "internal_steps", a);
		else
			json_object_put(a);
	}
}

static json_object *json_threads(const struct report *r)
{
	json_object *a = json_object_new_array();

	for (int i = 0; i < r->nthreads; i++) {
		const struct ms_thread_work *w = &r->threads[i];
		json_object *o = json_object_new_object(), *fns = json_object_new_object();
		json_object *sys = json_object_new_object();

		json_object_object_add(o, "tid", U64(w->tid));
		json_object_object_add(
		    o, "comm",
		    json_object_new_string_len(w->comm, strnlen(w->comm, sizeof(w->comm))));
		json_object_object_add(o, "exited", json_object_new_boolean(w->exited));
		for (int f = 0; f < r->target->nfn; f++) {
			json_object *fo;

			if (!w->fn_calls[f])
				continue;
			fo = json_object_new_object();
			json_object_object_add(fo, "calls", U64(w->fn_calls[f]));
			json_object_object_add(fo, "bytes", U64(w->fn_bytes[f]));
			json_object_object_add(fo, "latency_sum_ns", U64(w->fn_ns[f]));
			json_object_object_add(fo, "internal_calls", U64(w->fn_own_calls[f]));
			json_object_object_add(fns, r->target->fn[f].name, fo);
		}
		json_object_object_add(o, "functions", fns);
		for (int k = 0; k < MS_SYS_MAX; k++)
			json_object_object_add(sys, ms_sys_names[k], U64(w->syscalls[k]));
		json_object_object_add(o, "syscalls", sys);
		json_object_object_add(o, "syscall_ns", U64(w->syscall_ns));
		json_object_object_add(o, "page_faults", U64(w->faults));
		json_object_object_add(o, "major_faults", U64(w->major_faults));
		json_object_array_add(a, o);
	}
	return a;
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
	json_object_object_add(tg, "cxx", json_object_new_string(r->target->cxx));
	json_object_object_add(root, "target", tg);
	json_object_object_add(root, "allocators", json_allocators(r));
	add_steps(r, root);
	json_object_object_add(root, "threads", json_threads(r));
	json_object_object_add(root, "threads_without_numbers", U64(r->threads_without_numbers));
	if (r->procs) {
		json_object *f = json_object_new_object();

		json_object_object_add(f, "processes", U64(r->procs->n));
		json_object_object_add(f, "map_full", U64(r->follow_map_full));
		json_object_object_add(f, "attach_failures", U64(r->procs->attach_failures));
		json_object_object_add(f, "functions_without_slot", U64(r->procs->slots_lost));
		json_object_object_add(root, "follow", f);
	}
	json_object_object_add(root, "processes", report__procs_json(r));
	json_object_object_add(root, "children_not_followed", U64(r->children_not_followed));
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

		report__overhead(r, &hits, &ns);
		json_object_object_add(ov, "probe_hits", U64(hits));
		json_object_object_add(ov, "estimated_ns", U64(ns));
		for (int i = 0; i < r->target->nfn; i++) {
			const struct target_fn *f = &r->target->fn[i];
			json_object *fo;

			if (!f->found || f->alias_of >= 0)
				continue;
			fo = json_object_new_object();
			json_object_object_add(
			    fo, "file", json_object_new_string(target__fn_file(r->target, i)));
			json_object_object_add(fo, "offset", U64(f->site.skip));
			json_object_object_add(fo, "file_offset", U64(f->site.offset));
			json_object_object_add(fo, "emulated",
					       json_object_new_boolean(f->site.emulated));
			json_object_object_add(fo, "cost_per_call_ns",
					       U64(report__probe_cost_ns(r, f)));
			json_object_object_add(per, r->target->fn[i].name, fo);
		}
		json_object_object_add(ov, "probes", per);
		per = json_object_new_object();
		for (int k = 0; r->steps_traced && k < MS_STEP_COUNT; k++) {
			const struct probe_site *site = &r->target->steps.site[k];
			json_object *so;

			if (!r->target->steps.found[k])
				continue;
			so = json_object_new_object();
			json_object_object_add(so, "file_offset", U64(site->offset));
			json_object_object_add(so, "emulated",
					       json_object_new_boolean(site->emulated));
			json_object_object_add(per, ms_step_names[k], so);
		}
		/* glibc's internal steps: probed in libc too (libc6-dbg) */
		json_object_object_add(ov, "step_probes", per);
		json_object_object_add(ov, "single_stepped", json_single_stepped(r));
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
