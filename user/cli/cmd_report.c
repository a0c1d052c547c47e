// SPDX-License-Identifier: GPL-2.0
/*
 * memstudy report FILE: a recording (memstudy record) read back into the report memstudy
 * run prints, with its numbers, and into the views a recording allows: the leaks by call
 * site, folded stacks, pprof profiles. No root needed.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "analyse/codemap.h"
#include "analyse/peralloc.h"
#include "analyse/symbolize.h"
#include "analyse/timeline.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/trace_session.h"
#include "lib/json.h"
#include "lib/outfile.h"
#include "lib/util.h"
#include "output/check.h"
#include "output/exports.h"
#include "output/html.h"
#include "output/leaks.h"
#include "output/mtrace.h"
#include "output/perfetto.h"
#include "output/timeline_out.h"
#include "output/report.h"
#include "output/trace_report.h"
#include "record/replay.h"
#include "resolve/lsan_default.h"
#include "resolve/target.h"

enum {
	O_OUTPUT = 1,
	O_JSON,
	O_TOP,
	O_NO_HIST,
	O_ALL,
	O_LEAKS,
	O_SUPPRESSIONS,
	O_FOLDED,
	O_WEIGHT,
	O_PPROF,
	O_SYMFS,
	O_HEADER,
	O_TIMELINE,
	O_PERFETTO,
	O_PERFETTO_ALL,
	O_MTRACE,
	O_CHECK,
	O_AT,
	O_HTML,
};

static const struct opt report_table[] = {
    {O_OUTPUT, "output", 'o', OPT_OUTPUT, "FILE",
     "write the text report to FILE instead of stdout"},
    {O_JSON, "json", 'j', OPT_OUTPUT, "FILE",
     "write the report as one JSON object to FILE ('-' = stdout),\n"
     "as memstudy run --json does (docs/json.md); with --leaks, the\n"
     "leaks as JSON"},
    {O_TOP, "top", 0, OPT_WHOLE, "N", "call sites listed per table (default 10)", 1, 100000},
    {O_NO_HIST, "no-histograms", 0, OPT_FLAG, NULL,
     "leave the latency histograms out of the text report"},
    {O_ALL, "all", 0, OPT_FLAG, NULL,
     "list every function and syscall in the tables, also those never\ncalled"},
    {O_LEAKS, "leaks", 0, OPT_FLAG, NULL,
     "instead of the report: the blocks still allocated at the end, by\n"
     "call site, with the pages faulted in them (resident); blocks the\n"
     "C and C++ runtimes keep for themselves (stdio buffers, libstdc++'s\n"
     "emergency pool, TLS, dlopen, timezone, locale) shown apart"},
    {O_SUPPRESSIONS, "suppressions", 0, OPT_TEXT, "FILE",
     "with --leaks: LeakSanitizer's suppressions file: 'leak:PATTERN'\n"
     "lines (a function, source file or module; * any text, ^ and $\n"
     "anchor) put the sites they match apart"},
    {O_FOLDED, "folded", 0, OPT_OUTPUT, "FILE",
     "write the call sites as folded stacks (flamegraph.pl, speedscope)"},
    {O_WEIGHT, "weight", 0, OPT_CHOICE, "WHAT",
     "what --folded counts: bytes (requested, the default), calls,\n"
     "faults (page faults charged to the site), resident (bytes of the\n"
     "pages faulted in its blocks live at the end), live (bytes still\n"
     "allocated at the end), kernel_ns (syscall time inside its\n"
     "allocations and the frees of its blocks)",
     .choices = fold_weight_names},
    {O_PPROF, "pprof", 0, OPT_OUTPUT, "FILE",
     "write a gzipped pprof profile (go tool pprof, Pyroscope, Parca):\n"
     "alloc_objects, alloc_space, inuse_objects, inuse_space,\n"
     "page_faults, resident_bytes and kernel_time per call stack"},
    {O_TIMELINE, "timeline", 0, OPT_OUTPUT, "FILE.csv",
     "memory over time, a point every ms of the trace (fewer past\n"
     "20 s): bytes live (as requested), bytes the allocator holds\n"
     "mapped (heap and its mmaps), the resident set as the kernel\n"
     "counts it (anonymous, file, shared), calls and faults so far;\n"
     "and FILE.png, drawn by gnuplot"},
    {O_PERFETTO, "perfetto", 0, OPT_OUTPUT, "FILE.json",
     "a timeline for ui.perfetto.dev or chrome://tracing (Chrome's\n"
     "trace-event JSON): per thread the slow allocator calls with\n"
     "their durations, syscalls and faults, the memory syscalls made\n"
     "outside calls, brk/mmap/munmap/mremap as instants; counters of\n"
     "live, mapped and resident bytes, calls and faults every 10 ms"},
    {O_PERFETTO_ALL, "perfetto-all", 0, OPT_FLAG, NULL,
     "with --perfetto: every allocation and free too, as instants (a\n"
     "big file: ~150 bytes each)"},
    {O_MTRACE, "mtrace", 0, OPT_OUTPUT, "FILE",
     "the log glibc's mtrace() writes, for Debian's mtrace script\n"
     "(libc-dev-bin): 'mtrace PROGRAM FILE' lists what was not freed,\n"
     "with source lines, for a program that never called mtrace()"},
    {O_CHECK, "check", 0, OPT_FLAG, NULL,
     "instead of the report: what mcheck and memcheck say of the calls -\n"
     "double frees, frees and reallocs of pointers never returned or\n"
     "already freed, touches of freed memory (faults in it outside\n"
     "allocator calls) - each with the block's allocation stack"},
    {O_AT, "at", 0, OPT_REAL, "SEC",
     "read the records of the first SEC seconds of the trace only:\n"
     "--leaks, --pprof, --folded, --check say what was live then.\n"
     "The summary's counters are the whole trace's",
     0.000001, 31536000, "seconds"},
    {O_HTML, "html", 0, OPT_OUTPUT, "FILE.html",
     "write one page to look at, that opens from disk with no network:\n"
     "the call sites as a flame graph weighed by bytes, live bytes at\n"
     "the end, page faults, resident bytes, kernel time or calls (click\n"
     "to zoom, search, hover for numbers and source lines); memory over\n"
     "time with the slowest calls and large unmaps marked; the report's\n"
     "tables, sortable (docs/html-report.md)"},
    {O_HEADER, "header", 0, OPT_FLAG, NULL,
     "instead of the report: what the recording says of itself - the\n"
     "command, when, on which kernel and host, by which memstudy, how\n"
     "much it holds, and whether it was closed or cut short"},
    {O_SYMFS, "symfs", 0, OPT_TEXT, "DIR",
     "look the recorded code files up under DIR (their paths appended)\n"
     "and nowhere else: a copy of the recording machine's files"},
    {0},
};

const struct cmd_doc report_doc = {
    .name = "memstudy report",
    .summary = "read a recording: the report, leaks, flame graphs, pprof",
    .synopsis = "memstudy report [options] FILE",
    .description =
	"Reads a recording made by memstudy record and prints the report memstudy run\n"
	"--per-allocation prints, with the same numbers: the records go through the same\n"
	"collectors in the order the trace took them. No root is needed, nor the process:\n"
	"code is named from the files the recorded memory maps name (or their debug files\n"
	"by build-id), so another machine needs the same binaries. A recording cut short\n"
	"(memstudy record killed, a full disk) is read up to its last whole block; the\n"
	"summary counters, written at its end, are then missing.",
    .opts = report_table,
    .examples =
	"memstudy report memstudy.rec\tthe report\n"
	"memstudy report --leaks memstudy.rec\twhat was never freed, by call site\n"
	"memstudy report --pprof heap.pb.gz memstudy.rec && go tool pprof -top heap.pb.gz"
	"\tpprof's view\n"
	"memstudy report --folded out.folded --weight faults memstudy.rec && flamegraph.pl "
	"out.folded > faults.svg\tpage faults as a flame graph\n"
	"memstudy report --html app.html memstudy.rec\tthe page to open in a browser: flame "
	"graphs, memory over time, the tables",
    .notes = "The format is docs/record-format.md; a recording is read by a memstudy with the\n"
	     "same data layout as the one that wrote it, which report names otherwise.",
    .exit_status = "0 when the report was written; 1 when the file cannot be read, is cut "
		   "short or corrupt (after reporting what it holds), or writing failed; 2 "
		   "for a usage error.",
    .see_also = "memstudy-record(1), memstudy-run(1)",
};

struct report_args {
	const char *output, *json, *folded, *pprof, *suppressions, *timeline, *perfetto, *mtrace;
	const char *html;
	const char *symfs;
	int top, weight;
	double at;
	bool no_hist, all, leaks, header, perfetto_all, check;
};

static int on_report_opt(void *ctx, const struct opt *opt, const struct opt_value *v)
{
	struct report_args *a = ctx;

	switch (opt->id) {
	case O_OUTPUT:
		a->output = v->text;
		break;
	case O_JSON:
		a->json = v->text;
		break;
	case O_TOP:
		a->top = (int)v->num;
		break;
	case O_NO_HIST:
		a->no_hist = true;
		break;
	case O_ALL:
		a->all = true;
		break;
	case O_LEAKS:
		a->leaks = true;
		break;
	case O_SUPPRESSIONS:
		a->suppressions = v->text;
		break;
	case O_FOLDED:
		a->folded = v->text;
		break;
	case O_WEIGHT:
		a->weight = v->choice;
		break;
	case O_PPROF:
		a->pprof = v->text;
		break;
	case O_HEADER:
		a->header = true;
		break;
	case O_TIMELINE:
		a->timeline = v->text;
		break;
	case O_PERFETTO:
		a->perfetto = v->text;
		break;
	case O_PERFETTO_ALL:
		a->perfetto_all = true;
		break;
	case O_MTRACE:
		a->mtrace = v->text;
		break;
	case O_CHECK:
		a->check = true;
		break;
	case O_AT:
		a->at = v->num;
		break;
	case O_HTML:
		a->html = v->text;
		break;
	case O_SYMFS:
		a->symfs = v->text;
		symbolize__set_symfs(v->text);
		break;
	}
	return 0;
}

/*
 * A view instead of the report (--leaks, --check, a recording cut short): its JSON to
 * --json, and its text to -o (stdout) when no JSON was asked for, or -o was given too.
 */
