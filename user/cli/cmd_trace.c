// SPDX-License-Identifier: GPL-2.0
/*
 * memstudy --pid PID   and   memstudy run -- CMD: trace one process's allocator calls and
 * the kernel memory work done for it, then print the correlated report.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/trace_session.h"
#include "lib/parse.h"
#include "lib/util.h"
#include "version.h"

extern char **environ;

/* Per-allocation stacks (docs/performance.md, stacks): walked in the kernel; the bytes
 * copied where the walk finds code without rows yet; the frames kept. */
#define DEFAULT_STACK_BYTES MS_STACK_COPY_MAX
#define DEFAULT_STACK_DEPTH 32
#define DEFAULT_SLOWEST	    10
#define DEFAULT_RECORDING   "memstudy.rec"

enum {
	O_PID = 1,
	O_DURATION,
	O_INTERVAL,
	O_JSON,
	O_OUTPUT,
	O_VERBOSE,
	O_DRY_RUN,
	O_NO_MOUNT,
	O_NO_HIST,
	O_ALL,
	O_ENTRY,
	O_FLOOR,
	O_UNWIND,
	O_PER_ALLOC,
	O_TOP,
	O_RINGBUF,
	O_NO_CAL,
	O_SLOTS,
	O_MAPS,
	O_VERSION,
	O_STACK_BYTES,
	O_STACK_DEPTH,
	O_SITES,
	O_WRAPPER,
	O_SLOWEST,
	O_NO_SYSCALL_STACKS,
	O_NO_STEPS,
	O_ALLOC,
	O_FREE,
	O_REALLOC,
	O_POOL_CREATE,
	O_POOL_CLEAR,
	O_POOL_DESTROY,
	O_ALLOC_SPEC,
	O_NO_BUILTIN,
	O_FOLLOW,
	O_RECORD_OUT,
};

static const char *const floor_choices[] = {"all", "uprobes", NULL};
enum { UNWIND_COPY, UNWIND_KERNEL, UNWIND_FP };
static const char *const unwind_choices[] = {"copy", "kernel", "fp", NULL};
static const char *const sites_choices[] = {"symbols", "address", NULL};

