// SPDX-License-Identifier: GPL-2.0
/*
 * memstudy study: the plan of cases (names, the N ladder bounded by memory, tunables) and
 * plan.json, which lets --from DIR redo the analysis.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/parse.h"
#include "lib/util.h"
#include "study/study.h"

const char *const st_order_names[3] = {"fwd", "rev", "random"};

/* A case name's count: 1000, 1e5; whole, from 1 to 1e9. */
static bool parse_case_count(const char *s, long *out)
{
	double v;

	if (!parse_whole(s, &v) || v < 1 || v > 1e9)
		return false;
	*out = (long)v;
	return true;
}

void st_format_count(long n, char *buf, size_t len)
{
	long p = 1;
	int k = 0;

	while (p < n && k < 18) {
		p *= 10;
		k++;
	}
	if (p == n && k >= 1)
		snprintf(buf, len, "1e%d", k);
	else
		snprintf(buf, len, "%ld", n);
}

static void case_name(struct st_case *c)
{
	char n[32];

	st_format_count(c->count, n, sizeof(n));
	if (!strcmp(c->workload, "array"))
		snprintf(c->name, sizeof(c->name), "array-%zu-%s", c->size, n);
	else
		snprintf(c->name, sizeof(c->name), "%s-%s-%zu-%s", c->workload, c->order, c->size,
			 n);
	snprintf(c->file, sizeof(c->file), "%s", c->name);
	snprintf(c->variant, sizeof(c->variant), "default");
}

bool st_parse_case(const char *name, struct st_case *c)
{
	char buf[128], *f[4], *save = NULL, *t;
	double size;
	int n = 0, i;

	if (strlen(name) >= sizeof(buf))
		return false;
	strcpy(buf, name);
	for (t = strtok_r(buf, "-", &save); t && n < 4; t = strtok_r(NULL, "-", &save))
		f[n++] = t;
	if (t)
		return false;
	memset(c, 0, sizeof(*c));
	if (n == 4 && !strcmp(f[0], "churn")) {
		for (i = 0; i < 3; i++)
			if (!strcmp(f[1], st_order_names[i]))
				break;
		if (i == 3)
			return false;
		strcpy(c->workload, "churn");
		strcpy(c->order, st_order_names[i]);
	} else if (n == 3 && !strcmp(f[0], "array")) {
		strcpy(c->workload, "array");
		f[3] = f[2];
		f[2] = f[1];
	} else {
		return false;
	}
	if (!parse_bytes(f[2], &size) || size < 1 || size > (double)(1UL << 40) ||
	    !parse_case_count(f[3], &c->count))
		return false;
	c->size = (size_t)size;
	case_name(c);
	return true;
}

/* Users think in mallopt names; glibc reads GLIBC_TUNABLES. */
bool st_tunable(const char *spec, char *out, size_t len)
{
	static const struct {
		const char *user, *glibc;
	} map[] = {
	    {"M_TRIM_THRESHOLD", "glibc.malloc.trim_threshold"},
	    {"M_TOP_PAD", "glibc.malloc.top_pad"},
	    {"M_MMAP_THRESHOLD", "glibc.malloc.mmap_threshold"},
	    {"M_MMAP_MAX", "glibc.malloc.mmap_max"},
	    {"MALLOC_ARENA_MAX", "glibc.malloc.arena_max"},
	    {"M_ARENA_MAX", "glibc.malloc.arena_max"},
	    {"M_ARENA_TEST", "glibc.malloc.arena_test"},
	    {"MALLOC_TCACHE_COUNT", "glibc.malloc.tcache_count"},
	};
	const char *eq = strchr(spec, '='), *glibc = NULL;
	char key[64];
	double v;
	size_t i;

	if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof(key))
		return false;
	memcpy(key, spec, eq - spec);
	key[eq - spec] = '\0';
	for (i = 0; i < ARRAY_SIZE(map); i++)
		if (!strcasecmp(key, map[i].user))
			glibc = map[i].glibc;
	if (!glibc && !strncmp(key, "glibc.malloc.", 13) && key[13])
		glibc = key;
	if (!glibc || !parse_bytes(eq + 1, &v) || v < 0 || v > 1e18)
		return false;
	snprintf(out, len, "%s=%llu", glibc, (unsigned long long)v);
	return true;
}