struct view {
	json_object *(*json)(void *ctx);
	void (*text)(void *ctx, FILE *out);
	void *ctx;
};

static int write_view(const struct report_args *a, const struct view *v)
{
	const char *to = a->output ? a->output : "-";
	int ret = 0;
	FILE *out;

	if (a->json) {
		json_object *j = v->json(v->ctx);

		ret = json_write_file(j, a->json) ? 1 : 0;
		json_object_put(j);
		if (!a->output)
			return ret;
	}
	out = out_open(to);
	if (!out)
		return 1;
	v->text(v->ctx, out);
	return out_close(out, to) || ret ? 1 : 0;
}

struct leaks_view {
	struct replay *rp;
	struct suppressions sup;
	char when[64];
	int top;
};

static json_object *leaks_json(void *ctx)
{
	struct leaks_view *l = ctx;

	return leaks__json(l->rp->pa, &l->sup);
}

static void leaks_text(void *ctx, FILE *out)
{
	struct leaks_view *l = ctx;

	leaks__print_text(l->rp->pa, &l->sup, out, l->top, l->when);
}

static int print_leaks(struct replay *rp, const struct report_args *a)
{
	struct leaks_view l = {.rp = rp, .when = "at the end", .top = a->top ? a->top : 10};
	char err[512], *own,
	    *exe = a->symfs ? xasprintf("%s/%s", a->symfs, replay__meta_str(rp, "exe"))
			    : xstrdup(replay__meta_str(rp, "exe"));
	int ret;

	/* the program's own, as LeakSanitizer takes them: __lsan_default_suppressions() */
	own = lsan_default_suppressions(exe);
	if (own &&
	    suppressions__parse(&l.sup, own, "__lsan_default_suppressions",
				"the program's __lsan_default_suppressions", err, sizeof(err)))
		ms_warn("%s's %s: left out", exe, err);
	free(own);
	free(exe);
	if (a->suppressions && suppressions__load(&l.sup, a->suppressions, err, sizeof(err))) {
		ms_err("--suppressions %s", err);
		suppressions__free(&l.sup);
		return 1;
	}
	if (a->at)
		snprintf(l.when, sizeof(l.when), "at %g s", a->at);
	ret = write_view(a, &(struct view){leaks_json, leaks_text, &l});
	suppressions__free(&l.sup);
	return ret;
}