/* The options of memstudy --pid and memstudy run: one table, two pages. */
static const struct opt trace_table[] = {
    {O_PID, "pid", 'p', OPT_WHOLE, "PID",
     "attach to a running process (all its threads); stop when it\n"
     "exits, on Ctrl-C, or after --duration",
     1, 2147483647, .what = "a process ID"},
    {O_DURATION, "duration", 'd', OPT_REAL, "SEC",
     "stop after SEC seconds (run: CMD keeps running untraced)", 0.001, 31536000, "seconds"},
    {O_INTERVAL, "interval", 'i', OPT_REAL, "SEC",
     "print a one-line live view every SEC seconds (on stderr)", 0.01, 86400, "seconds"},
    {O_JSON, "json", 'j', OPT_OUTPUT, "FILE",
     "write the report as one JSON object to FILE ('-' = stdout);\n"
     "keys are described in docs/json.md"},
    {O_OUTPUT, "output", 'o', OPT_OUTPUT, "FILE",
     "write the text report to FILE instead of stdout"},
    {O_NO_HIST, "no-histograms", 0, OPT_FLAG, NULL,
     "leave the latency histograms out of the text report"},
    {O_ALL, "all", 0, OPT_FLAG, NULL,
     "list every function and syscall in the tables, also those\n"
     "never called (the JSON always has them all)"},
    {O_DRY_RUN, "dry-run", 0, OPT_FLAG, NULL,
     "show which allocator and probe points would be used; attach\nnothing"},
    {O_NO_MOUNT, "no-mount", 0, OPT_FLAG, NULL,
     "do not mount tracefs on /sys/kernel/tracing when it is missing"},
    {O_ENTRY, "probe-at-entry", 0, OPT_FLAG, NULL,
     "probe each function's first instruction even where the kernel\n"
     "must single-step it (~10x the cost; for comparisons)"},
    {O_FLOOR, "probe-floor", 0, OPT_OPTIONAL, "uprobes",
     "attach empty programs at the same probe points and nothing\n"
     "else: the cost floor bench/overhead.py compares against.\n"
     "All of them by default (syscall tracepoints slow every\n"
     "syscall down, so they belong in it); =uprobes: the\n"
     "allocator's uprobes only",
     .choices = floor_choices},
    {O_SLOWEST, "slowest", 0, OPT_WHOLE, "N",
     "the N slowest calls of each function (default 10, at most 64;\n"
     "0: none), each with its syscalls, faults, glibc's internal\n"
     "steps and its call stack; chosen in the kernel, so cheap",
     0, MS_SLOWEST_MAX},
    {O_NO_SYSCALL_STACKS, "no-syscall-stacks", 0, OPT_FLAG, NULL,
     "do not take the caller's stack of each memory syscall made\n"
     "outside allocator calls (shown by bytes and by time)"},
    {O_NO_STEPS, "no-glibc-steps", 0, OPT_FLAG, NULL,
     "do not probe glibc's internal steps (malloc_consolidate,\n"
     "sysmalloc, munmap_chunk, arena_get2, new_heap), which need\n"
     "libc6-dbg and cost a probe hit each time one runs"},
    {O_FOLLOW, "follow", 'f', OPT_FLAG, NULL,
     "trace the processes the target forks, and their children, from\n"
     "their first instruction (each is stopped until its probes are\n"
     "in place), through exec into any program and allocator; with\n"
     "--pid, PID's running descendants too. The report adds one row\n"
     "per executable, the JSON processes[]; with --per-allocation,\n"
     "each process its own (a child starts with its parent's\n"
     "blocks). docs/processes.md"},
    {O_ALLOC, "alloc", 0, OPT_TEXT, "FUNC:size=N[,count=M][,pool=P]",
     "trace FUNC as a custom allocator's allocation: argument N\n"
     "(1 = the first) is the size, times argument M; argument P\n"
     "its pool; the return value is the block. FUNC may be\n"
     "MODULE:FUNC (the start of a file name, or a path) where the\n"
     "symbol is in several files. docs/allocators.md"},
    {O_FREE, "free", 0, OPT_TEXT, "FUNC:ptr=N", "trace FUNC as a free of the block in argument N"},
    {O_REALLOC, "realloc", 0, OPT_TEXT, "FUNC:ptr=N,size=M",
     "trace FUNC as a realloc: block in argument N, new size in M"},
    {O_POOL_CREATE, "pool-create", 0, OPT_TEXT, "FUNC",
     "trace FUNC's calls (a pool's creation: counted and timed)"},
    {O_POOL_CLEAR, "pool-clear", 0, OPT_TEXT, "FUNC:pool=N",
     "trace FUNC as freeing every block of the pool in argument N\n"
     "(the pool stays)"},
    {O_POOL_DESTROY, "pool-destroy", 0, OPT_TEXT, "FUNC:pool=N",
     "trace FUNC as destroying the pool in argument N and its blocks"},
    {O_ALLOC_SPEC, "allocator-spec", 0, OPT_TEXT, "FILE",
     "a custom allocator described in FILE: a 'name: NAME' line and\n"
     "one 'alloc FUNC:size=N' (free, realloc, pool-...) line per\n"
     "function, as the options above; may be given several times"},
    {O_NO_BUILTIN, "no-builtin-allocators", 0, OPT_FLAG, NULL,
     "do not trace the allocators memstudy knows by their symbols\n"
     "(TLSF, kamailio's q_malloc and f_malloc, APR pools)"},
    {O_PER_ALLOC, "per-allocation", 0, OPT_FLAG, NULL,
     "every allocation and page fault, with call stacks: faults per\n"
     "call site, in allocator metadata, in freed memory; see\n"
     "docs/per-allocation.md"},
    {O_TOP, "top", 0, OPT_WHOLE, "N",
     "call sites listed per table in --per-allocation (default 10)", 1, 4096},
    {O_UNWIND, "unwind", 0, OPT_CHOICE, "HOW",
     "how --per-allocation finds each allocation's callers; only fp\n"
     "needs frame pointers. copy (the default): the top of the stack,\n"
     "as far as the thread's frames go (learned) or --stack-bytes,\n"
     "is copied into each record and unwound by memstudy with the\n"
     "code's CFI (perf --call-graph dwarf's way); kernel: the frames\n"
     "are walked at the allocator's return from CFI rows loaded into\n"
     "BPF maps (small records, ~180 ns a frame here; with --follow\n"
     "the target's and its forked children's, the others copied); fp:\n"
     "frame pointers only. docs/design.md says why copy is the default",
     .choices = unwind_choices},
    {O_STACK_BYTES, "stack-bytes", 0, OPT_WHOLE, "N",
     "with --per-allocation: the most stack bytes copied into a\n"
     "record: at every call (--unwind copy), or where the kernel's\n"
     "walk meets code whose CFI is not loaded yet (--unwind kernel);\n"
     "a power of two up to 8192 (default 8192: python's deepest\n"
     "stacks take more than 4096), 0: never",
     0, MS_STACK_COPY_MAX},
    {O_SITES, "sites", 0, OPT_CHOICE, "HOW",
     "with --per-allocation: symbols (the default) makes stacks whose\n"
     "frames name the same functions and lines one call site; address\n"
     "keeps one per distinct stack of return addresses",
     .choices = sites_choices},
    {O_WRAPPER, "wrapper", 0, OPT_TEXT, "NAME",
     "a function that only passes allocations on (repeatable, up to\n"
     "16): sites are named after their first frame outside it. Built\n"
     "in: operator new/new[], xmalloc, xcalloc, xrealloc, xstrdup,\n"
     "g_malloc, g_malloc0, g_realloc, PyMem_*, PyObject_Malloc..."},
    {O_STACK_DEPTH, "stack-depth", 0, OPT_WHOLE, "N",
     "frames kept of each unwound stack (default 32, at most 64)", 1, MS_STACK_DEPTH},
    {O_RINGBUF, "ring-buffer", 0, OPT_POW2, "MB",
     "per-allocation ring buffer in MiB, a power of two from 1 to\n1024 (default 256 with "
     "stacks copied, else 64)",
     1, 1024, "MiB"},
    {O_NO_CAL, "no-calibrate", 0, OPT_FLAG, NULL,
     "do not time empty probes on memstudy itself at the end (~0.1 s);\n"
     "the own-cost line then uses our machines' figures"},
    {O_SLOTS, "thread-slots", 0, OPT_POW2, "N",
     "per-thread state slots in the kernel, a power of two (default:\n"
     "pid_max, at most 65536; 128 bytes each). Threads whose slot\n"
     "is taken use task storage: correct, a little slower",
     1, MS_THREAD_SLOTS_MAX},
    {O_MAPS, "maps", 0, OPT_FLAG, NULL,
     "with --per-allocation, on a target still running at the end:\n"
     "its memory map, each mmapped chunk named by its call site"},
    {O_VERBOSE, "verbose", 'v', OPT_FLAG, NULL, "libbpf and attach details on stderr"},
    {O_VERSION, "version", 0, OPT_FLAG, NULL,
     "memstudy's version, and the libbpf and kernel it was built with"},
    {0},
};

