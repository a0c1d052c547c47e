// SPDX-License-Identifier: GPL-2.0
/*
 * One trace, from start to report: the per-allocation collector and the record consumer
 * set up, the BPF object loaded and attached (prepare -> load -> attach), the command let
 * go or the process attached to (activate), records and counters collected until the end,
 * then detach, finish, and the reports written.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "analyse/codemap.h"
#include "analyse/peralloc.h"
#include "analyse/slowcalls.h"
#include "analyse/unwind.h"
#include "attach/calibrate.h"
#include "attach/tracer.h"
#include "cli/trace_session.h"
#include "collect/events.h"
#include "collect/procs.h"
#include "collect/summary.h"
#include "lib/util.h"
#include "output/report.h"
#include "output/trace_report.h"
#include "record/capture.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	stop_requested++;
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

/* The execs the trace saw, resolved: does the new image use the probed allocator? Each one
 * whose calls went untraced gets a warning. */
static void note_execs(const struct event_sink *ev, const struct target *t, struct report *r)
{
	const struct exec_seen *x = ev->execs;
	int n = ev->nexecs;

	r->execs_dropped = ev->execs_dropped + (n > REPORT_MAX_EXECS ? n - REPORT_MAX_EXECS : 0);
	for (int i = 0; i < n && i < REPORT_MAX_EXECS; i++) {
		struct report_exec *e = &r->execs[r->nexecs++];

		e->t_s = x[i].ts_ns > r->phases[0].start_ns
			     ? (x[i].ts_ns - r->phases[0].start_ns) / 1e9
			     : 0;
		snprintf(e->exe, sizeof(e->exe), "%s", x[i].filename);
		e->probed =
		    target__exec_traced(t, x[i].filename, e->allocator, sizeof(e->allocator));
		/* --follow probed the new image, whatever its allocator */
		e->probed |= ev->procs != NULL;
		if (!e->probed)
			ms_warn("PID %d exec'ed %s at %.3f s; its allocator (%s) is not the one "
				"probed, so its calls are not in this report (--follow probes each "
				"new image's allocator)",
				t->pid, e->exe, e->t_s, e->allocator);
	}
}

/*
 * run: the trace has ended (Ctrl-C, --duration) but the command goes on, and its exit
 * status is to be memstudy's. Wait, saying so; another Ctrl-C stops waiting and leaves it
 * running. False when it was left running.
 */
static bool wait_for_child(pid_t child, const char *comm, int *status)
{
	int seen = stop_requested, pidfd = syscall(SYS_pidfd_open, child, 0);
	sigset_t stops, open_mask;
	bool said = false, done;

	/* The signals stay blocked but in ppoll, which lets them in atomically: a Ctrl-C that
	 * comes between the check and the wait cannot be missed. */
	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGHUP);
	sigprocmask(SIG_BLOCK, &stops, &open_mask);
	for (;;) {
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		pid_t got = waitpid(child, status, WNOHANG);

		if (got == child || (got < 0 && errno != EINTR)) {
			done = true; /* exited, or not ours to wait for any more */
			break;
		}
		if (!said) {
			fprintf(stderr,
				"memstudy: the trace has ended; waiting for PID %d (%s) to exit, "
				"as its exit status is memstudy's. Ctrl-C again leaves it running "
				"untraced\n",
				child, comm);
			said = true;
			seen = stop_requested;
		}
		if (stop_requested > seen) {
			fprintf(stderr, "memstudy: left PID %d (%s) running, untraced\n", child,
				comm);
			done = false;
			break;
		}
		if (pidfd < 0) { /* no pidfd: poll the child's state every 50 ms */
			struct timespec t = {0, 50 * 1000 * 1000};

			ppoll(NULL, 0, &t, &open_mask);
		} else {
			ppoll(&p, 1, NULL, &open_mask);
		}
	}
	sigprocmask(SIG_SETMASK, &open_mask, NULL);
	if (pidfd >= 0)
		close(pidfd);
	return done;
}

struct idle_ctx {
	struct peralloc *pa;
	struct procs *procs;	 /* --follow: the other processes' collectors */
	struct capture *capture; /* memstudy record */
};

static void refresh_modules(void *arg)
{
	struct idle_ctx *c = arg;

	peralloc__refresh_modules(c->pa, false);
	if (c->procs)
		procs__refresh(c->procs);
	if (c->capture)
		capture__tick(c->capture);
}

/* How each per-allocation collector is made: the target's, and with --follow each new
 * process's. */
struct pa_factory {
	const struct trace_opts *o;
	struct tracer *tr;
	const char *names[MS_FN_MAX];
	/* a child's side of the kernel's unwinding: its copies' tops, never the tables,
	 * which hold the target's code (the kernel walks a child only while its memory is
	 * its parent's: walks_here) */
	struct unwind_kernel_ops child_ops;
};

static struct peralloc *make_peralloc(struct pa_factory *f, pid_t pid, bool attached_late,
				      struct codemap *cm)
{
	struct peralloc *pa = peralloc__new(pid, attached_late, cm);