struct partial_view {
	struct replay *rp;
	int top;
};

static json_object *partial_json(void *ctx)
{
	struct partial_view *v = ctx;
	json_object *j = json_object_new_object();

	json_object_object_add(j, "incomplete", json_object_new_string(v->rp->rec.why));
	json_object_object_add(j, "per_allocation", peralloc__json(v->rp->pa));
	return j;
}

static void partial_text(void *ctx, FILE *out)
{
	struct partial_view *v = ctx;
	const struct target *t = v->rp->t;

	fprintf(out,
		"%s (%s, pid %d): the summary counters are written at the end of a recording, "
		"so they are missing; the per-allocation sections follow from its %llu records\n",
		t->comm, t->allocator, t->pid, (unsigned long long)v->rp->records);
	peralloc__print_text(v->rp->pa, out, v->top);
}

/* A recording cut short has no summary: the per-allocation sections alone. */
static int print_partial(struct replay *rp, const struct report_args *a)
{
	struct partial_view v = {rp, a->top ? a->top : 10};

	return write_view(a, &(struct view){partial_json, partial_text, &v});
}

/* The frames of the recording's interned stack ID. */
static int recorded_stack(void *ctx, uint32_t id, const uint64_t **frames)
{
	struct replay *rp = ctx;

	if (id >= rp->nstacks)
		return 0;
	*frames = rp->frames + rp->stacks[id].at;
	return rp->stacks[id].n;
}

