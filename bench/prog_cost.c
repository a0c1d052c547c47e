// SPDX-License-Identifier: GPL-2.0
/*
 * prog_cost: what the pieces of memstudy's probe programs cost on this machine.
 *
 *  1. Per helper: a uprobe on a function of this program whose first instruction the
 *     kernel emulates (push); each BPF program repeats one helper PC_REPEAT times, and the
 *     difference from an empty program, divided by PC_REPEAT, is the helper's cost.
 *  2. In place: memstudy's own entry and return programs (build/gen/memstudy.bpf.o) against
 *     empty ones (floor.bpf.o), attached the way memstudy attaches them (multi-uprobe links),
 *     on the same function: what memstudy adds to a call, without malloc's noise.
 *
 * Every figure is the median of ROUNDS interleaved rounds, each the second-fastest of 15
 * loops of N calls, pinned to one CPU. Needs root. docs/performance.md shows the output.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "prog_cost.h"
#include "prog_cost.skel.h"
#include "attach/uprobe_multi.h"
#include "lib/util.h"

#define LOOPS  15
#define ROUNDS 5

int pc_target(int x);
/* push %rbp first: an instruction the kernel emulates, as at malloc's entry */
asm(".globl pc_target\n.type pc_target,@function\npc_target:\n push %rbp\n mov %rsp,%rbp\n"
    " lea 1(%rdi),%eax\n pop %rbp\n ret\n.size pc_target,.-pc_target\n");

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static volatile int sink;

/* ns per call of pc_target: the second-fastest of LOOPS loops of N calls */
static double time_calls(long n)
{
	double v[LOOPS];

	for (int r = 0; r < LOOPS; r++) {
		uint64_t t = mono_ns();
		int s = 0;

		for (long i = 0; i < n; i++)
			s += pc_target(i);
		sink = s;
		v[r] = (double)(mono_ns() - t) / n;
	}
	qsort(v, LOOPS, sizeof(double), cmp_double);
	return v[1];
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return v[n / 2];
}

static int helpers(long n)
{
	struct prog_cost_bpf *skel = prog_cost_bpf__open_and_load();
	struct bpf_program *p, *progs[16];
	double t[16][ROUNDS];
	int np = 0;

	if (!skel) {
		fprintf(stderr, "prog_cost: cannot load the BPF programs: %s\n", strerror(errno));
		return -1;
	}
	bpf_object__for_each_program(p, skel->obj) progs[np++] = p;
	for (int r = 0; r < ROUNDS; r++)
		for (int i = 0; i < np; i++) {
			LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = "pc_target");
			struct bpf_link *l = bpf_program__attach_uprobe_opts(
			    progs[i], getpid(), "/proc/self/exe", 0, &uo);

			if (!l) {
				fprintf(stderr, "prog_cost: cannot attach %s: %s\n",
					bpf_program__name(progs[i]), strerror(errno));
				return -1;
			}
			t[i][r] = time_calls(n);
			bpf_link__destroy(l);
		}
	printf("1. per helper call (uprobe on an emulated push; %d calls per hit)\n", PC_REPEAT);
	printf("   %-24s %8.0f ns per hit (trap + empty program)\n", "empty program",
	       median(t[0], ROUNDS));
	for (int i = 1; i < np; i++)
		printf("   %-24s %8.1f ns\n", bpf_program__name(progs[i]),
		       (median(t[i], ROUNDS) - median(t[0], ROUNDS)) / PC_REPEAT);
	prog_cost_bpf__destroy(skel);
	return 0;
}

struct pair {
	const char *label, *file, *enter, *exit;
	struct bpf_object *obj;
	int enter_fd, exit_fd;
};