double st_case_bytes(const struct st_case *c)
{
	double chunk, n = (double)c->count;

	if (!strcmp(c->workload, "array"))
		return n * (double)c->size + 4096.0;
	/* heap chunk: request + 8-byte header rounded to 16, at least 32; mmapped: pages */
	if (c->size >= GLIBC_MMAP_THRESHOLD)
		chunk = (double)((c->size + GLIBC_CHUNK_HDR + 4095) & ~4095UL);
	else
		chunk = c->size + 8 < 32 ? 32 : (double)((c->size + 8 + 15) & ~15UL);
	return n * chunk + 16.0 * n; /* plus the pointer and index arrays */
}

void st_meminfo(struct study *s)
{
	char buf[8192], *p;

	s->mem_available = s->swap_total = -1;
	if (read_file("/proc/meminfo", buf, sizeof(buf)) <= 0)
		return;
	if ((p = strstr(buf, "MemAvailable:")))
		s->mem_available = strtod(p + 13, NULL) * 1024;
	if ((p = strstr(buf, "SwapTotal:")))
		s->swap_total = strtod(p + 10, NULL) * 1024;
}

static struct st_case *add_case(struct study *s, const char *wl, const char *order, size_t size,
				long count, bool reduced)
{
	struct st_case *c;

	if (s->ncases >= ST_MAX_CASES)
		return NULL;
	c = &s->cases[s->ncases++];
	memset(c, 0, sizeof(*c));
	snprintf(c->workload, sizeof(c->workload), "%s", wl);
	snprintf(c->order, sizeof(c->order), "%s", order ? order : "");
	c->size = size;
	c->count = count;
	c->reduced = reduced;
	case_name(c);
	return c;
}

/* The N ladder for one size: decades in [min, max], bounded by memory. */
static void plan_size(struct study *s, const char *wl, size_t size)
{
	struct st_opts *o = s->o;
	bool huge = size >= GLIBC_MMAP_THRESHOLD;
	double cap = huge && o->huge_cap < o->mem_budget ? o->huge_cap : o->mem_budget;
	int want = o->quick ? 2 : 3, have = 0, i, j;
	long ladder[16], lowest = 0, n;
	struct st_case probe;
	char nb[32];

	memset(&probe, 0, sizeof(probe));
	snprintf(probe.workload, sizeof(probe.workload), "%s", wl);
	probe.size = size;
	for (n = o->min_count; n <= o->max_count && have < 16; n *= 10) {
		probe.count = n;
		st_format_count(n, nb, sizeof(nb));
		if (st_case_bytes(&probe) > cap) {
			appendf(
			    s->skipped, sizeof(s->skipped),
			    "- %s %zu B at N=%s: needs %.1f GiB, more than the %s of %.1f GiB\n",
			    wl, size, nb, st_case_bytes(&probe) / (1 << 30),
			    cap == o->mem_budget ? "memory budget" : "cap for mmapped blocks",
			    cap / (1 << 30));
			continue;
		}
		ladder[have++] = n;
		if (!lowest)
			lowest = n;
	}
	/* Huge blocks: go below --min so the exponent still has points to fit. */
	if (huge && have < want) {
		long extra[8];
		int ne = 0;

		for (n = (lowest ? lowest : o->min_count) / 10; n >= 10 && have + ne < want;
		     n /= 10)
			extra[ne++] = n;
		if (ne) {
			appendf(s->reduced, sizeof(s->reduced),
				"- %s %zu B: N lowered to start at %ld (blocks above the mmap "
				"threshold "
				"are capped at %.1f GiB per case)\n",
				wl, size, extra[ne - 1], cap / (1 << 30));
			memmove(ladder + ne, ladder, have * sizeof(long));
			for (i = 0; i < ne; i++)
				ladder[i] = extra[ne - 1 - i];
			have += ne;
		}
	}
	for (i = 0; i < have; i++) {
		bool red = ladder[i] < o->min_count;

		if (!strcmp(wl, "array")) {
			add_case(s, wl, NULL, size, ladder[i], red);
			continue;
		}
		for (j = 0; j < 3; j++)
			if (o->order_on[j])
				add_case(s, wl, st_order_names[j], size, ladder[i], red);
	}
}