struct check_view {
	struct replay *rp;
	struct checker *c;
	uint64_t t0;
	bool late; /* --pid: pointers never seen allocated are older than the trace */
};

static json_object *check_json(void *ctx)
{
	struct check_view *v = ctx;

	return checker__json(v->c, v->rp->pa, recorded_stack, v->rp, v->t0, v->late);
}

static void check_text(void *ctx, FILE *out)
{
	struct check_view *v = ctx;

	checker__print(v->c, v->rp->pa, recorded_stack, v->rp, v->t0, v->late, out);
}

/* --check: the findings, as text or JSON. */
static int print_check(struct replay *rp, struct checker *c, const struct report_args *a)
{
	struct check_view v = {rp, c, rp->r ? rp->r->phases[0].start_ns : rp->start_ns,
			       strcmp(replay__meta_str(rp, "mode"), "run") != 0};

	return write_view(a, &(struct view){check_json, check_text, &v});
}

/* --header: META as lines, and what the file holds. */
static int print_header(struct replay *rp, const char *file)
{
	json_object *cmd;
	time_t t = 0;
	char when[64] = "?";

	json_object_object_foreach(rp->meta, key, val)
	{
		if (!strcmp(key, "start_unix_s")) {
			t = (time_t)json_object_get_double(val);
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
		}
	}
	printf("recording:   %s (format %s, %llu blocks, %s)\n", file,
	       replay__meta_str(rp, "format"), (unsigned long long)rp->rec.blocks,
	       rp->rec.ended ? "closed" : "cut short");
	printf("recorded:    %s by memstudy %s (%s)\n", when, replay__meta_str(rp, "memstudy"),
	       replay__meta_str(rp, "memstudy_git"));
	printf("host:        %s, kernel %s (%s), glibc %s\n", replay__meta_str(rp, "hostname"),
	       replay__meta_str(rp, "kernel"), replay__meta_str(rp, "machine"),
	       replay__meta_str(rp, "glibc"));
	printf("traced:      pid %s (%s), %s mode, allocator %s\n", replay__meta_str(rp, "pid"),
	       replay__meta_str(rp, "comm"), replay__meta_str(rp, "mode"),
	       replay__meta_str(rp, "allocator"));
	if (json_object_object_get_ex(rp->meta, "command", &cmd) && json_object_array_length(cmd)) {
		printf("command:    ");
		for (size_t i = 0; i < json_object_array_length(cmd); i++)
			printf(" %s", json_object_get_string(json_object_array_get_idx(cmd, i)));
		printf("\n");
	}
	printf("records:     %llu, %llu distinct stacks%s\n", (unsigned long long)rp->records,
	       (unsigned long long)rp->nstacks, rp->r ? "" : "; no summary (cut short)");
	if (rp->modules)
		printf("code files:  %zu with their build-ids%s\n",
		       json_object_array_length(rp->modules),
		       rp->modules_changed ? ", some not the same here (said above)" : "");
	return 0;
}

static int write_report(struct replay *rp, const struct report_args *a)
{
	struct trace_opts o = {.json = a->json,
			       .output = a->output,
			       .no_hist = a->no_hist,
			       .all_rows = a->all,
			       .top = a->top};

	return trace_report__write(rp->r, &o, rp->pa, rp->sc);
}

