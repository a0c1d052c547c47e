// SPDX-License-Identifier: GPL-2.0
/*
 * memstudy study: read what a case left in raw/ (the workload's JSON and memstudy run's).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <gnu/libc-version.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <json-c/json.h>

#include "lib/util.h"
#include "study/study.h"

static const char *const phase_names[PH_N] = {"alloc", "touch", "free"};

/* ---- JSON -------------------------------------------------------------------------- */

json_object *find_phase(json_object *root, const char *name)
{
	json_object *ph = json_path(root, "phases"), *p, *n;
	size_t i;

	if (!ph || !json_object_is_type(ph, json_type_array))
		return NULL;
	for (i = 0; i < json_object_array_length(ph); i++) {
		p = json_object_array_get_idx(ph, i);
		n = json_path(p, "name");
		if (n && !strcmp(json_object_get_string(n), name))
			return p;
	}
	return NULL;
}

/* The workload's own --json: per-phase times, faults, RSS, heap end. */
bool parse_workload(const char *path, struct st_wl_phase ph[PH_N], char *why, size_t len)
{
	json_object *root = json_read_file(path, JSON_INPUT_MAX, why, len), *p;
	int i;

	if (!root)
		return false;
	for (i = 0; i < PH_N; i++) {
		memset(&ph[i], 0, sizeof(ph[i]));
		p = find_phase(root, phase_names[i]);
		if (!p)
			continue;
		ph[i].present = true;
		ph[i].wall = json_path_num(p, "wall_s");
		ph[i].user = json_path_num(p, "user_s");
		ph[i].sys = json_path_num(p, "sys_s");
		ph[i].minflt = json_path_num(p, "minflt");
		ph[i].majflt = json_path_num(p, "majflt");
		ph[i].rss_before = json_path_num(p, "rss_kb_before");
		ph[i].rss_after = json_path_num(p, "rss_kb_after");
		ph[i].brk_before = json_path_hex(p, "brk_before");
		ph[i].brk_after = json_path_hex(p, "brk_after");
	}
	json_object_put(root);
	if (!ph[PH_FREE].present) {
		snprintf(why, len, "%.200s has no free phase", path);
		return false;
	}
	return true;
}

void parse_fn(json_object *phase, const char *fn, struct st_fn *f)
{
	char k[96];

	snprintf(k, sizeof(k), "functions.%s", fn);
	json_object *o = json_path(phase, k);

	f->calls = json_path_num(o, "calls");
	f->p50 = json_path_num(o, "latency_ns.p50");
	f->p99 = json_path_num(o, "latency_ns.p99");
	f->max = json_path_num(o, "latency_ns.max");
	f->sum = json_path_num(o, "latency_ns.sum");
}

/* memstudy run's JSON: latency per call and the kernel work charged to free. */
bool parse_traced(const char *path, struct st_case *c, char *why, size_t len)
{
	json_object *root = json_read_file(path, JSON_INPUT_MAX, why, len), *pa, *pf, *k;
	struct st_free_kernel *fk = &c->free_kernel;
	int i;

	if (!root)
		return false;
	pa = find_phase(root, "alloc");
	pf = find_phase(root, "free");
	if (!pa || !pf) {
		snprintf(why, len, "%.200s has no alloc/free phases (phase markers not seen)",
			 path);
		json_object_put(root);
		return false;
	}
	for (i = 0; i < PH_N; i++) {
		json_object *p = find_phase(root, phase_names[i]);

		c->tr_dur[i] = p ? json_path_num(p, "duration_s") : -1;
	}
	parse_fn(pa, "malloc", &c->malloc_fn);
	parse_fn(pf, "free", &c->free_fn);
	k = json_path(pf, "functions.free.kernel");
	memset(fk, 0, sizeof(*fk));
	fk->brk = json_path_num(k, "syscalls.brk");
	fk->munmap = json_path_num(k, "syscalls.munmap");
	fk->madvise = json_path_num(k, "syscalls.madvise");
	fk->mprotect = json_path_num(k, "syscalls.mprotect");
	fk->mmap = json_path_num(k, "syscalls.mmap");
	fk->mremap = json_path_num(k, "syscalls.mremap");
	fk->faults = json_path_num(k, "page_faults");
	fk->major = json_path_num(k, "major_faults");
	fk->syscall_ns = json_path_num(k, "syscall_ns");
	fk->brk_shrink_bytes = json_path_num(pf, "syscalls.brk.shrink_bytes");
	fk->munmap_bytes = json_path_num(pf, "syscalls.munmap.bytes");
	fk->madvise_bytes = json_path_num(pf, "syscalls.madvise.bytes");
	fk->brk_ns = json_path_num(pf, "syscalls.brk.ns");
	fk->munmap_ns = json_path_num(pf, "syscalls.munmap.ns");
	fk->madvise_ns = json_path_num(pf, "syscalls.madvise.ns");
	fk->mprotect_ns = json_path_num(pf, "syscalls.mprotect.ns");
	fk->mmap_ns = json_path_num(pf, "syscalls.mmap.ns");
	fk->mremap_ns = json_path_num(pf, "syscalls.mremap.ns");
	c->lost_events = json_path_num(root, "lost_events");
	json_object_put(root);
	return true;
}