static int cmp_case(const void *a, const void *b)
{
	const struct st_case *x = a, *y = b;

	/* small N first: early failures show early, and the big ones need the time */
	if (x->count != y->count)
		return x->count < y->count ? -1 : 1;
	return 0;
}

int st_plan(struct study *s)
{
	struct st_opts *o = s->o;
	int i;

	if (o->one_case) {
		struct st_case base;
		char t[ST_MAX_TUNABLES][160];
		int k;

		if (!st_parse_case(o->one_case, &base)) {
			ms_err("--case takes a name like churn-rev-1040-1e5 or array-1040-1e6, got "
			       "'%s' (see 'memstudy study --list-cases')",
			       o->one_case);
			return 2;
		}
		for (k = 0; k < o->ntunables; k++)
			if (!st_tunable(o->tunables[k], t[k], sizeof(t[k]))) {
				ms_err(
				    "--tunable takes NAME=VALUE with NAME one of M_TRIM_THRESHOLD, "
				    "M_TOP_PAD, M_MMAP_THRESHOLD, M_MMAP_MAX, MALLOC_ARENA_MAX or "
				    "glibc.malloc.*, got '%s'",
				    o->tunables[k]);
				return 2;
			}
		if (st_case_bytes(&base) > o->mem_budget) {
			ms_err("case %s needs %.1f GiB, more than the memory budget of %.1f GiB: "
			       "pick a smaller N or raise --mem-budget",
			       base.name, st_case_bytes(&base) / (1 << 30),
			       o->mem_budget / (1 << 30));
			return 1;
		}
		s->cases[s->ncases++] = base;
		/* each tunable alone, then all of them together */
		for (k = 0; k < o->ntunables + (o->ntunables > 1); k++) {
			struct st_case *c = &s->cases[s->ncases++];
			bool all = k == o->ntunables;
			int m;

			*c = base;
			c->variant[0] = c->tunables[0] = '\0';
			for (m = all ? 0 : k; m <= (all ? o->ntunables - 1 : k); m++) {
				appendf(c->tunables, sizeof(c->tunables), "%s%s",
					m > (all ? 0 : k) ? ":" : "", t[m]);
				appendf(c->variant, sizeof(c->variant), "%s%s",
					m > (all ? 0 : k) ? " + " : "", o->tunables[m]);
			}
			snprintf(c->file, sizeof(c->file), "%s.tunables-%d", base.name, k + 1);
		}
		return 0;
	}
	for (i = 0; i < o->nsizes; i++) {
		if (o->wl_churn)
			plan_size(s, "churn", o->sizes[i]);
		/* quick: array at the first size only, to stay under a minute */
		if (o->wl_array && (!o->quick || i == 0))
			plan_size(s, "array", o->sizes[i]);
	}
	qsort(s->cases, s->ncases, sizeof(s->cases[0]), cmp_case);
	if (!s->ncases) {
		ms_err("no case to run: every one needs more memory than the budget (%.1f GiB); "
		       "lower --max or raise --mem-budget",
		       o->mem_budget / (1 << 30));
		return 1;
	}
	return 0;
}