	if (!pa)
		return NULL;
	peralloc__set_stack_depth(pa, f->o->stack_depth);
	peralloc__set_sites_by_address(pa, f->o->sites_by_address);
	peralloc__set_fn_names(pa, f->names);
	for (int i = 0; i < f->o->nwrappers; i++)
		peralloc__add_wrapper(pa, f->o->wrappers[i]);
	if (f->tr)
		collect__watch_lost(f->tr, pa);
	return pa;
}

static struct peralloc *new_child_peralloc(void *ctx, pid_t pid, struct codemap *cm)
{
	struct pa_factory *f = ctx;
	struct peralloc *pa = make_peralloc(f, pid, false, cm);

	if (pa && f->child_ops.ctx)
		peralloc__set_kernel_unwind(pa, &f->child_ops);
	return pa;
}

/* Once, before the trace: what glibc's debug file would add when it is missing. */
static void note_steps(const struct target *t, const struct trace_opts *o)
{
	if (!t->is_glibc || !o->tracer.glibc_steps || o->tracer.floor)
		return;
	if (!t->steps.debug_file[0])
		ms_warn("glibc's debug symbols are not installed (%s has build-id %s): %s",
			t->allocator, t->steps.build_id[0] ? t->steps.build_id : "?",
			glibc_steps_hint);
	else if (!glibc_steps__count(&t->steps))
		ms_warn("%s names none of glibc's internal steps: they are not traced",
			t->steps.debug_file);
}

static void refresh_code(void *cm)
{
	codemap__refresh(cm, false);
}

/* --pid: ld.so's text, so that its calls (TLS, dlopen) count as glibc's own. */
static void note_loader(struct tracer *tr, pid_t pid)
{
	uint64_t start, end;

	if (target__loader_text(pid, &start, &end))
		tracer__set_loader_text(tr, start, end);
}

/*
 * Trace T until it exits, a signal, or the duration. CHILD > 0 in run mode: it waits on
 * GO_FD for the attach to finish. Returns memstudy's exit code; *child_status for run.
 */
