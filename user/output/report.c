// SPDX-License-Identifier: GPL-2.0
/* The report as data: phases summed, percentiles, memstudy's own cost. */
#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "analyse/hist.h"
#include "lib/fmt.h"
#include "lib/json.h"
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
		add_u64s((uint64_t *)t->own, (const uint64_t *)ph->own, sizeof(t->own) / 8);
		add_u64s((uint64_t *)t->sys, (const uint64_t *)ph->sys, sizeof(t->sys) / 8);
		add_u64s((uint64_t *)&t->faults, (const uint64_t *)&ph->faults,
			 sizeof(t->faults) / 8);
	}
	if (r->nphases) {
		t->start_ns = r->phases[0].start_ns;
		t->end_ns = r->phases[r->nphases - 1].end_ns;
	}
}

uint64_t report__percentile(const struct ms_fn_stats *f, double pct)
{
	return hist_percentile(f->hist, MS_HIST_SLOTS, pct, f->lat_max_ns);
}

/*
 * memstudy's own cost per traced call, for users to subtract from latencies: the entry trap
 * (emulated or single-stepped) and the return trap as measured on this machine when the
 * trace ended (calibrate.c), plus memstudy's programs as bench/overhead.py measured them.
 */
uint64_t report__probe_cost_ns(const struct report *r, const struct target_fn *f)
{
	const struct probe_costs *c = &r->costs;

	return (f->site.emulated ? c->entry_emulated_ns : c->entry_sstep_ns) + c->return_ns +
	       c->programs_ns;
}

/* Probe hits and the estimated time they cost the target. */
void report__overhead(const struct report *r, uint64_t *hits, uint64_t *ns)
{
	*hits = *ns = 0;
	for (int i = 0; i < r->target->nfn; i++) {
		const struct target_fn *f = &r->target->fn[i];

		if (!f->found || f->alias_of >= 0)
			continue;
		*hits += 2 * r->total.fn[i].calls;
		*ns += r->total.fn[i].calls * report__probe_cost_ns(r, f);
	}
}

int report__single_stepped(const struct report *r, bool steps, const char **names, int max)
{
	const struct target *t = r->target;
	int n = 0;

	for (int f = 0; f < t->nfn && n < max; f++)
		if ((f < MS_FN_GLIBC_COUNT || f >= MS_FN_CUSTOM) && t->fn[f].found &&
		    t->fn[f].alias_of < 0 && !t->fn[f].site.emulated)
			names[n++] = t->fn[f].name;
	for (int v = 0; v < ms_nvariants && n < max; v++)
		if (target__variant_probed(t, v) && !t->variants[v].site.emulated)
			names[n++] = ms_variants[v].label;
	for (int k = 0; steps && r->steps_traced && k < MS_STEP_COUNT && n < max; k++)
		if (t->steps.found[k] && !t->steps.site[k].emulated)
			names[n++] = ms_step_names[k];
	return n;
}