/* --timeline FILE.csv, and its picture beside it: FILE.png. */
static int write_timeline(struct replay *rp, struct timeline *tl, const char *csv)
{
	uint64_t t0 = rp->r ? rp->r->phases[0].start_ns : rp->start_ns;
	size_t n = strlen(csv);
	char *png;
	int ret;

	timeline__finish(tl, rp->pa);
	if (timeline__write_csv(tl, t0, csv))
		return 1;
	if (!strcmp(csv, "-"))
		return 0;
	png = n > 4 && !strcmp(csv + n - 4, ".csv") ? xasprintf("%.*s.png", (int)(n - 4), csv)
						    : xasprintf("%s.png", csv);
	ret = timeline__plot(csv, png, rp->t->comm);
	if (!ret)
		fprintf(stderr, "memstudy: wrote %s and %s (%zu points%s)\n", csv, png, tl->n,
			tl->rss_records ? ""
					: "; no resident-set records: recorded before they were");
	free(png);
	return ret;
}

/* What the page says of the recording: its file, command, host, when. */
static json_object *html_source(struct replay *rp, const char *file)
{
	json_object *src = json_object_new_object(), *v;
	static const char *const keys[] = {"command",  "hostname", "kernel",
					   "memstudy", "mode",	   "exe"};
	time_t t;
	char when[64];

	json_object_object_add(src, "file", json_object_new_string(file));
	for (size_t i = 0; rp->meta && i < ARRAY_SIZE(keys); i++)
		if (json_object_object_get_ex(rp->meta, keys[i], &v))
			json_object_object_add(src, keys[i], json_object_get(v));
	if (rp->meta && json_object_object_get_ex(rp->meta, "start_unix_s", &v)) {
		t = (time_t)json_object_get_double(v);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
		json_object_object_add(src, "recorded", json_object_new_string(when));
	}
	return src;
}

/* --html: the report's JSON, the recording's timeline and marks, its last memory map. */
static int write_html(struct replay *rp, struct html_recording *h, const struct report_args *a,
		      const char *file)
{
	json_object *data = json_object_new_object(), *maps;
	char title[256];
	int ret;

	json_object_object_add(data, "page", json_object_new_string("recording"));
	json_object_object_add(data, "source", html_source(rp, file));
	json_object_object_add(data, "report",
			       rp->r ? trace_report__json(rp->r, rp->pa, rp->sc)
				     : partial_json(&(struct partial_view){rp, 0}));
	if (rp->maps_text) {
		maps = json_object_new_object();
		json_object_object_add(maps, "text", json_object_new_string(rp->maps_text));
		json_object_object_add(data, "maps", maps);
	}
	snprintf(title, sizeof(title), "memstudy: %s (pid %d)", rp->t ? rp->t->comm : "?",
		 rp->t ? rp->t->pid : 0);
	ret = html_recording__write(h, rp->pa, rp->r ? rp->r->phases[0].start_ns : rp->start_ns,
				    data, title, a->html);
	if (!ret && strcmp(a->html, "-")) {
		char *abs = realpath(a->html, NULL);

		fprintf(stderr, "memstudy: wrote %s (open it in a browser: file://%s)\n", a->html,
			abs ? abs : a->html);
		free(abs);
	}
	return ret;
}

static int write_exports(struct replay *rp, const struct report_args *a)
{
	json_object *v;
	double start = rp->meta && json_object_object_get_ex(rp->meta, "start_unix_s", &v)
			   ? json_object_get_double(v)
			   : 0;
	int ret = 0;

	if (a->folded) {
		ret |= export_folded(rp->pa, a->weight, a->folded);
		if (!ret)
			fprintf(stderr, "memstudy: wrote %s (weight: %s)\n", a->folded,
				fold_weight_names[a->weight]);
	}
	if (a->pprof) {
		int rc = export_pprof(rp->pa, rp->cm->sym, (uint64_t)(start * 1e9),
				      rp->r ? (uint64_t)(rp->r->duration_s * 1e9) : 0, a->pprof);

		if (!rc)
			fprintf(stderr, "memstudy: wrote %s (go tool pprof -top %s)\n", a->pprof,
				a->pprof);
		ret |= rc;
	}
	return ret;
}

