// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "analyse/peralloc.h"
#include "analyse/slowcalls.h"
#include "attach/tracer.h"
#include "collect/events.h"
#include "collect/summary.h"
#include "lib/util.h"
#include "memstudy.skel.h"
#include "output/report.h"

/* Sum the per-CPU values of one map slot, WORDS u64 fields, into OUT; the CPUs' values
 * stay in SCRATCH for fields that are not sums. */
static int read_percpu(struct bpf_map *map, uint32_t key, uint64_t *out, size_t words,
		       void *scratch, int ncpus)
{
	size_t vsize = bpf_map__value_size(map);
	int cpu;

	if (bpf_map__lookup_elem(map, &key, sizeof(key), scratch, vsize * ncpus, 0))
		return -1;
	memset(out, 0, words * 8);
	for (cpu = 0; cpu < ncpus; cpu++) {
		const uint64_t *v = (const uint64_t *)((char *)scratch + cpu * vsize);

		for (size_t i = 0; i < words; i++)
			out[i] += v[i];
	}
	return 0;
}

static int read_fn(struct memstudy_bpf *s, uint32_t key, struct ms_fn_stats *f, void *scratch,
		   int ncpus)
{
	if (read_percpu(s->maps.fn_stats, key, (uint64_t *)f, sizeof(*f) / 8, scratch, ncpus))
		return -1;
	/* lat_max is a maximum, not a sum: take the largest CPU's */
	f->lat_max_ns = 0;
	for (int cpu = 0; cpu < ncpus; cpu++) {
		const struct ms_fn_stats *c =
		    (const struct ms_fn_stats *)((char *)scratch + cpu * sizeof(*c));

		if (c->lat_max_ns > f->lat_max_ns)
			f->lat_max_ns = c->lat_max_ns;
	}
	return 0;
}

int collect__summary(struct tracer *tr, const struct event_sink *ev, struct report *r)
{
	struct memstudy_bpf *s = tracer__skel(tr);
	int ncpus = libbpf_num_possible_cpus(), p, i, np, err = -1;
	void *scratch = calloc(ncpus, sizeof(struct ms_fn_stats));
	uint64_t end = mono_ns(), start = tracer__start_ns(tr);

	if (!scratch)
		return -1;
	memset(r, 0, sizeof(*r));
	r->target = tracer__target(tr);
	r->duration_s = (end - start) / 1e9;
	np = s->bss->cur_phase + 1;
	r->nphases = np < MS_MAX_PHASES ? np : MS_MAX_PHASES;
	r->phases_merged = s->bss->phase_overflow;
	r->thread_slots = bpf_map__max_entries(s->maps.thread_slots);
	r->threads_in_task_storage = s->bss->slot_spills;
	for (p = 0; p < r->nphases; p++) {
		struct report_phase *ph = &r->phases[p];

		snprintf(ph->name, sizeof(ph->name), "%s",
			 p < ev->nphases && ev->phase_names[p][0] ? ev->phase_names[p] : "?");
		ph->start_ns = p ? ev->phase_start[p] : start;
		for (i = 0; i < r->target->nfn; i++)
			if (read_fn(s, p * s->rodata->fn_slots + i, &ph->fn[i], scratch, ncpus))
				goto out;
		for (i = 0; i < r->target->nfn; i++)
			if (read_percpu(s->maps.own_stats, p * s->rodata->fn_slots + i,
					(uint64_t *)&ph->own[i], sizeof(ph->own[i]) / 8, scratch,
					ncpus))
				goto out;
		for (i = 0; i < MS_SYS_MAX; i++)
			if (read_percpu(s->maps.sys_stats, p * MS_SYS_MAX + i,
					(uint64_t *)&ph->sys[i], sizeof(ph->sys[i]) / 8, scratch,
					ncpus))
				goto out;
		if (read_percpu(s->maps.fault_stats, p, (uint64_t *)&ph->faults,
				sizeof(ph->faults) / 8, scratch, ncpus))
			goto out;
	}
	for (p = 0; p < r->nphases; p++)
		r->phases[p].end_ns = p + 1 < r->nphases ? r->phases[p + 1].start_ns : end;
	for (i = 0; i < MS_LOST_MAX; i++) {
		if (read_percpu(s->maps.lost, i, &r->lost[i], 1, scratch, ncpus))
			goto out;
		r->lost_total += r->lost[i];
	}
	r->own_calls = s->rodata->own_calls;
	for (i = 0; i < ms_nvariants; i++)
		if (read_percpu(s->maps.variant_calls, i, &r->variant_calls[i], 1, scratch, ncpus))
			goto out;
	report__sum(r);
	err = 0;
out:
	free(scratch);
	return err;
}

int collect__details(struct tracer *tr, struct report *r)
{
	struct memstudy_bpf *s = tracer__skel(tr);
	int ncpus = libbpf_num_possible_cpus(), err = -1;
	void *scratch = calloc(ncpus, sizeof(struct ms_step_stats));
	uint32_t seen = s->bss->threads_seen, max = s->rodata->thread_work_max;

	if (!scratch)
		return -1;
	r->steps_traced = tracer__steps_traced(tr);
	for (int f = 0; f < r->target->nfn; f++)
		for (int k = 0; k < MS_STEP_COUNT; k++)
			if (read_percpu(s->maps.step_stats, f * MS_STEP_MAX + k,
					(uint64_t *)&r->steps[f][k], sizeof(r->steps[f][k]) / 8,
					scratch, ncpus))
				goto out;
	r->children_not_followed = s->bss->children_not_followed;
	r->follow_map_full = s->bss->follow_map_full;
	r->nthreads = seen < max ? seen : max;
	r->threads_without_numbers = seen - r->nthreads;
	r->threads = calloc(r->nthreads ? r->nthreads : 1, sizeof(*r->threads));
	if (!r->threads)
		goto out;
	for (uint32_t i = 0; i < (uint32_t)r->nthreads; i++)
		if (bpf_map__lookup_elem(s->maps.thread_work, &i, sizeof(i), &r->threads[i],
					 sizeof(r->threads[i]), 0))
			goto out;
	err = 0;
out:
	free(scratch);
	return err;
}

void collect__finish_slowcalls(struct tracer *tr, struct slowcalls *sc)
{
	struct memstudy_bpf *s = tracer__skel(tr);

	slowcalls__finish(sc, s->bss->lost_records[MS_EV_SLOW],
			  s->bss->lost_records[MS_EV_SYSCALL]);
}

void collect__watch_lost(struct tracer *tr, struct peralloc *pa)
{
	struct memstudy_bpf *s = tracer__skel(tr);

	peralloc__watch_lost_allocs(pa,
				    (const volatile uint64_t *)&s->bss->lost_records[MS_EV_ALLOC]);
}

void collect__finish_peralloc(struct tracer *tr, struct peralloc *pa, uint64_t thread_state_lost)
{
	struct memstudy_bpf *s = tracer__skel(tr);
	uint64_t lost[MS_EV_TYPES];

	for (int i = 0; i < MS_EV_TYPES; i++)
		lost[i] = s->bss->lost_records[i];
	peralloc__finish(pa, tracer__stack_fd(tr), s->bss->stack_errors, lost, thread_state_lost);
}