int trace_session(struct target *t, const struct trace_opts *o, pid_t child, int go_fd,
		  int *child_status)
{
	struct report *r = calloc(2, sizeof(*r)), *prev = r + 1;
	struct peralloc *pa = NULL;
	struct codemap *cm = NULL;
	struct slowcalls *sc = NULL;
	struct tracer *tr = NULL;
	struct capture *cap = NULL;
	struct event_sink ev = {0};
	struct pa_factory factory;
	struct idle_ctx idle;
	double start, last_tick;
	int pidfd = -1, ret = 1;
	bool exited = false, started = false;

	if (!r)
		return 1;
	tracer__warn_single_stepped(t);
	note_steps(t, o);
	if (o->tracer.per_alloc || o->tracer.slowest || o->tracer.syscall_stacks) {
		cm = codemap__new(t->pid);
		if (!cm) {
			ms_err("cannot set up the symbolizer: %s", strerror(errno));
			goto out;
		}
	}
	if (!o->tracer.floor) { /* off, its sections are there and empty */
		sc = slowcalls__new(cm, o->tracer.slowest, o->stack_depth);
		if (!sc) {
			ms_err("cannot set up the slow-call collector: %s", strerror(errno));
			goto out;
		}
	}
	factory = (struct pa_factory){.o = o};
	target__fn_names(t, factory.names);
	if (o->tracer.per_alloc) {
		/* --pid: blocks may have been allocated before tracing */
		pa = make_peralloc(&factory, t->pid, child <= 0, cm);
		if (!pa) {
			ms_err("cannot set up the per-allocation collector: %s", strerror(errno));
			goto out;
		}
	}
	event_sink__init(&ev, t->pid, t->has_phase, child > 0, pa);
	event_sink__set_code(&ev, cm, sc);
	if (o->record) { /* per-allocation mode: PA and CM are there */
		cap = capture__open(o->record, &ev, pa, cm);
		if (!cap || capture__start(cap, t, o, child > 0, o->cmdline))
			goto out;
		tr = tracer__open(t, &o->tracer, capture__record, cap);
		if (tr)
			capture__watch_lost(cap, tr);
	} else {
		tr = tracer__open(t, &o->tracer, event_sink__record, &ev);
	}
	if (!tr)
		goto out;
	if (pa) {
		const struct unwind_kernel_ops *uk = tracer__unwind_ops(tr);

		if (uk)
			peralloc__set_kernel_unwind(pa, uk);
		/* --pid: the code already mapped, its rows loaded before the first probe hits;
		 * run: the command's, once it is exec'd (its first records say so) */
		if (child <= 0)
			peralloc__refresh_modules(pa, true);
	} else if (cm && child <= 0) {
		codemap__refresh(cm, true);
	}
	if (child <= 0)
		note_loader(tr, t->pid);
	if (tracer__attach(tr))
		goto out;
	if (cap)
		capture__started(cap, tracer__start_ns(tr));
	if (o->tracer.follow) {
		ev.procs = procs__new(tr, t, tracer__start_ns(tr));
		if (!ev.procs) {
			ms_err("cannot set up the process table: %s", strerror(errno));
			goto out;
		}
		factory.tr = tr;
		if (tracer__unwind_ops(tr)) {
			const struct unwind_kernel_ops *uk = tracer__unwind_ops(tr);

			factory.child_ops = (struct unwind_kernel_ops){
			    .ctx = uk->ctx, .set_copy_top = uk->set_copy_top};
		}
		if (cap) /* before any code map of the tree's is made */
			capture__follow(cap, ev.procs);
		if (pa)
			procs__set_peralloc(ev.procs, pa, cm, new_child_peralloc, &factory);
		else if (cm)
			procs__set_codemap(ev.procs, cm);
		if (sc && cm) /* each slow call's stack with its own process's code */
			slowcalls__set_codemap_of(sc, procs__codemap_cb, ev.procs);
		if (child <= 0)
			procs__adopt_descendants(ev.procs);
		if (cap && child <= 0)
			capture__adopted(cap, ev.procs);
		if (child <= 0) /* recorded after the adoption: the report reads it there too */
			procs__read_code(ev.procs);
	}
	if (pa) {
		collect__watch_lost(tr, pa);
		idle = (struct idle_ctx){pa, ev.procs, cap};
		tracer__set_idle(tr, refresh_modules, &idle);
	} else if (cm) {
		tracer__set_idle(tr, refresh_code, cm);
	}
	if (o->tracer.verbose)
		tracer__print_probes(t, stderr);
	if (child > 0) {
		if (write(go_fd, "g", 1) != 1) {
			ms_err("cannot start the command: %s", strerror(errno));
			goto out;
		}
		close(go_fd);
		go_fd = -1;
		started = true;
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
		if (exited || target_gone(child, pidfd, child_status)) {
			exited = true;
			/* --follow: until the whole tree is gone */
			if (!ev.procs || !procs__alive(ev.procs))
				break;
		}
		now = now_s();
		if (o->duration && now - start >= o->duration)
			break;
		if (o->interval && now - last_tick >= o->interval) {
			if (!collect__summary(tr, &ev, r)) {
				report__print_interval(prev, r, now - last_tick, stderr);
				*prev = *r;
			}
			last_tick = now;
		}
	}
	tracer__poll(tr, 0); /* phase names still in flight */
	if (collect__summary(tr, &ev, r)) {
		ms_err("cannot read the BPF maps: %s", strerror(errno));
		goto out;
	}
	if (collect__details(tr, r))
		ms_warn("cannot read the per-thread numbers: %s", strerror(errno));
	if (ev.procs)
		procs__collect_fn_stats(ev.procs);
	tracer__detach(tr); /* the target runs at full speed from here */
	r->target_exited = exited;
	tracer__drain(tr);
	procs__detach(ev.procs);
	r->procs = ev.procs;
	if (sc)
		collect__finish_slowcalls(tr, sc);
	if (pa) {
		r->lost_total += peralloc__lost(pa); /* what the collector could not keep */
		collect__finish_peralloc(tr, pa, r->lost[MS_LOST_THREAD_STATE]);
	}
	for (int i = 1; ev.procs && i < ev.procs->n; i++) /* --follow: each process's own */
		if (ev.procs->p[i].pa) {
			r->lost_total += peralloc__lost(ev.procs->p[i].pa);
			collect__finish_peralloc(tr, ev.procs->p[i].pa, 0);
		}
	r->lost_total += ev.bad_records; /* records too short to read */
	note_execs(&ev, t, r);
	if (o->no_calibrate || o->tracer.floor)
		probe_costs__defaults(&r->costs);
	else
		probe_costs__measure(&r->costs); /* after detach: the target is not slowed */
	if (cap) { /* the recording first: a report that fails to print does not lose it */
		int rc = capture__close(cap, tr, r);

		cap = NULL;
		ret = o->json ? trace_report__write(r, o, pa, sc) : 0;
		ret = rc ? 1 : ret;
	} else {
		ret = trace_report__write(r, o, pa, sc);
	}
	if (r->children_not_followed)
		ms_warn("PID %d's tree forked %llu processes while traced; they were not traced "
			"(memstudy run --follow, or --pid %d --follow, traces them)",
			t->pid, (unsigned long long)r->children_not_followed, t->pid);
	if (r->follow_map_full)
		ms_warn("%llu processes were not followed: more than %d at once",
			(unsigned long long)r->follow_map_full, 8192);
	if (o->tracer.follow && target__spec_unmatched(t))
		ms_warn(
		    "%s, of the allocator specs given: no traced process had it, so it was not "
		    "traced (memstudy run --dry-run -- PROGRAM shows what a program's specs find)",
		    target__spec_unmatched(t));
out:
	if (go_fd >= 0)
		close(go_fd);
	if (pidfd >= 0)
		close(pidfd);
	capture__abort(cap);
	procs__free(ev.procs);
	tracer__destroy(tr);
	peralloc__free(pa);
	slowcalls__free(sc);
	codemap__free(cm);
	free(r->threads);
	if (child > 0 && !exited) {
		if (!started)
			kill(child, SIGKILL); /* the probes failed: never run it untraced */
		else if (!wait_for_child(child, t->comm, child_status))
			ret = 130;
	}
	free(r);
	return ret;
}

void trace_session__signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}
