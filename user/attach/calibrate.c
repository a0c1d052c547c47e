// SPDX-License-Identifier: GPL-2.0
/*
 * Probe cost calibration: empty BPF programs (floor.bpf.c) on three functions of memstudy
 * itself, for this process only: one entered by an emulated push (entry probe only), one
 * likewise with a return probe too, and one starting with an instruction the kernel must
 * single-step. The differences from an unprobed call are the per-hit costs.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "attach/calibrate.h"
#include "floor.skel.h"
#include "attach/uprobe_multi.h"
#include "lib/util.h"

#define DEFAULT_ENTRY_EMULATED_NS 900
#define DEFAULT_ENTRY_SSTEP_NS	  13400
#define DEFAULT_RETURN_NS	  750
#define PROGRAMS_NS		  300 /* summary - floor, bench/overhead.py */

int ms_cal_plain(int x);
int ms_cal_entry(int x);
int ms_cal_return(int x);
int ms_cal_sstep(int x);
asm(".text\n"
    ".globl ms_cal_plain\n.type ms_cal_plain,@function\n"
    "ms_cal_plain:\n push %rbp\n pop %rbp\n ret\n.size ms_cal_plain,.-ms_cal_plain\n"
    ".globl ms_cal_entry\n.type ms_cal_entry,@function\n"
    "ms_cal_entry:\n push %rbp\n pop %rbp\n ret\n.size ms_cal_entry,.-ms_cal_entry\n"
    ".globl ms_cal_return\n.type ms_cal_return,@function\n"
    "ms_cal_return:\n push %rbp\n pop %rbp\n ret\n.size ms_cal_return,.-ms_cal_return\n"
    /* test: not emulated, as at glibc's free */
    ".globl ms_cal_sstep\n.type ms_cal_sstep,@function\n"
    "ms_cal_sstep:\n test %rdi,%rdi\n ret\n.size ms_cal_sstep,.-ms_cal_sstep\n");

void probe_costs__defaults(struct probe_costs *c)
{
	c->measured = false;
	c->entry_emulated_ns = DEFAULT_ENTRY_EMULATED_NS;
	c->entry_sstep_ns = DEFAULT_ENTRY_SSTEP_NS;
	c->return_ns = DEFAULT_RETURN_NS;
	c->programs_ns = PROGRAMS_NS;
}

static volatile unsigned int sink;

/* ns per call of FN: the fastest of 5 loops of N calls */
static double time_calls(int (*fn)(int), int n)
{
	double best = 1e18;

	for (int r = 0; r < 5; r++) {
		uint64_t t0 = mono_ns();
		unsigned int s = 0; /* wraps: a sum nobody reads, kept so the calls stay */
		double t;

		for (int i = 0; i < n; i++)
			s += (unsigned int)fn(i);
		sink = s;
		t = (double)(mono_ns() - t0) / n;
		if (t < best)
			best = t;
	}
	return best;
}

void probe_costs__measure(struct probe_costs *c)
{
	uint64_t offs[3] = {self_file_offset(ms_cal_entry), self_file_offset(ms_cal_return),
			    self_file_offset(ms_cal_sstep)};
	uint64_t cookies[3] = {0, 0, 0};
	struct floor_bpf *skel = NULL;
	int fd_in = -1, fd_ret = -1;
	double plain, entry, ret, sstep;

	probe_costs__defaults(c);
	if (!offs[0] || !offs[1] || !offs[2] || !uprobe_multi__supported())
		return; /* the defaults will do */
	skel = floor_bpf__open();
	if (!skel)
		return;
	bpf_program__set_expected_attach_type(skel->progs.floor_enter, MS_BPF_TRACE_UPROBE_MULTI);
	bpf_program__set_expected_attach_type(skel->progs.floor_exit, MS_BPF_TRACE_UPROBE_MULTI);
	if (floor_bpf__load(skel))
		goto out;
	fd_in = uprobe_multi__attach(bpf_program__fd(skel->progs.floor_enter), "/proc/self/exe",
				     offs, cookies, 3, false, getpid());
	fd_ret = uprobe_multi__attach(bpf_program__fd(skel->progs.floor_exit), "/proc/self/exe",
				      &offs[1], cookies, 1, true, getpid());
	if (fd_in < 0 || fd_ret < 0)
		goto out;
	/* a busy machine can make one round's differences meaningless: up to three */
	for (int round = 0; round < 3; round++) {
		plain = time_calls(ms_cal_plain, 3000);
		entry = time_calls(ms_cal_entry, 2000) - plain;
		ret = time_calls(ms_cal_return, 2000) - plain - entry;
		sstep = time_calls(ms_cal_sstep, 300) - plain;
		if (entry > 0 && ret > 0 && sstep > entry)
			break;
	}
	if (entry > 0 && ret > 0 && sstep > entry) {
		c->measured = true;
		c->entry_emulated_ns = entry;
		c->return_ns = ret;
		c->entry_sstep_ns = sstep;
	}
	if (ms_verbose)
		fprintf(stderr,
			"memstudy: probe costs here: entry %.0f ns (emulated), %.0f ns "
			"(single-stepped), return %.0f ns\n",
			entry, sstep, ret);
out:
	run_parallel((struct par_job[]){{close_fd_job, (void *)(intptr_t)fd_in},
					{close_fd_job, (void *)(intptr_t)fd_ret}},
		     2); /* closing -1 is harmless */
	floor_bpf__destroy(skel);
}