static const char trace_description[] =
    "Shows where a process's memory time goes: every call to the malloc family, and the\n"
    "kernel work done for it - brk, mmap, munmap, mremap, madvise and mprotect syscalls and\n"
    "page faults - with the work that happened inside each allocator call charged to it.\n"
    "\n"
    "Commands:\n"
    "  --pid PID            attach to a running process\n"
    "  run -- CMD [ARGS]    start CMD with every probe in place before its first\n"
    "                       instruction; stdin, stdout and its exit status pass through\n"
    "  record -- CMD        trace every allocation into a file (memstudy.rec)...\n"
    "  report FILE          ...and read it: the report, --leaks, --pprof, --folded\n"
    "  maps PID             pmap -x with a meaning for every mapping (no BPF needed)\n"
    "  study                run the founding notes' experiments traced and explain them";

static const char trace_examples[] =
    "sudo memstudy run -- ./app --input big.txt\ttrace a program from its start\n"
    "sudo memstudy -p 1234 -d 10 -i 1\tten seconds of a running process\n"
    "sudo memstudy run --json out.json -- memstudy-workload churn --count 1e5\tJSON for scripts\n"
    "sudo memstudy run --per-allocation -- ./app\tfaults per call site, with stacks\n"
    "memstudy run --dry-run -- /bin/ls\twhich allocator would be probed\n"
    "sudo memstudy study\tthe founding notes' experiments";

