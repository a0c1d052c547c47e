// SPDX-License-Identifier: GPL-2.0
/*
 * memstudy study: the command line and the plan of cases. Running, analysing and writing
 * the report live in study.c.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "study/study.h"
#include "lib/util.h"

static const char usage_study[] =
    "Usage: sudo memstudy study [options]\n"
    "       sudo memstudy study --case NAME [--tunable T=V ...] [options]\n"
    "\n"
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
    "1 = linear, 2 = quadratic), finds the kernel event that dominates free, and writes a\n"
    "verdict per case computed from those numbers.\n"
    "\n"
    "Options:\n"
    "  -o, --output DIR     write here (default ./memstudy-study-YYYYMMDD-HHMMSS)\n"
    "  -q, --quick          a short run (N 1e3 and 1e4, orders fwd and rev, sizes 1040\n"
    "                       and 200000, one untraced run each): well under a minute\n"
    "      --min N          smallest count (default 1e3)\n"
    "      --max N          largest count (default 1e6; 1e7 is allowed when memory is:\n"
    "                       cases that do not fit --mem-budget are skipped and listed)\n"
    "      --sizes LIST     block sizes in bytes, K/M suffixes (default 64,1040,200000)\n"
    "      --orders LIST    free orders for churn (default fwd,rev,random)\n"
    "      --workloads LIST churn,array (default both)\n"
    "      --repeat R       untraced runs per case, median free time kept (default 3)\n"
    "      --mem-budget B   most memory one case may use (default 60%% of MemAvailable).\n"
    "                       Blocks at or above the mmap threshold are further capped at\n"
    "                       2 GiB per case: their N ladder is lowered, and the report says so\n"
    "      --case NAME      run one case only, e.g. churn-rev-1040-1e5 or array-1040-1e6\n"
    "                       (names: churn-ORDER-SIZE-N, array-SIZE-N; --list-cases shows them)\n"
    "      --tunable T=V    with --case: also run it with this allocator tunable and show\n"
    "                       what changed, side by side with glibc's defaults. Repeatable;\n"
    "                       with several, each alone and then all together. T is one of\n"
    "                         M_TRIM_THRESHOLD  free memory above the heap top beyond this\n"
    "                                           is given back (brk shrink); default 128 KiB\n"
    "                         M_TOP_PAD         extra bytes asked for on each heap growth\n"
    "                                           and kept on each shrink; default 128 KiB\n"
    "                         M_MMAP_THRESHOLD  requests this big get their own mapping;\n"
    "                                           default 128 KiB, rising as such blocks are\n"
    "                                           freed (setting it stops the rise)\n"
    "                         M_MMAP_MAX        at most this many mmapped blocks (0 = none)\n"
    "                         MALLOC_ARENA_MAX  at most this many arenas (threads' heaps)\n"
    "                       or any glibc.malloc.NAME; sizes take K/M/G. They reach the\n"
    "                       workload as GLIBC_TUNABLES (e.g. glibc.malloc.trim_threshold)\n"
    "      --list-cases     print the cases these options would run, and exit\n"
    "      --no-plots       do not run gnuplot (the script is still written)\n"
    "      --from DIR       no runs: re-analyse the raw data a study saved in DIR and\n"
    "                       rewrite its report.md, cases.csv and figures (no root needed)\n"
    "  -h, --help           this help\n"
    "\n"
    "Output (DIR):\n"
    "  report.md      tables, exponents, verdicts and what they mean - start here\n"
    "  cases.csv      one row per case, every number the report uses\n"
    "  *.png, plots.gp, plots/*.dat   gnuplot figures and the script that drew them\n"
    "  plan.json      the plan (for --from)\n"
    "  raw/           every memstudy JSON (NAME.memstudy.json), the workload's own JSON\n"
    "                 traced (NAME.traced-workload.json) and untraced (NAME.untraced-R.json)\n"
    "\n"
    "Examples:\n"
    "  sudo memstudy study                        the full study, about 5-10 minutes\n"
    "  sudo memstudy study --quick -o /tmp/q      a smoke run\n"
    "  sudo memstudy study --max 1e7              add N = 1e7 where memory allows\n"
    "  sudo memstudy study --case churn-rev-1040-1e5 --tunable M_TRIM_THRESHOLD=64M \\\n"
    "       --tunable M_TOP_PAD=16M               what the trim threshold and top pad change\n"
    "\n"
    "Needs root (it traces with eBPF through 'memstudy run', which attaches probes for its\n"
    "child only) and memstudy-workload next to memstudy or in PATH. gnuplot draws the\n"
    "figures (apt-get install gnuplot-nox); without it report.md and the data are written.\n"
    "Absolute times drift between runs on a shared machine: compare within one study.\n";

static bool parse_list(const char *arg, const char *what, char *items[], int max, int *n)
{
	static char buf[1024];
	char *save = NULL, *t;

	snprintf(buf, sizeof(buf), "%s", arg);
	*n = 0;
	for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (*n >= max) {
			ms_err("%s takes at most %d items", what, max);
			return false;
		}
		items[(*n)++] = t;
	}
	if (!*n)
		ms_err("%s takes a comma-separated list, got '%s'", what, arg);
	return *n > 0;
}

int cmd_study(int argc, char **argv)
{
	enum {
		O_MIN = 256,
		O_MAX,
		O_SIZES,
		O_ORDERS,
		O_WL,
		O_REPEAT,
		O_BUDGET,
		O_CASE,
		O_TUN,
		O_LIST,
		O_NOPLOT,
		O_FROM
	};
	static const struct option longopts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"quick", no_argument, NULL, 'q'},
	    {"min", required_argument, NULL, O_MIN},
	    {"max", required_argument, NULL, O_MAX},
	    {"sizes", required_argument, NULL, O_SIZES},
	    {"orders", required_argument, NULL, O_ORDERS},
	    {"workloads", required_argument, NULL, O_WL},
	    {"repeat", required_argument, NULL, O_REPEAT},
	    {"mem-budget", required_argument, NULL, O_BUDGET},
	    {"case", required_argument, NULL, O_CASE},
	    {"tunable", required_argument, NULL, O_TUN},
	    {"list-cases", no_argument, NULL, O_LIST},
	    {"no-plots", no_argument, NULL, O_NOPLOT},
	    {"from", required_argument, NULL, O_FROM},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static struct study s; /* large: keep it off the stack */
	static struct st_opts o;
	bool sizes_set = false, orders_set = false, min_set = false, max_set = false,
	     repeat_set = false;
	char *items[ST_MAX_SIZES];
	double v;
	int c, i, j, n, rc;

	memset(&o, 0, sizeof(o));
	memset(&s, 0, sizeof(s));
	s.o = &o;
	o.min_count = 1000;
	o.max_count = 1000000;
	o.repeat = 3;
	o.wl_churn = o.wl_array = true;
	o.order_on[0] = o.order_on[1] = o.order_on[2] = true;
	o.huge_cap = 2.0 * (1 << 30);
	for (i = 0; i < argc; i++)
		appendf(o.cmdline, sizeof(o.cmdline), "%s%s", i ? " " : "memstudy ", argv[i]);

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+o:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o.output = optarg;
			break;
		case 'q':
			o.quick = true;
			break;
		case O_MIN:
		case O_MAX:
			if (!st_parse_count(optarg, c == O_MIN ? &o.min_count : &o.max_count)) {
				ms_err("--%s takes a count such as 1000 or 1e6, got '%s'",
				       c == O_MIN ? "min" : "max", optarg);
				return 2;
			}
			*(c == O_MIN ? &min_set : &max_set) = true;
			break;
		case O_SIZES:
			if (!parse_list(optarg, "--sizes", items, ST_MAX_SIZES, &n))
				return 2;
			for (i = 0; i < n; i++) {
				if (!st_parse_size(items[i], &v) || v < 1 || v > (double)(1UL << 34)) {
					ms_err("--sizes takes byte counts such as 64,1040,200000 "
					       "or 1K, "
					       "got '%s'",
					       items[i]);
					return 2;
				}
				o.sizes[i] = (size_t)v;
			}
			o.nsizes = n;
			sizes_set = true;
			break;
		case O_ORDERS:
			if (!parse_list(optarg, "--orders", items, ST_MAX_SIZES, &n))
				return 2;
			memset(o.order_on, 0, sizeof(o.order_on));
			for (i = 0; i < n; i++) {
				for (j = 0; j < 3 && strcmp(items[i], st_order_names[j]); j++)
					;
				if (j == 3) {
					ms_err("--orders takes fwd, rev and random, got '%s'",
					       items[i]);
					return 2;
				}
				o.order_on[j] = true;
			}
			orders_set = true;
			break;
		case O_WL:
			if (!parse_list(optarg, "--workloads", items, ST_MAX_SIZES, &n))
				return 2;
			o.wl_churn = o.wl_array = false;
			for (i = 0; i < n; i++) {
				if (!strcmp(items[i], "churn")) {
					o.wl_churn = true;
				} else if (!strcmp(items[i], "array")) {
					o.wl_array = true;
				} else {
					ms_err("--workloads takes churn and array, got '%s' (other "
					       "workloads: memstudy run -- memstudy-workload NAME)",
					       items[i]);
					return 2;
				}
			}
			break;
		case O_REPEAT:
			if (!parse_number(optarg, &v) || v < 1 || v > 99 || v != (int)v) {
				ms_err("--repeat takes a whole number from 1 to 99, got '%s'",
				       optarg);
				return 2;
			}
			o.repeat = (int)v;
			repeat_set = true;
			break;
		case O_BUDGET:
			if (!st_parse_size(optarg, &v) || v < (1 << 20)) {
				ms_err(
				    "--mem-budget takes bytes (K/M/G suffixes), at least 1M, got "
				    "'%s'",
				    optarg);
				return 2;
			}
			o.mem_budget = v;
			break;
		case O_CASE:
			o.one_case = optarg;
			break;
		case O_TUN:
			if (o.ntunables >= ST_MAX_TUNABLES) {
				ms_err("at most %d --tunable options", ST_MAX_TUNABLES);
				return 2;
			}
			o.tunables[o.ntunables++] = optarg;
			break;
		case O_LIST:
			o.list_only = true;
			break;
		case O_NOPLOT:
			o.no_plots = true;
			break;
		case O_FROM:
			o.from = optarg;
			break;
		case 'h':
			fputs(usage_study, stdout);
			return 0;
		default:
			if (optopt && optopt < 256)
				ms_err(
				    "study: unknown option '-%c' or missing value; see 'memstudy "
				    "study --help'",
				    optopt);
			else
				ms_err("study: unknown option '%s' or missing value; see 'memstudy "
				       "study --help'",
				       argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		ms_err("study takes no arguments, got '%s'; see 'memstudy study --help'",
		       argv[optind]);
		return 2;
	}
	if (o.ntunables && !o.one_case) {
		ms_err("--tunable goes with --case NAME: the tunables are compared on one case "
		       "(e.g. --case churn-rev-1040-1e5)");
		return 2;
	}
	if (o.quick) {
		if (!min_set)
			o.min_count = 1000;
		if (!max_set)
			o.max_count = 10000;
		if (!orders_set)
			o.order_on[2] = false;
		if (!sizes_set) {
			o.sizes[0] = 1040;
			o.sizes[1] = 200000;
			o.nsizes = 2;
		}
		if (!repeat_set)
			o.repeat = 1;
		o.huge_cap = 256.0 * (1 << 20);
	}
	if (!o.nsizes) {
		o.sizes[0] = 64;
		o.sizes[1] = 1040;
		o.sizes[2] = 200000;
		o.nsizes = 3;
	}
	if (o.min_count > o.max_count) {
		ms_err("--min (%ld) is larger than --max (%ld)", o.min_count, o.max_count);
		return 2;
	}
	if (!o.order_on[0] && !o.order_on[1] && !o.order_on[2])
		o.wl_churn = false;

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
		for (i = 0; i < s.ncases; i++)
			printf("%-28s %s%s  (~%.0f MiB)\n", s.cases[i].name,
			       s.cases[i].tunables[0] ? "GLIBC_TUNABLES=" : "", s.cases[i].tunables,
			       st_case_bytes(&s.cases[i]) / (1 << 20));
		if (s.skipped[0])
			printf("\nskipped:\n%s", s.skipped);
		if (s.reduced[0])
			printf("\nreduced:\n%s", s.reduced);
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