/* plan.json: what was asked and planned, so --from DIR can redo the analysis. */
void write_plan(struct study *s, double elapsed)
{
	json_object *root = json_object_new_object(), *arr = json_object_new_array();
	FILE *f;
	int i;

	json_object_object_add(root, "cmdline", json_object_new_string(s->o->cmdline));
	json_object_object_add(root, "one_case",
			       s->o->one_case ? json_object_new_string(s->o->one_case) : NULL);
	json_object_object_add(root, "skipped", json_object_new_string(s->skipped));
	json_object_object_add(root, "reduced", json_object_new_string(s->reduced));
	json_object_object_add(root, "repeat", json_object_new_int(s->o->repeat));
	json_object_object_add(root, "mem_available", json_object_new_double(s->mem_available));
	json_object_object_add(root, "swap_total", json_object_new_double(s->swap_total));
	json_object_object_add(root, "elapsed_s", json_object_new_double(elapsed));
	for (i = 0; i < s->ncases; i++) {
		struct st_case *c = &s->cases[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(c->name));
		json_object_object_add(o, "file", json_object_new_string(c->file));
		json_object_object_add(o, "variant", json_object_new_string(c->variant));
		json_object_object_add(o, "tunables", json_object_new_string(c->tunables));
		json_object_object_add(o, "reduced", json_object_new_boolean(c->reduced));
		json_object_object_add(o, "failed", json_object_new_string(c->failed));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "cases", arr);
	f = open_out(s, "plan.json");
	if (f) {
		json_print(root, f);
		close_out(s, f, "plan.json");
	}
	json_object_put(root);
}

bool read_plan(struct study *s, double *elapsed)
{
	char path[PATH_MAX + 64], why[PATH_MAX + 256];
	json_object *root;
	bool ok;

	snprintf(path, sizeof(path), "%s/plan.json", s->dir);
	root = json_read_file(path, JSON_INPUT_MAX, why, sizeof(why));
	if (!root) {
		ms_err("%s: --from takes a directory written by 'memstudy study'", why);
		return false;
	}
	ok = st_plan_from_json(s, root, path, elapsed);
	json_object_put(root);
	return ok;
}

bool st_plan_from_json(struct study *s, json_object *root, const char *path, double *elapsed)
{
	static char cmdline[1024], one_case[128];
	json_object *arr;
	size_t i;

	if (!(arr = json_path(root, "cases")) || !json_object_is_type(arr, json_type_array) ||
	    !json_object_array_length(arr)) {
		ms_err("%s is not a study plan (no cases): --from takes a directory written by "
		       "'memstudy study'",
		       path);
		return false;
	}
	snprintf(cmdline, sizeof(cmdline), "%s", json_path_str(root, "cmdline"));
	snprintf(s->o->cmdline, sizeof(s->o->cmdline), "%.900s (re-analysed with --from)", cmdline);
	if (json_path(root, "one_case")) {
		snprintf(one_case, sizeof(one_case), "%s", json_path_str(root, "one_case"));
		s->o->one_case = one_case;
	}
	snprintf(s->skipped, sizeof(s->skipped), "%s", json_path_str(root, "skipped"));
	snprintf(s->reduced, sizeof(s->reduced), "%s", json_path_str(root, "reduced"));
	s->o->repeat = json_path_num(root, "repeat");
	s->mem_available = json_path_num(root, "mem_available");
	s->swap_total = json_path_num(root, "swap_total");
	*elapsed = json_path_num(root, "elapsed_s");
	s->ncases = 0;
	for (i = 0; i < json_object_array_length(arr) && s->ncases < ST_MAX_CASES; i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		struct st_case *c = &s->cases[s->ncases];

		if (!st_parse_case(json_path_str(o, "name"), c) || !json_path_str(o, "file")[0] ||
		    strchr(json_path_str(o, "file"), '/')) {
			ms_err("%s: case %zu is not a case this version of memstudy knows (name "
			       "'%.100s'): --from takes a directory written by 'memstudy study'",
			       path, i + 1, json_path_str(o, "name"));
			return false;
		}
		snprintf(c->file, sizeof(c->file), "%s", json_path_str(o, "file"));
		snprintf(c->variant, sizeof(c->variant), "%s", json_path_str(o, "variant"));
		snprintf(c->tunables, sizeof(c->tunables), "%s", json_path_str(o, "tunables"));
		snprintf(c->failed, sizeof(c->failed), "%s", json_path_str(o, "failed"));
		c->reduced = json_path_num(o, "reduced");
		s->ncases++;
	}
	return true;
}
