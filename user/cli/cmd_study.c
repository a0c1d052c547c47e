// SPDX-License-Identifier: GPL-2.0
/*
 * memstudy study: the command line. The plan of cases is study/plan.c; running, analysing
 * and writing the report live in the rest of user/study/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "lib/util.h"
#include "study/study.h"

enum {
	O_OUTPUT = 1,
	O_QUICK,
	O_MIN,
	O_MAX,
	O_SIZES,
	O_ORDERS,
	O_WORKLOADS,
	O_REPEAT,
	O_BUDGET,
	O_CASE,
	O_TUNABLE,
	O_LIST,
	O_NO_PLOTS,
	O_FROM,
};

static const char *const workload_names[] = {"churn", "array", NULL};
static const char *const order_choices[] = {"fwd", "rev", "random", NULL};

static const struct opt study_table[] = {
    {O_OUTPUT, "output", 'o', OPT_TEXT, "DIR",
     "write here (default ./memstudy-study-YYYYMMDD-HHMMSS); an\n"
     "existing DIR must be yours and writable only by you"},
    {O_QUICK, "quick", 'q', OPT_FLAG, NULL,
     "a short run (N 1e3 and 1e4, orders fwd and rev, sizes 1040\n"
     "and 200000, one untraced run each): well under a minute"},
    {O_MIN, "min", 0, OPT_WHOLE, "N", "smallest count (default 1e3)", 1, 1e9},
    {O_MAX, "max", 0, OPT_WHOLE, "N",
     "largest count (default 1e6; 1e7 is allowed when memory is:\n"
     "cases that do not fit --mem-budget are skipped and listed)",
     1, 1e9},
    {O_SIZES, "sizes", 0, OPT_BYTES_LIST, "LIST",
     "block sizes in bytes, K/M suffixes (default 64,1040,200000)", 1, 16.0 * (1 << 30)},
    {O_ORDERS, "orders", 0, OPT_CHOICE_LIST, "LIST",
     "free orders for churn (default fwd,rev,random)", .choices = order_choices},
    {O_WORKLOADS, "workloads", 0, OPT_CHOICE_LIST, "LIST", "churn,array (default both)",
     .choices = workload_names},
    {O_REPEAT, "repeat", 0, OPT_WHOLE, "R",
     "untraced runs per case, the run with the median free time kept\n"
     "(default 3; with 1 or 2 there is none, and the report says so)",
     1, ST_MAX_REPEAT},
    {O_BUDGET, "mem-budget", 0, OPT_BYTES, "B",
     "most memory one case may use (default 60% of MemAvailable).\n"
     "Blocks at or above the mmap threshold are further capped at\n"
     "2 GiB per case: their N ladder is lowered, and the report says so",
     1 << 20, 16.0 * (1ULL << 40)},
    {O_CASE, "case", 0, OPT_TEXT, "NAME",
     "run one case only, e.g. churn-rev-1040-1e5 or array-1040-1e6\n"
     "(names: churn-ORDER-SIZE-N, array-SIZE-N; --list-cases shows them)"},
    {O_TUNABLE, "tunable", 0, OPT_TEXT, "T=V",
     "with --case: also run it with this allocator tunable and show\n"
     "what changed, side by side with glibc's defaults. Repeatable;\n"
     "with several, each alone and then all together. T is one of\n"
     "  M_TRIM_THRESHOLD  free memory above the heap top beyond this\n"
     "                    is given back (brk shrink); default 128 KiB\n"
     "  M_TOP_PAD         extra bytes asked for on each heap growth\n"
     "                    and kept on each shrink; default 128 KiB\n"
     "  M_MMAP_THRESHOLD  requests this big get their own mapping;\n"
     "                    default 128 KiB, rising as such blocks are\n"
     "                    freed (setting it stops the rise)\n"
     "  M_MMAP_MAX        at most this many mmapped blocks (0 = none)\n"
     "  MALLOC_ARENA_MAX  at most this many arenas (threads' heaps)\n"
     "or any glibc.malloc.NAME; sizes take K/M/G. They reach the\n"
     "workload as GLIBC_TUNABLES (e.g. glibc.malloc.trim_threshold)"},
    {O_LIST, "list-cases", 0, OPT_FLAG, NULL, "print the cases these options would run, and exit"},
    {O_NO_PLOTS, "no-plots", 0, OPT_FLAG, NULL, "do not run gnuplot (the script is still written)"},
    {O_FROM, "from", 0, OPT_TEXT, "DIR",
     "no runs: re-analyse the raw data a study saved in DIR and\n"
     "rewrite its report.md, report.html, cases.csv and figures (no\nroot needed)"},
    {0},
};

const struct cmd_doc study_doc = {
    .name = "memstudy study",
    .summary = "run the founding notes' experiments traced and explain them",
    .synopsis = "sudo memstudy study [options]\n"
		"sudo memstudy study --case NAME [--tunable T=V ...] [options]",
    .description =
	"Runs the founding notes' experiments on the built-in workloads and explains them:\n"
	"  churn  (mem_test)      N blocks of S bytes malloc'ed, written, then all freed\n"
	"  array  (mem_test_arr)  the same N x S bytes as one malloc'ed block\n"
	"for N = 1e3, 1e4, 1e5, 1e6, free orders fwd, rev and random, and block sizes either\n"
	"side of glibc's limits (64 B: fastbin/tcache; 1040 B: the notes' size, above the\n"
	"fastbins; 200000 B: above the 128 KiB mmap threshold, so every block is a mapping).\n"
	"\n"
	"Every case runs twice:\n"
	"  untraced  memstudy-workload alone (--repeat times, the median kept): the TIMES.\n"
	"            Tracing costs ~1-10 us per allocator call, so traced times are inflated.\n"
	"  traced    memstudy run -- memstudy-workload: the MECHANISM - per-call latency of\n"
	"            malloc and free, and the kernel work inside free (brk shrinks and bytes\n"
	"            released, munmaps, madvise, page faults).\n"
	"Then it fits free time against N on log-log axes (the slope is the scaling exponent:\n"
	"1 = linear, 2 = quadratic; with two N it is the slope between two points, not a\n"
	"fit), finds the kernel event that dominates free, gives each phase's kernel time per\n"
	"page fault (getrusage sys time over its faults), and writes a verdict per case\n"
	"computed from those numbers. The untraced kernel share comes from getrusage's\n"
	"tick-based user/sys split, the traced one from the tracepoints' timestamps: the\n"
	"report names each.\n"
	"\n"
	"Output (DIR):\n"
	"  report.md      tables, exponents, verdicts and what they mean - start here\n"
	"  report.html    the same as one page to open in a browser: figures embedded,\n"
	"                 tables sortable\n"
	"  cases.csv      one row per case, every number the report uses\n"
	"  *.png, plots.gp, plots/*.dat   gnuplot figures and the script that drew them\n"
	"  plan.json      the plan (for --from)\n"
	"  raw/           every memstudy JSON (NAME.memstudy.json), the workload's own JSON\n"
	"                 traced (NAME.traced-workload.json) and untraced (NAME.untraced-R.json)",
    .opts = study_table,
    .examples = "sudo memstudy study\tthe full study, about 5-10 minutes\n"
		"sudo memstudy study --quick -o smoke\ta smoke run into ./smoke\n"
		"sudo memstudy study --max 1e7\tadd N = 1e7 where memory allows\n"
		"sudo memstudy study --sizes 1040 --min 1e6 --max 1e7\n"
		"     \t1040 B at 1e6 and 1e7 (~8 min here)\n"
		"sudo memstudy study --case churn-rev-1040-1e5 --tunable M_TRIM_THRESHOLD=64M\n"
		"     --tunable M_TOP_PAD=16M\twhat the trim threshold and top pad change",
    .notes =
	"Needs root (it traces with eBPF through 'memstudy run', which attaches probes for its\n"
	"child only) and memstudy-workload next to memstudy or in PATH. gnuplot draws the\n"
	"figures (apt-get install gnuplot-nox); without it report.md and the data are written.\n"
	"Absolute times drift between runs on a shared machine: compare within one study.\n"
	"DIR is refused when another user owns it or may write to it: files in it are\n"
	"written by root.",
    .exit_status = "0 every case ran, 1 a case failed or a file could not be written, 2 bad\n"
		   "usage, 130 interrupted (the report covers the cases done).",
    .see_also = "memstudy(1), memstudy-run(1), memstudy-workload(1)",
};

struct study_args {
	struct st_opts *o;
	bool sizes_set, orders_set, min_set, max_set, repeat_set;
};

static int on_study_opt(void *ctx, const struct opt *opt, const struct opt_value *v)
{
	struct study_args *a = ctx;
	struct st_opts *o = a->o;
	int i;

	switch (opt->id) {
	case O_OUTPUT:
		o->output = v->text;
		break;
	case O_QUICK:
		o->quick = true;
		break;
	case O_MIN:
		o->min_count = (long)v->num;
		a->min_set = true;
		break;
	case O_MAX:
		o->max_count = (long)v->num;
		a->max_set = true;
		break;
	case O_SIZES:
		if (v->nlist > ST_MAX_SIZES)
			return opt_usage_error(&study_doc, "--sizes takes at most %d sizes",
					       ST_MAX_SIZES);
		for (i = 0; i < v->nlist; i++)
			o->sizes[i] = (size_t)v->list[i];
		o->nsizes = v->nlist;
		a->sizes_set = true;
		break;
	case O_ORDERS:
		for (i = 0; i < 3; i++)
			o->order_on[i] = v->choice_mask & 1u << i;
		a->orders_set = true;
		break;
	case O_WORKLOADS:
		o->wl_churn = v->choice_mask & 1;
		o->wl_array = v->choice_mask & 2;
		break;
	case O_REPEAT:
		o->repeat = (int)v->num;
		a->repeat_set = true;
		break;
	case O_BUDGET:
		o->mem_budget = v->num;
		break;
	case O_CASE:
		o->one_case = v->text;
		break;
	case O_TUNABLE:
		if (o->ntunables >= ST_MAX_TUNABLES)
			return opt_usage_error(&study_doc, "at most %d --tunable options",
					       ST_MAX_TUNABLES);
		o->tunables[o->ntunables++] = v->text;
		break;
	case O_LIST:
		o->list_only = true;
		break;
	case O_NO_PLOTS:
		o->no_plots = true;
		break;
	case O_FROM:
		o->from = v->text;
		break;
	}
	return 0;
}

/* The defaults --quick and the plain study start from, where no option said otherwise. */
static void apply_defaults(struct st_opts *o, const struct study_args *a)
{
	if (o->quick) {
		if (!a->min_set)
			o->min_count = 1000;
		if (!a->max_set)
			o->max_count = 10000;
		if (!a->orders_set)
			o->order_on[2] = false;
		if (!a->sizes_set) {
			o->sizes[0] = 1040;
			o->sizes[1] = 200000;
			o->nsizes = 2;
		}
		if (!a->repeat_set)
			o->repeat = 1;
		o->huge_cap = 256.0 * (1 << 20);
	}
	if (!o->nsizes) {
		o->sizes[0] = 64;
		o->sizes[1] = 1040;
		o->sizes[2] = 200000;
		o->nsizes = 3;
	}
	if (!o->order_on[0] && !o->order_on[1] && !o->order_on[2])
		o->wl_churn = false;
}