static const char trace_notes[] =
    "Needs root (or CAP_BPF + CAP_PERFMON). Probes are attached for the target only:\n"
    "other processes using the same libc are not slowed. Children the target forks are\n"
    "counted but not traced unless --follow is given. The allocator is the file that\n"
    "defines malloc in the target: the program itself, an LD_PRELOADed library (tcmalloc,\n"
    "mimalloc, jemalloc...), or libc.so.6; C++'s operator new/delete are probed where they\n"
    "are defined (libstdc++, or the allocator replacing them); custom allocators are\n"
    "traced beside it, named with --alloc & co. or chosen by their symbols (TLSF,\n"
    "q_malloc, f_malloc, APR pools: docs/allocators.md). Each call is explained: the\n"
    "slowest calls, with their syscalls, faults and (with libc6-dbg) glibc's internal\n"
    "steps; glibc's own calls are counted apart (docs/slow-calls.md). A program that\n"
    "calls memstudy_phase(\"name\") (the built-in workloads do) gets its report split by\n"
    "phase. Latency percentiles come from a log-linear histogram: within 12.5% of the\n"
    "true value. Output files are refused when another user could redirect them (a\n"
    "directory or link they control).";

static const char trace_exit[] =
    "0 when the trace and its reports were written (run: the command's own exit status);\n"
    "1 when tracing or writing failed; 2 for a usage error; 130 when interrupted and the\n"
    "command was left running.";

const struct cmd_doc trace_doc = {
    .name = "memstudy",
    .summary = "where a process's memory time and pages go, in the allocator and the kernel",
    .synopsis = "memstudy --pid PID [options]\n"
		"memstudy run [options] -- CMD [ARGS...]\n"
		"memstudy record [-o FILE] [options] -- CMD [ARGS...]   (memstudy record --help)\n"
		"memstudy report [options] FILE       (memstudy report --help)\n"
		"memstudy maps PID [options]          (memstudy maps --help)\n"
		"memstudy study [options]             (memstudy study --help)",
    .description = trace_description,
    .opts = trace_table,
    .examples = trace_examples,
    .notes = trace_notes,
    .exit_status = trace_exit,
    .see_also = "memstudy-run(1), memstudy-record(1), memstudy-report(1), memstudy-maps(1), "
		"memstudy-study(1)",
};

const struct cmd_doc run_doc = {
    .name = "memstudy run",
    .summary = "start a command with every probe in place and trace it",
    .synopsis = "memstudy run [options] -- CMD [ARGS...]",
    .description =
	"Starts CMD with every probe in place before its first instruction and traces it\n"
	"until it exits: every call to the malloc family, and the kernel work done for it,\n"
	"with the work done inside each allocator call charged to that call. stdin, stdout\n"
	"and the command's exit status pass through. --pid is for running processes.",
    .opts = trace_table,
    .examples = trace_examples,
    .notes = trace_notes,
    .exit_status = trace_exit,
    .see_also = "memstudy(1), memstudy-maps(1), memstudy-study(1)",
};

