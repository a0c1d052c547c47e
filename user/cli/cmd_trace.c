// SPDX-License-Identifier: GPL-2.0
/*
 * memstudy --pid PID   and   memstudy run -- CMD: trace one process's allocator calls and
 * the kernel memory work done for it, then print the correlated report.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "attach/calibrate.h"
#include "cli/commands.h"
#include "maps/maps.h"
#include "analyse/peralloc.h"
#include "attach/tracer.h"
#include "lib/util.h"

extern char **environ;

struct trace_opts {
	pid_t pid;
	double duration;
	double interval;
	const char *json;
	const char *output;
	bool dry_run;
	bool no_hist;
	bool no_calibrate;
	bool probe_at_entry;
	bool maps; /* --maps: annotated memory map at the end (per-allocation, live target) */
	int top;
	struct tracer_opts tracer;
};

static const char usage_trace[] =
    "Usage: memstudy --pid PID [options]\n"
    "       memstudy run [options] -- CMD [ARGS...]\n"
    "       memstudy maps PID [options]          (memstudy maps --help)\n"
    "       memstudy study [options]             (memstudy study --help)\n"
    "\n"
    "Shows where a process's memory time goes: every call to the malloc family, and the\n"
    "kernel work done for it - brk, mmap, munmap, mremap, madvise and mprotect syscalls and\n"
    "page faults - with the work that happened inside each allocator call charged to it.\n"
    "\n"
    "Modes:\n"
    "  -p, --pid PID        attach to a running process (all its threads); stop when it\n"
    "                       exits, on Ctrl-C, or after --duration\n"
    "  run -- CMD [ARGS]    start CMD with every probe in place before its first\n"
    "                       instruction; stdin, stdout and its exit status pass through\n"
    "\n"
    "Options:\n"
    "  -d, --duration SEC   stop after SEC seconds (run: CMD keeps running untraced)\n"
    "  -i, --interval SEC   print a one-line live view every SEC seconds (on stderr)\n"
    "  -j, --json FILE      write the report as one JSON object to FILE ('-' = stdout);\n"
    "                       keys are described in docs/json.md\n"
    "  -o, --output FILE    write the text report to FILE instead of stdout\n"
    "      --no-histograms  leave the latency histograms out of the text report\n"
    "      --dry-run        show which allocator and probe points would be used; attach\n"
    "                       nothing\n"
    "      --no-mount       do not mount tracefs on /sys/kernel/tracing when it is missing\n"
    "      --probe-at-entry probe each function's first instruction even where the kernel\n"
    "                       must single-step it (~10x the cost; for comparisons)\n"
    "      --probe-floor[=uprobes]\n"
    "                       attach empty programs at the same probe points and nothing\n"
    "                       else: the cost floor bench/overhead.py compares against.\n"
    "                       All of them by default (syscall tracepoints slow every\n"
    "                       syscall down, so they belong in it); =uprobes: the\n"
    "                       allocator's uprobes only\n"
    "      --per-allocation every allocation and page fault, with call stacks: faults per\n"
    "                       call site, in allocator metadata, in freed memory; see\n"
    "                       docs/per-allocation.md\n"
    "      --top N          call sites listed per table in --per-allocation (default 10)\n"
    "      --ring-buffer MB per-allocation ring buffer (default 64; a power of two)\n"
    "      --no-calibrate   do not time empty probes on memstudy itself at the end (~0.1 s);\n"
    "                       the own-cost line then uses our machines' figures\n"
    "      --thread-slots N per-thread state slots in the kernel, a power of two (default:\n"
    "                       pid_max, at most 65536; 128 bytes each). Threads whose slot\n"
    "                       is taken use task storage: correct, a little slower\n"
    "      --maps           with --per-allocation, on a target still running at the end:\n"
    "                       its memory map, each mmapped chunk named by its call site\n"
    "  -v, --verbose        libbpf and attach details on stderr\n"
    "  -h, --help           this help\n"
    "\n"
    "Examples:\n"
    "  sudo memstudy run -- ./app --input big.txt    trace a program from its start\n"
    "  sudo memstudy -p 1234 -d 10 -i 1              ten seconds of a running process\n"
    "  sudo memstudy run --json out.json -- memstudy-workload churn --count 1e5\n"
    "  sudo memstudy run --per-allocation -- ./app    faults per call site, with stacks\n"
    "  memstudy run --dry-run -- /bin/ls             which allocator would be probed\n"
    "  sudo memstudy study                           the founding notes' experiments\n"
    "\n"
    "Notes:\n"
    "  Needs root (or CAP_BPF + CAP_PERFMON). Probes are attached for the target only:\n"
    "  other processes using the same libc are not slowed. Children the target forks are\n"
    "  not followed. The allocator is the file that defines malloc in the target: the\n"
    "  program itself, an LD_PRELOADed library, or libc.so.6. A program that calls\n"
    "  memstudy_phase(\"name\") (the built-in workloads do) gets its report split by phase.\n"
    "  Latency percentiles come from a log-linear histogram: within 12.5% of the true value.\n";

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	stop_requested = 1;
}