static void list_cases(const struct study *s)
{
	for (int i = 0; i < s->ncases; i++)
		printf("%-28s %s%s  (~%.0f MiB)\n", s->cases[i].name,
		       s->cases[i].tunables[0] ? "GLIBC_TUNABLES=" : "", s->cases[i].tunables,
		       st_case_bytes(&s->cases[i]) / (1 << 20));
	if (s->skipped[0])
		printf("\nskipped:\n%s", s->skipped);
	if (s->reduced[0])
		printf("\nreduced:\n%s", s->reduced);
}

int cmd_study(int argc, char **argv)
{
	static struct study s; /* large: keep it off the stack */
	static struct st_opts o;
	struct study_args a = {.o = &o};
	char **args;
	int i, rc, nargs;

	memset(&o, 0, sizeof(o));
	memset(&s, 0, sizeof(s));
	s.o = &o;
	s.dirfd = s.rawfd = s.plotsfd = -1;
	o.min_count = 1000;
	o.max_count = 1000000;
	o.repeat = 3;
	o.wl_churn = o.wl_array = true;
	o.order_on[0] = o.order_on[1] = o.order_on[2] = true;
	o.huge_cap = 2.0 * (1 << 30);
	for (i = 0; i < argc; i++)
		appendf(o.cmdline, sizeof(o.cmdline), "%s%s", i ? " " : "memstudy ", argv[i]);

	rc = opt_parse(&study_doc, argc, argv, OPT_PERMUTE, on_study_opt, &a, &args, &nargs);
	if (rc)
		return rc == OPT_EXIT_HELP ? 0 : rc;
	if (nargs)
		rc = opt_usage_error(&study_doc, "study takes no arguments, got '%s'", args[0]);
	free(args);
	if (rc)
		return rc;
	if (o.ntunables && !o.one_case)
		return opt_usage_error(&study_doc,
				       "--tunable goes with --case NAME: the tunables are compared "
				       "on one case (e.g. --case churn-rev-1040-1e5)");
	if (o.min_count > o.max_count)
		return opt_usage_error(&study_doc, "--min (%ld) is larger than --max (%ld)",
				       o.min_count, o.max_count);
	apply_defaults(&o, &a);

	if (o.from) {
		/* no tracing: rebuild report.md, cases.csv and the figures from DIR/raw */
		snprintf(s.dir, sizeof(s.dir), "%s", o.from);
		return st_run(&s);
	}
	st_meminfo(&s);
	if (!o.mem_budget)
		o.mem_budget = s.mem_available > 0 ? 0.6 * s.mem_available : 2.0 * (1 << 30);
	rc = st_plan(&s);
	if (rc)
		return rc;
	if (o.list_only) {
		list_cases(&s);
		return 0;
	}
	if (geteuid() != 0) {
		ms_err("study traces every case with eBPF and needs root: run 'sudo memstudy study "
		       "...' (--list-cases shows the plan without root)");
		return 1;
	}
	if (o.output) {
		snprintf(s.dir, sizeof(s.dir), "%s", o.output);
	} else {
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		strftime(s.dir, sizeof(s.dir), "memstudy-study-%Y%m%d-%H%M%S", &tm);
	}
	return st_run(&s);
}