struct parse_ctx {
	struct trace_opts *o;
	const struct cmd_doc *doc;
	bool run_mode;
	bool record_mode; /* memstudy record: --pid or a command */
	bool version;
	bool stack_bytes_set;
	bool slowest_set, no_syscall_stacks, no_steps;
	int unwind;   /* UNWIND_* */
	int cli_spec; /* the spec --alloc & co. add to, or -1 */
};

/* --alloc, --free...: a function of the command line's custom allocator ("custom"). */
static int add_spec_fn(struct parse_ctx *c, const struct opt *opt, const char *value)
{
	struct alloc_specs *sp = &c->o->specs;
	char err[512];

	if (c->cli_spec < 0) {
		if (sp->n == SPECS_MAX)
			return opt_usage_error(c->doc, "too many custom allocators (at most %d)",
					       SPECS_MAX);
		c->cli_spec = sp->n++;
		snprintf(sp->s[c->cli_spec].name, sizeof(sp->s[c->cli_spec].name), "custom");
	}
	if (spec__add(&sp->s[c->cli_spec], opt->name, value, err, sizeof(err)))
		return opt_usage_error(c->doc, "--%s %s: %s", opt->name, value, err);
	return 0;
}

static int on_trace_opt(void *ctx, const struct opt *opt, const struct opt_value *v)
{
	struct parse_ctx *c = ctx;
	struct trace_opts *o = c->o;
	char err[512];

	switch (opt->id) {
	case O_RECORD_OUT:
		o->record = v->text;
		break;
	case O_PID:
		if (c->run_mode && !c->record_mode)
			return opt_usage_error(c->doc,
					       "--pid does not go with run: use one or the other");
		o->pid = (pid_t)v->num;
		break;
	case O_DURATION:
		o->duration = v->num;
		break;
	case O_INTERVAL:
		o->interval = v->num;
		break;
	case O_JSON:
		o->json = v->text;
		break;
	case O_OUTPUT:
		o->output = v->text;
		break;
	case O_VERBOSE:
		ms_verbose = o->tracer.verbose = true;
		break;
	case O_DRY_RUN:
		o->dry_run = true;
		break;
	case O_NO_MOUNT:
		o->tracer.no_mount = true;
		break;
	case O_NO_HIST:
		o->no_hist = true;
		break;
	case O_ALL:
		o->all_rows = true;
		break;
	case O_ENTRY:
		o->probe_at_entry = true;
		break;
	case O_MAPS:
		o->maps = true;
		break;
	case O_NO_CAL:
		o->no_calibrate = true;
		break;
	case O_FLOOR:
		o->tracer.floor = v->choice == 1 ? TRACER_FLOOR_UPROBES : TRACER_FLOOR_ALL;
		break;
	case O_PER_ALLOC:
		o->tracer.per_alloc = true;
		break;
	case O_UNWIND:
		c->unwind = v->choice;
		break;
	case O_TOP:
		o->top = (int)v->num;
		break;
	case O_RINGBUF:
		o->tracer.ringbuf_mb = (unsigned int)v->num;
		break;
	case O_SLOTS:
		o->tracer.thread_slots = (unsigned int)v->num;
		break;
	case O_VERSION:
		c->version = true;
		break;
	case O_STACK_BYTES:
		if (v->num && !is_pow2(v->num))
			return opt_usage_error(
			    c->doc,
			    "--stack-bytes takes 0 or a power of two up to 8192, "
			    "got '%s'",
			    v->text);
		o->tracer.stack_bytes = (unsigned int)v->num;
		c->stack_bytes_set = true;
		break;
	case O_STACK_DEPTH:
		o->stack_depth = (int)v->num;
		break;
	case O_SITES:
		o->sites_by_address = v->choice == 1;
		break;
	case O_SLOWEST:
		o->tracer.slowest = (unsigned int)v->num;
		c->slowest_set = true;
		break;
	case O_NO_SYSCALL_STACKS:
		c->no_syscall_stacks = true;
		break;
	case O_NO_STEPS:
		c->no_steps = true;
		break;
	case O_ALLOC:
	case O_FREE:
	case O_REALLOC:
	case O_POOL_CREATE:
	case O_POOL_CLEAR:
	case O_POOL_DESTROY:
		return add_spec_fn(c, opt, v->text);
	case O_ALLOC_SPEC:
		if (o->specs.n == SPECS_MAX)
			return opt_usage_error(c->doc, "--allocator-spec is taken at most %d times",
					       SPECS_MAX);
		if (spec__parse_file(&o->specs.s[o->specs.n], v->text, err, sizeof(err))) {
			ms_err("--allocator-spec %s", err);
			return 2;
		}
		o->specs.n++;
		break;
	case O_FOLLOW:
		o->tracer.follow = true;
		break;
	case O_NO_BUILTIN:
		o->specs.no_builtin = true;
		break;
	case O_WRAPPER:
		if (o->nwrappers == PERALLOC_WRAPPERS_MAX)
			return opt_usage_error(c->doc, "--wrapper is taken at most %d times",
					       PERALLOC_WRAPPERS_MAX);
		o->wrappers[o->nwrappers++] = v->text;
		break;
	}
	return 0;
}