static int parse_opts(int argc, char **argv, bool run_mode, struct trace_opts *o)
{
	enum {
		OPT_DRY = 256,
		OPT_NO_MOUNT,
		OPT_NO_HIST,
		OPT_ENTRY,
		OPT_FLOOR,
		OPT_PA,
		OPT_TOP,
		OPT_RB,
		OPT_MAPS,
		OPT_SLOTS,
		OPT_NO_CAL,
	};
	static const struct option longopts[] = {
	    {"pid", required_argument, NULL, 'p'},
	    {"duration", required_argument, NULL, 'd'},
	    {"interval", required_argument, NULL, 'i'},
	    {"json", required_argument, NULL, 'j'},
	    {"output", required_argument, NULL, 'o'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"dry-run", no_argument, NULL, OPT_DRY},
	    {"no-mount", no_argument, NULL, OPT_NO_MOUNT},
	    {"no-histograms", no_argument, NULL, OPT_NO_HIST},
	    {"probe-at-entry", no_argument, NULL, OPT_ENTRY},
	    {"probe-floor", optional_argument, NULL, OPT_FLOOR},
	    {"per-allocation", no_argument, NULL, OPT_PA},
	    {"top", required_argument, NULL, OPT_TOP},
	    {"ring-buffer", required_argument, NULL, OPT_RB},
	    {"maps", no_argument, NULL, OPT_MAPS},
	    {"thread-slots", required_argument, NULL, OPT_SLOTS},
	    {"no-calibrate", no_argument, NULL, OPT_NO_CAL},
	    {NULL, 0, NULL, 0},
	};
	double v;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:d:i:j:o:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (run_mode || !parse_number(optarg, &v) || v != (pid_t)v || v < 1) {
				ms_err(run_mode ? "--pid does not go with run: use one or the other"
						: "--pid takes a process ID, got '%s'",
				       optarg);
				return 2;
			}
			o->pid = v;
			break;
		case 'd':
		case 'i':
			if (!parse_number(optarg, &v) || v <= 0) {
				ms_err("--%s takes a number of seconds > 0, got '%s'",
				       c == 'd' ? "duration" : "interval", optarg);
				return 2;
			}
			*(c == 'd' ? &o->duration : &o->interval) = v;
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'v':
			ms_verbose = o->tracer.verbose = true;
			break;
		case 'h':
			fputs(usage_trace, stdout);
			exit(0);
		case OPT_DRY:
			o->dry_run = true;
			break;
		case OPT_NO_MOUNT:
			o->tracer.no_mount = true;
			break;
		case OPT_NO_HIST:
			o->no_hist = true;
			break;
		case OPT_ENTRY:
			o->probe_at_entry = true;
			break;
		case OPT_MAPS:
			o->maps = true;
			break;
		case OPT_NO_CAL:
			o->no_calibrate = true;
			break;
		case OPT_FLOOR:
			if (!optarg || !strcmp(optarg, "all")) {
				o->tracer.floor = TRACER_FLOOR_ALL;
			} else if (!strcmp(optarg, "uprobes")) {
				o->tracer.floor = TRACER_FLOOR_UPROBES;
			} else {
				ms_err("--probe-floor takes 'all' (the default) or 'uprobes', got "
				       "'%s'",
				       optarg);
				return 2;
			}
			break;
		case OPT_PA:
			o->tracer.per_alloc = true;
			break;
		case OPT_TOP:
		case OPT_RB:
			if (!parse_number(optarg, &v) || v < 1 || v > 4096 || v != (int)v) {
				ms_err("--%s takes a whole number from 1 to 4096, got '%s'",
				       c == OPT_TOP ? "top" : "ring-buffer", optarg);
				return 2;
			}
			if (c == OPT_TOP)
				o->top = v;
			else
				o->tracer.ringbuf_mb = v;
			break;
		case OPT_SLOTS:
			if (!parse_number(optarg, &v) || v < 1 || v > MS_THREAD_SLOTS_MAX ||
			    v != (unsigned int)v || ((unsigned int)v & ((unsigned int)v - 1))) {
				ms_err("--thread-slots takes a power of two from 1 to %d, got '%s'",
				       MS_THREAD_SLOTS_MAX, optarg);
				return 2;
			}
			o->tracer.thread_slots = v;
			break;
		default:
			if (optopt && strchr("pdijo", optopt))
				ms_err("option -%c needs a value; see 'memstudy --help'", optopt);
			else
				ms_err("unknown option '%s'; see 'memstudy --help'",
				       argv[optind - 1]);
			return 2;
		}
	}
	if (o->tracer.per_alloc && o->tracer.floor) {
		ms_err("--per-allocation and --probe-floor do not go together");
		return 2;
	}
	return 0;
}