int cmd_report(int argc, char **argv)
{
	struct report_args a = {0};
	struct replay rp = {0};
	struct timeline tl;
	struct perfetto *pf = NULL;
	struct mtrace_log *mt = NULL;
	struct checker *ck = NULL;
	struct html_recording *html = NULL;
	char **args, err[512];
	int rc, nargs, ret, ret_pf = 0;
	bool exports_only;

	rc = opt_parse(&report_doc, argc, argv, OPT_PERMUTE, on_report_opt, &a, &args, &nargs);
	if (rc)
		return rc == OPT_EXIT_HELP ? 0 : rc;
	if (nargs != 1) {
		free(args);
		return opt_usage_error(&report_doc,
				       nargs ? "one recording at a time"
					     : "say which recording: memstudy report FILE "
					       "(memstudy record writes memstudy.rec)");
	}
	if (a.suppressions && !a.leaks) {
		free(args);
		return opt_usage_error(&report_doc, "--suppressions goes with --leaks");
	}
	timeline__init(&tl, 1000 * 1000); /* 1 ms, doubled for long traces */
	if (a.timeline)
		replay__observe(&rp, &(struct replay_observer){timeline__record, &tl});
	if (a.perfetto) {
		/* the function names come with the recording: the report's are its TARGET's */
		pf = perfetto__open(a.perfetto, a.perfetto_all, 0, rp.names, MS_FN_MAX);
		if (!pf) {
			free(args);
			return 1;
		}
		replay__observe(&rp, &(struct replay_observer){perfetto__record, pf});
	}
	if (a.check) {
		ck = checker__new();
		if (!ck) {
			free(args);
			return 1;
		}
		replay__observe(&rp, &(struct replay_observer){checker__record, ck});
	}
	if (a.mtrace) {
		mt = mtrace_log__open(a.mtrace);
		if (!mt) {
			if (pf)
				perfetto__close(pf, NULL, NULL, "");
			free(args);
			return 1;
		}
		replay__observe(&rp, &(struct replay_observer){mtrace_log__record, mt});
	}
	if (a.html) {
		html = html_recording__new();
		replay__observe(&rp, &(struct replay_observer){html_recording__record, html});
	}
	rp.until_ns = (uint64_t)(a.at * 1e9);
	rc = replay__load(&rp, args[0], err, sizeof(err));
	if (mt) {
		int mr = mtrace_log__close(mt);

		if (!mr && rc >= 0)
			fprintf(stderr, "memstudy: wrote %s (mtrace %s %s)\n", a.mtrace,
				replay__meta_str(&rp, "exe"), a.mtrace);
		ret_pf |= mr;
	}
	if (pf) { /* its process is the recording's */
		int pr = perfetto__close(pf, rp.pa, rp.r, rp.t ? rp.t->comm : "?");

		if (!pr && rc >= 0)
			fprintf(stderr,
				"memstudy: wrote %s (open it in ui.perfetto.dev or "
				"chrome://tracing)\n",
				a.perfetto);
		ret_pf |= pr;
	}
	if (rc < 0) {
		ms_err("%s: %s", args[0], err);
		if (html)
			html_recording__free(html);
		replay__free(&rp);
		timeline__free(&tl);
		free(args);
		return 1;
	}
	if (rc > 0)
		ms_warn("%s: %s", args[0], rp.rec.why);
	if (a.at)
		fprintf(stderr, "memstudy: --at %g: %llu records read, %llu after it left out\n",
			a.at, (unsigned long long)rp.records, (unsigned long long)rp.past_until);
	if (rp.bad_entries)
		ms_warn("%s: %llu records refer to what the file does not hold (corrupt): left out",
			args[0], (unsigned long long)rp.bad_entries);
	if (a.header) {
		if (html)
			html_recording__free(html);
		ret = print_header(&rp, args[0]);
		replay__free(&rp);
		timeline__free(&tl);
		free(args);
		return ret;
	}
	ret = write_exports(&rp, &a) | ret_pf;
	if (a.timeline)
		ret |= write_timeline(&rp, &tl, a.timeline);
	if (html)
		ret |= write_html(&rp, html, &a, args[0]);
	exports_only = (a.folded || a.pprof || a.timeline || a.perfetto || a.mtrace || a.html) &&
		       !a.output && !a.json;
	if (a.check)
		ret |= print_check(&rp, ck, &a);
	else if (a.leaks)
		ret |= print_leaks(&rp, &a);
	else if (exports_only)
		; /* the files asked for are written: no report besides */
	else if (!rp.r)
		ret |= print_partial(&rp, &a);
	else
		ret |= write_report(&rp, &a);
	replay__free(&rp);
	timeline__free(&tl);
	checker__free(ck);
	symbolize__set_symfs(NULL);
	free(args);
	return ret || rc > 0 ? 1 : 0;
}