static void print_version(void)
{
	printf("memstudy %s (%s)\nbuilt %s with libbpf %s on kernel %s\n", MEMSTUDY_VERSION,
	       MEMSTUDY_GIT, MEMSTUDY_DATE, MEMSTUDY_LIBBPF, MEMSTUDY_BUILD_KERNEL);
}

/* Options into O; ARGS gets what follows them. 0, or the exit code (-1: --help/--version,
 * exit 0). */
static int parse_opts(int argc, char **argv, const struct cmd_doc *doc, struct trace_opts *o,
		      char ***args, int *nargs)
{
	struct parse_ctx c = {.o = o,
			      .doc = doc,
			      .run_mode = doc != &trace_doc,
			      .record_mode = doc == &record_doc,
			      .cli_spec = -1};
	int rc = opt_parse(c.doc, argc, argv, OPT_STOP_AT_ARG, on_trace_opt, &c, args, nargs);

	if (rc)
		return rc;
	if (c.version) {
		print_version();
		free(*args);
		return OPT_EXIT_HELP;
	}
	if (c.record_mode) {
		o->tracer.per_alloc = true;
		o->tracer.rss = true; /* the timeline's resident set */
		if (!o->record)
			o->record = DEFAULT_RECORDING;
	}
	if (!c.stack_bytes_set)
		o->tracer.stack_bytes = DEFAULT_STACK_BYTES;
	if (!o->stack_depth)
		o->stack_depth = DEFAULT_STACK_DEPTH;
	if (!c.slowest_set)
		o->tracer.slowest = DEFAULT_SLOWEST;
	o->tracer.syscall_stacks = !c.no_syscall_stacks;
	o->tracer.glibc_steps = !c.no_steps;
	o->tracer.walk_depth = c.unwind == UNWIND_KERNEL ? o->stack_depth : 0;
	if (c.unwind == UNWIND_FP)
		o->tracer.stack_bytes = 0;
	else if (c.unwind == UNWIND_COPY && !o->tracer.stack_bytes)
		rc = opt_usage_error(c.doc, "--unwind copy needs --stack-bytes above 0");
	if (o->tracer.follow && o->maps)
		rc = opt_usage_error(c.doc, "--follow does not go with --maps yet");
	else if (o->tracer.follow && c.unwind == UNWIND_KERNEL && !o->tracer.stack_bytes)
		rc = opt_usage_error(
		    c.doc, "--follow --unwind kernel copies the stacks of the processes the "
			   "kernel's tables (the target's code) do not describe: it needs "
			   "--stack-bytes above 0");
	else if (o->tracer.per_alloc && o->tracer.floor)
		rc =
		    opt_usage_error(c.doc, "--per-allocation and --probe-floor do not go together");
	else if (o->maps && !o->tracer.per_alloc)
		rc = opt_usage_error(c.doc,
				     "--maps names chunks by call site: it needs --per-allocation");
	if (rc)
		free(*args);
	return rc;
}