static double now_s(void)
{
	return mono_ns() / 1e9;
}

/* Has the target ended? For run, reap it and keep its status. */
static bool target_gone(pid_t child, int pidfd, int *status)
{
	if (child > 0)
		return waitpid(child, status, WNOHANG) == child;
	if (pidfd >= 0) {
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		return poll(&p, 1, 0) == 1;
	}
	return false;
}

/* The summary's JSON with "per_allocation" added: report.c writes it to a memfd first. */
static int write_json_peralloc(const struct report *r, struct peralloc *pa, const char *path)
{
	char fdpath[64];
	int fd = memfd_create("memstudy-json", MFD_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	err = report__write_json(r, fdpath);
	if (!err)
		err = peralloc__merge_json(pa, fd, path, 0);
	close(fd);
	return err;
}

/*
 * --maps: memstudy maps of the live target, with each mmapped malloc chunk named by the
 * call site of the live allocation it holds (docs/maps.md).
 */
static void print_annotated_maps(pid_t pid, struct peralloc *pa, FILE *out)
{
	struct maps_options mo = {0};
	struct maps_snapshot *s = maps_snapshot__read(pid);
	char site[512];

	if (!s) {
		fprintf(out, "\n(--maps: PID %d has exited; its memory map is gone)\n", pid);
		return;
	}
	maps_snapshot__label(s, &mo);
	for (size_t i = 0; i < s->nr_maps; i++) {
		const struct maps_mapping *m = &s->maps[i];

		/* glibc's mmapped chunk: 16 bytes of header, then the block */
		if (m->label == MAPS_L_MMAP_CHUNK &&
		    peralloc__describe_addr(pa, m->start + 16, site, sizeof(site)))
			maps_snapshot__annotate(s, m->start, site);
	}
	fprintf(out, "\nMemory map at the end of the trace (mmapped chunks named by the call "
		     "that made them):\n");
	maps_snapshot__print(s, out);
	maps_snapshot__free(s);
}

static int write_reports(const struct report *r, const struct trace_opts *o, struct peralloc *pa)
{
	FILE *out = stdout;
	int err;

	if (o->tracer.floor) {
		fprintf(stderr,
			"memstudy: --probe-floor: empty programs were attached for %.3f s; "
			"nothing was counted\n",
			r->duration_s);
		return 0;
	}

	if (o->json) {
		err = pa ? write_json_peralloc(r, pa, o->json) : report__write_json(r, o->json);
		if (err) {
			ms_err("cannot write %s: %s", o->json, strerror(-err));
			return 1;
		}
	}
	if (o->json && !strcmp(o->json, "-") && !o->output)
		return 0; /* stdout holds the JSON alone */
	if (o->output && !(out = fopen(o->output, "w"))) {
		ms_err("cannot write %s: %s", o->output, strerror(errno));
		return 1;
	}
	report__print_text(r, out, !o->no_hist);
	if (pa)
		peralloc__print_text(pa, out, o->top ? o->top : 10);
	if (pa && o->maps)
		print_annotated_maps(r->target->pid, pa, out);
	if (out != stdout)
		fclose(out);
	else
		fflush(out);
	return 0;
}

/*
 * Trace T until it exits, a signal, or the duration. CHILD > 0 in run mode: it waits on
 * GO_FD for the attach to finish. Returns memstudy's exit code; *child_status for run.
 */
static int trace_target(struct target *t, const struct trace_opts *o, pid_t child, int go_fd,
			int *child_status)
{
	struct report *r = calloc(2, sizeof(*r)), *prev = r + 1;
	struct tracer *tr;
	double start, last_tick;
	int pidfd = -1, ret = 1;
	bool exited = false;

	if (!r)
		return 1;
	tracer__warn_single_stepped(t);
	tr = tracer__open(t, &o->tracer);
	if (!tr || tracer__attach(tr))
		goto out;
	if (o->tracer.verbose)
		tracer__print_probes(t, stderr);
	if (child > 0) {
		if (write(go_fd, "g", 1) != 1) {
			ms_err("cannot start the command: %s", strerror(errno));
			goto out;
		}
		close(go_fd);
		go_fd = -1;
	} else {
		pidfd = syscall(SYS_pidfd_open, t->pid, 0);
		if (pidfd < 0 || target_gone(0, pidfd, NULL)) {
			ms_err("PID %d exited before the probes were in place", t->pid);
			goto out;
		}
		fprintf(stderr, "memstudy: tracing PID %d (%s)%s; Ctrl-C to stop\n", t->pid,
			t->comm, o->duration ? "" : " until it exits");
	}
	start = last_tick = now_s();
	while (!stop_requested) {
		double now;

		/* 20 ms: the end of the target shows up within that, at ~50 wakeups a second */
		if (tracer__poll(tr, 20) < 0 && errno != EINTR)
			break;
		if (target_gone(child, pidfd, child_status)) {
			exited = true;
			break;
		}
		now = now_s();
		if (o->duration && now - start >= o->duration)
			break;
		if (o->interval && now - last_tick >= o->interval) {
			if (!tracer__collect(tr, r)) {
				report__print_interval(prev, r, now - last_tick, stderr);
				*prev = *r;
			}
			last_tick = now;
		}
	}
	if (tracer__collect(tr, r)) {
		ms_err("cannot read the BPF maps: %s", strerror(errno));
		goto out;
	}
	tracer__detach(tr); /* the target runs at full speed from here */
	r->target_exited = exited;
	if (o->no_calibrate || o->tracer.floor)
		probe_costs__defaults(&r->costs);
	else
		probe_costs__measure(&r->costs); /* after detach: the target is not slowed */
	ret = write_reports(r, o, tracer__finish_peralloc(tr));
out:
	if (go_fd >= 0)
		close(go_fd);
	if (pidfd >= 0)
		close(pidfd);
	tracer__destroy(tr);
	if (child > 0 && !exited) {
		if (ret)
			kill(child, SIGKILL); /* never started: the probes failed */
		waitpid(child, child_status, 0);
	}
	free(r);
	return ret;
}

static void install_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int cmd_trace(int argc, char **argv)
{
	struct trace_opts o = {};
	struct target t;
	int err;

	err = parse_opts(argc, argv, false, &o);
	if (err)
		return err;
	if (o.maps && !o.tracer.per_alloc) {
		ms_err("--maps names chunks by call site: it needs --per-allocation");
		return 2;
	}
	if (optind < argc) {
		ms_err("unexpected argument '%s'; to start a command use 'memstudy run -- CMD'",
		       argv[optind]);
		return 2;
	}
	if (!o.pid) {
		fprintf(stderr, "memstudy: say what to trace: --pid PID or run -- CMD\n\n%s",
			usage_trace);
		return 2;
	}
	if (!o.dry_run && tracer__check_privileges())
		return 1;
	if (target__check_pid(&t, o.pid) || target__resolve_pid(&t))
		return 1;
	t.probe_at_entry = o.probe_at_entry;
	target__place_probes(&t);
	if (o.dry_run) {
		tracer__print_probes(&t, stdout);
		return 0;
	}
	install_signals();
	return trace_target(&t, &o, 0, -1, NULL);
}

/* CMD as execve() wants it: searched in PATH like a shell does. */
static int resolve_command(const char *cmd, char *path, size_t size)
{
	const char *dirs = getenv("PATH");
	char real[PATH_MAX];
	struct stat st;
	char *copy, *dir, *save;

	if (strchr(cmd, '/')) {
		snprintf(path, size, "%s", cmd);
	} else {
		path[0] = '\0';
		copy = strdup(dirs && *dirs ? dirs : "/usr/local/bin:/usr/bin:/bin");
		for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
			snprintf(path, size, "%s/%s", *dir ? dir : ".", cmd);
			if (!access(path, X_OK) && !stat(path, &st) && S_ISREG(st.st_mode))
				break;
			path[0] = '\0';
		}
		free(copy);
		if (!path[0]) {
			ms_err("cannot run '%s': command not found in PATH", cmd);
			return 127;
		}
	}
	if (stat(path, &st)) {
		ms_err("cannot run '%s': %s", cmd, strerror(errno));
		return 127;
	}
	if (realpath(path, real))
		snprintf(path, size, "%s", real); /* reports name the file, wherever we ran */
	if (!S_ISREG(st.st_mode) || access(path, X_OK)) {
		ms_err("cannot run '%s': not an executable file", cmd);
		return 126;
	}
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct trace_opts o = {};
	char path[PATH_MAX];
	int go[2], err, status = 0, ret;
	struct target t = {};
	pid_t child;

	err = parse_opts(argc, argv, true, &o);
	if (err)
		return err;
	if (o.maps && !o.tracer.per_alloc) {
		ms_err("--maps names chunks by call site: it needs --per-allocation");
		return 2;
	}
	if (optind >= argc) {
		ms_err("run needs a command: memstudy run [options] -- CMD [ARGS...]");
		return 2;
	}
	err = resolve_command(argv[optind], path, sizeof(path));
	if (err)
		return err;
	if (target__resolve_exec(&t, path))
		return 1;
	t.probe_at_entry = o.probe_at_entry;
	target__place_probes(&t);
	snprintf(t.comm, sizeof(t.comm), "%.15s",
		 strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	if (o.dry_run) {
		tracer__print_probes(&t, stdout);
		return 0;
	}
	if (tracer__check_privileges())
		return 1;
	if (pipe2(go, O_CLOEXEC))
		return 1;
	fflush(NULL);
	child = fork();
	if (child < 0) {
		ms_err("fork: %s", strerror(errno));
		return 1;
	}
	if (child == 0) {
		char c;

		/* Wait for the probes; execve straight away (no allocation before exec). */
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(127); /* memstudy gave up: never run the command untraced */
		execve(path, argv + optind, environ);
		_exit(127);
	}
	close(go[0]);
	t.pid = child;
	install_signals();
	ret = trace_target(&t, &o, child, go[1], &status);
	if (ret)
		return ret;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