static int pair_load(struct pair *p, const char *dir)
{
	char path[4096];
	struct bpf_program *prog, *e, *x;

	snprintf(path, sizeof(path), "%s/%s", dir, p->file);
	p->obj = bpf_object__open_file(path, NULL);
	if (!p->obj) {
		fprintf(stderr, "prog_cost: cannot open %s (build memstudy first, or --gen DIR)\n",
			path);
		return -1;
	}
	e = bpf_object__find_program_by_name(p->obj, p->enter);
	x = bpf_object__find_program_by_name(p->obj, p->exit);
	if (!e || !x)
		return -1;
	bpf_object__for_each_program(prog, p->obj)
	    bpf_program__set_autoload(prog, prog == e || prog == x);
	bpf_program__set_expected_attach_type(e, MS_BPF_TRACE_UPROBE_MULTI);
	bpf_program__set_expected_attach_type(x, MS_BPF_TRACE_UPROBE_MULTI);
	if (bpf_object__load(p->obj)) {
		fprintf(stderr, "prog_cost: cannot load %s: %s\n", path, strerror(errno));
		return -1;
	}
	p->enter_fd = bpf_program__fd(e);
	p->exit_fd = bpf_program__fd(x);
	return 0;
}

static int in_place(long n, const char *dir)
{
	struct pair pairs[] = {
	    {.label = "floor (empty entry + return)",
	     .file = "floor.bpf.o",
	     .enter = "floor_enter",
	     .exit = "floor_exit"},
	    {.label = "memstudy summary mode",
	     .file = "memstudy.bpf.o",
	     .enter = "alloc_enter",
	     .exit = "alloc_exit"},
	};
	uint64_t off = self_file_offset(pc_target), cookie = 0; /* cookie 0: malloc */
	double t[2][ROUNDS];

	if (!uprobe_multi__supported()) {
		fprintf(stderr, "prog_cost: this kernel has no multi-uprobe links (6.6+)\n");
		return -1;
	}
	for (int i = 0; i < 2; i++)
		if (pair_load(&pairs[i], dir))
			return -1;
	for (int r = 0; r < ROUNDS; r++)
		for (int i = 0; i < 2; i++) {
			int le = uprobe_multi__attach(pairs[i].enter_fd, "/proc/self/exe", &off,
						      &cookie, 1, false, getpid());
			int lx = uprobe_multi__attach(pairs[i].exit_fd, "/proc/self/exe", &off,
						      &cookie, 1, true, getpid());

			if (le < 0 || lx < 0) {
				fprintf(stderr, "prog_cost: cannot attach %s: %s\n", pairs[i].label,
					strerror(-(le < 0 ? le : lx)));
				return -1;
			}
			t[i][r] = time_calls(n);
			close(le);
			close(lx);
		}
	double fl = median(t[0], ROUNDS), ms = median(t[1], ROUNDS);

	printf("2. memstudy's programs in place (entry + return on one function, as malloc)\n");
	printf("   %-30s %8.0f ns per call\n", pairs[0].label, fl);
	printf("   %-30s %8.0f ns per call: +%.0f ns, %.2fx the floor\n", pairs[1].label, ms,
	       ms - fl, ms / fl);
	for (int i = 0; i < 2; i++)
		bpf_object__close(pairs[i].obj);
	return 0;
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	const char *dir = PC_GEN_DIR;
	long n = 50000;
	cpu_set_t set;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--gen") && i + 1 < argc) {
			dir = argv[++i];
		} else if (!strcmp(argv[i], "--calls") && i + 1 < argc) {
			n = atol(argv[++i]);
		} else {
			printf("usage: sudo %s [--gen DIR] [--calls N]\n"
			       "  DIR holds memstudy.bpf.o and floor.bpf.o (default %s)\n",
			       argv[0], PC_GEN_DIR);
			return strcmp(argv[i], "-h") && strcmp(argv[i], "--help") ? 2 : 0;
		}
	}
	if (geteuid()) {
		fprintf(stderr, "prog_cost: needs root to load BPF\n");
		return 1;
	}
	libbpf_set_print(quiet);
	CPU_ZERO(&set);
	CPU_SET(sysconf(_SC_NPROCESSORS_ONLN) - 1, &set);
	sched_setaffinity(0, sizeof(set), &set); /* one CPU: no migration noise */
	if (helpers(n) || in_place(n, dir))
		return 1;
	return 0;
}