/* Attach to the running process O->pid and trace it as O says. */
static int trace_pid(struct trace_opts *o)
{
	struct target t;

	if (!o->dry_run && tracer__check_privileges())
		return 1;
	if (target__check_pid(&t, o->pid))
		return 1;
	t.specs = &o->specs;
	t.specs_optional = o->tracer.follow; /* a spec may be for a descendant's image */
	if (target__resolve_pid(&t))
		return 1;
	t.probe_at_entry = o->probe_at_entry;
	target__place_probes(&t);
	if (o->dry_run) {
		tracer__print_probes(&t, stdout);
		return 0;
	}
	trace_session__signals();
	return trace_session(&t, o, 0, -1, NULL);
}

int cmd_trace(int argc, char **argv)
{
	struct trace_opts o = {};
	char **args;
	int err, nargs;

	err = parse_opts(argc, argv, &trace_doc, &o, &args, &nargs);
	if (err)
		return err == OPT_EXIT_HELP ? 0 : err;
	if (nargs) {
		err = opt_usage_error(&trace_doc,
				      "unexpected argument '%s'; to start a command use 'memstudy "
				      "run -- CMD'",
				      args[0]);
		free(args);
		return err;
	}
	free(args);
	if (!o.pid) {
		fprintf(stderr, "memstudy: say what to trace: --pid PID or run -- CMD\n\n");
		opt_print_help(&trace_doc, stderr);
		return 2;
	}
	return trace_pid(&o);
}

/* Start ARGS (NARGS words) with every probe in place and trace it as O says. */
static int run_command(struct trace_opts *o, char **args, int nargs)
{
	char path[PATH_MAX];
	int go[2], err, status = 0, ret;
	struct target t = {};
	pid_t child;

	err = target__command_path(args[0], path, sizeof(path));
	t.specs = &o->specs;
	t.specs_optional = o->tracer.follow; /* a spec may be for an exec'd image */
	if (!err && target__resolve_exec(&t, path))
		err = 1;
	if (err) {
		free(args);
		return err;
	}
	t.probe_at_entry = o->probe_at_entry;
	target__place_probes(&t);
	snprintf(t.comm, sizeof(t.comm), "%.15s",
		 strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	if (o->dry_run || tracer__check_privileges() || pipe2(go, O_CLOEXEC)) {
		if (o->dry_run)
			tracer__print_probes(&t, stdout);
		free(args);
		return o->dry_run ? 0 : 1;
	}
	fflush(NULL);
	child = fork();
	if (child < 0) {
		ms_err("fork: %s", strerror(errno));
		free(args);
		return 1;
	}
	if (child == 0) {
		char c;

		/* Wait for the probes; execve straight away (no allocation before exec). */
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(127); /* memstudy gave up: never run the command untraced */
		execve(path, args, environ);
		_exit(127);
	}
	close(go[0]);
	t.pid = child;
	o->cmdline = args;
	trace_session__signals();
	ret = trace_session(&t, o, child, go[1], &status);
	free(args);
	if (ret)
		return ret;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int cmd_run(int argc, char **argv)
{
	struct trace_opts o = {};
	char **args;
	int err, nargs;

	err = parse_opts(argc, argv, &run_doc, &o, &args, &nargs);
	if (err)
		return err == OPT_EXIT_HELP ? 0 : err;
	if (!nargs) {
		free(args);
		return opt_usage_error(
		    &run_doc, "run needs a command: memstudy run [options] -- CMD [ARGS...]");
	}
	return run_command(&o, args, nargs);
}

/* memstudy record: the tracer's options but those of the text report and of what a
 * recording does not hold yet; -o is the recording. Made from trace_table at start. */
static struct opt record_table[ARRAY_SIZE(trace_table) + 1];

static const struct opt record_output = {
    O_RECORD_OUT,
    "output",
    'o',
    OPT_OUTPUT,
    "FILE",
    "the recording (default " DEFAULT_RECORDING " in the current\n"
    "directory); written as the trace runs, so that a trace cut\n"
    "short (kill -9, a full disk) keeps what came before"};

static void record_table_init(void)
{
	static const int left_out[] = {O_OUTPUT,  O_PER_ALLOC, O_MAPS, O_FLOOR,
				       O_NO_HIST, O_ALL,       O_TOP};
	int n = 0;

	if (record_table[0].id)
		return;
	for (const struct opt *t = trace_table; t->id; t++) {
		bool keep = true;

		for (size_t i = 0; i < ARRAY_SIZE(left_out); i++)
			keep &= t->id != left_out[i];
		if (t->id == O_JSON)
			record_table[n++] = record_output;
		if (keep)
			record_table[n++] = *t;
	}
}

const struct cmd_doc record_doc = {
    .name = "memstudy record",
    .summary = "trace every allocation into a file, for memstudy report",
    .synopsis = "memstudy record [-o FILE] [options] -- CMD [ARGS...]\n"
		"memstudy record [-o FILE] [options] --pid PID",
    .description =
	"Traces as 'memstudy run --per-allocation' does - every allocation, free and page\n"
	"fault, with its call stack, and the kernel work inside each allocator call - and\n"
	"writes it all to FILE as the trace runs: the records in the order the collector\n"
	"took them (stacks unwound once and kept once), the target's memory maps as read,\n"
	"the counters at the end, and what was traced, how and where. 'memstudy report\n"
	"FILE' reads it, without root, here or on a machine with the same binaries (or\n"
	"their debug files): the same report with the same numbers, the leaks by call\n"
	"site, and exports for pprof and flame graphs. With --follow, every process of the\n"
	"tree is recorded, and the report has each one's own numbers and per-allocation\n"
	"sections (processes[]), stacks named with its own program's code, as 'memstudy run\n"
	"--follow --per-allocation' prints them; --leaks, --check and the exports are then\n"
	"the target's. The format is docs/record-format.md.",
    .opts = record_table,
    .examples = "sudo memstudy record -- ./app --input big.txt\trecord a program into "
		"memstudy.rec\n"
		"sudo memstudy record -o redis.rec -p $(pidof redis-server) -d 30\t30 s of a "
		"running server\n"
		"sudo memstudy record --follow -- make -j2\tthe build's every process: make, "
		"gcc, cc1, as, ld\n"
		"memstudy report memstudy.rec\tthe report, as memstudy run prints it\n"
		"memstudy report --leaks memstudy.rec\twhat was never freed, by call site",
    .notes = "Needs root (or CAP_BPF + CAP_PERFMON), as memstudy run. --json also writes the\n"
	     "report memstudy run --json would. A recording is read by the memstudy that\n"
	     "wrote it (or one with the same data layout); report says which one otherwise.",
    .exit_status = "as memstudy run's: the command's own exit status once the recording "
		   "is written; 1 when tracing or writing failed; 2 for a usage error.",
    .see_also = "memstudy-report(1), memstudy-run(1)",
};

int cmd_record(int argc, char **argv)
{
	struct trace_opts o = {};
	char **args;
	int err, nargs;

	record_table_init();
	err = parse_opts(argc, argv, &record_doc, &o, &args, &nargs);
	if (err)
		return err == OPT_EXIT_HELP ? 0 : err;
	if (nargs && o.pid) {
		free(args);
		return opt_usage_error(&record_doc, "give a command or --pid, not both");
	}
	if (nargs)
		return run_command(&o, args, nargs);
	free(args);
	if (!o.pid)
		return opt_usage_error(&record_doc,
				       "say what to record: -- CMD [ARGS...], or --pid PID");
	return trace_pid(&o);
}
