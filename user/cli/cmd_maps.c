// SPDX-License-Identifier: GPL-2.0
/* memstudy maps PID: pmap -x with a label for every mapping, heap analysis, snapshots, diffs. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/json.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "lib/outfile.h"
#include "lib/procfs.h"
#include "lib/util.h"
#include "maps/maps.h"
#include "output/report.h"

static bool is_pid(const char *s)
{
	if (!*s)
		return false;
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return strlen(s) < 10;
}

/* --json's FILE is optional: the next word is it when it is "-" or neither an option nor a
 * PID (a file named only by digits needs ./ in front). */
static bool json_file_word(const char *w)
{
	return !strcmp(w, "-") || (w[0] != '-' && !is_pid(w));
}

enum { O_JSON = 1, O_SAVE, O_DIFF, O_NO_MEM, O_VERBOSE };

static const struct opt maps_table[] = {
    {O_JSON, "json", 0, OPT_OPTIONAL_NEXT, "FILE",
     "write a JSON snapshot to FILE (or stdout when FILE is '-' or\n"
     "left out; a FILE named only by digits needs ./ in front),\n"
     "instead of the table",
     .accept = json_file_word},
    {O_SAVE, "save", 0, OPT_OUTPUT, "FILE",
     "write the JSON snapshot to FILE and print the table as usual"},
    {O_DIFF, "diff", 0, OPT_TEXT, "A",
     "what changed from snapshot A to B (the argument), per mapping\n"
     "and per label; B is a snapshot file or a PID to read now"},
    {O_NO_MEM, "no-mem", 0, OPT_FLAG, NULL,
     "do not read the target's memory (no heap walk, no mmap-chunk)"},
    {O_VERBOSE, "verbose", 'v', OPT_FLAG, NULL,
     "also print why each anonymous mapping got its label"},
    {0},
};

const struct cmd_doc maps_doc = {
    .name = "memstudy maps",
    .summary = "pmap -x with a meaning for every mapping",
    .synopsis = "memstudy maps [options] PID\n"
		"memstudy maps --diff A.json B.json|PID [--json [FILE]]",
    .description =
	"Shows the columns of pmap -x (Address, Kbytes, RSS, Dirty, Mode, Mapping) plus Swap\n"
	"and a Label saying what each mapping is, totals per label, and for every malloc\n"
	"heap what can be measured from outside about why its memory stays mapped.\n"
	"No BPF, no probes; works without root on your own processes.\n"
	"\n"
	"Labels: main-heap ([heap], the brk area), arena-heap (a thread arena's heap, rw part),\n"
	"  arena-reserve (its PROT_NONE rest of 64 MiB), stack (main thread), thread-stack,\n"
	"  guard (PROT_NONE page below a stack), mmap-chunk (one malloc >= mmap threshold),\n"
	"  anon (other anonymous memory), file, vdso, vvar, vsyscall, special (other [..]).\n"
	"Snapshots saved with --save or --json compare with --diff: see the examples below.",
    .opts = maps_table,
    .examples = "memstudy maps 1234\ttable, totals by label, heaps\n"
		"memstudy maps 1234 --json - | jq '.totals'\tthe totals as JSON\n"
		"memstudy maps 1234 --save before.json\tsnapshot, then let it free memory...\n"
		"memstudy maps --diff before.json 1234\t...and see which mappings shrank or went\n"
		"memstudy maps --diff before.json after.json --json diff.json\ttwo snapshots",
    .notes = "Reading a running process is a snapshot: it may change while it is read.\n"
	     "Snapshot files larger than 64 MiB are refused (a snapshot of a large process is\n"
	     "a few MiB).",
    .exit_status = "0 ok, 1 cannot read the process or a file, 2 bad usage.",
    .see_also = "memstudy(1), pmap(1), proc(5)",
};

/* Read and label PID; prints why on failure. */
static struct maps_snapshot *snapshot(int pid, const struct maps_options *o)
{
	struct maps_snapshot *s = maps_snapshot__read(pid);
	char path[64], why[256];
	struct stat st;

	int err = errno;

	if (s) {
		maps_snapshot__label(s, o);
		return s;
	}
	if (err == ESRCH && proc_zombie_words(pid, why, sizeof(why))) {
		ms_err("%s", why);
	} else if (err == ESRCH) {
		fprintf(stderr,
			"memstudy: no process with PID %d (it may have exited); find PIDs "
			"with 'pgrep NAME' or 'ps -e'\n",
			pid);
	} else if (err == EACCES || err == EPERM) {
		snprintf(path, sizeof(path), "/proc/%d", pid);
		fprintf(stderr,
			"memstudy: permission denied reading /proc/%d/smaps: run as root "
			"(sudo memstudy maps %d) or as the user that owns the process",
			pid, pid);
		if (!stat(path, &st))
			fprintf(stderr, " (uid %u)", (unsigned)st.st_uid);
		fputc('\n', stderr);
	} else {
		fprintf(stderr, "memstudy: reading /proc/%d/smaps: %s\n", pid, strerror(err));
	}
	return NULL;
}

static struct maps_snapshot *load(const char *file)
{
	struct json_object *j;
	struct maps_snapshot *s;
	const char *err = NULL;
	char why[PATH_MAX + 128];

	j = json_read_file(file, JSON_INPUT_MAX, why, sizeof(why));
	if (!j) {
		ms_err("cannot read snapshot %s", why);
		return NULL;
	}
	s = maps_snapshot__from_json(j, &err);
	json_object_put(j);
	if (!s)
		ms_err("%s: %s", file, err);
	return s;
}
static int write_json(struct json_object *j, const char *file)
{
	return json_write_file(j, file) ? 1 : 0;
}

static void print_evidence(const struct maps_snapshot *s)
{
	printf("\nWhy each label (non-file mappings)\n");
	for (size_t i = 0; i < s->nr_maps; i++) {
		const struct maps_mapping *m = &s->maps[i];

		if (m->label != MAPS_L_FILE)
			printf("%016lx %-13s %s\n", m->start, maps_label__name(m->label),
			       m->evidence ? m->evidence : "");
	}
}

static int do_diff(const char *a_file, const char *b_arg, const char *json_file,
		   const struct maps_options *o)
{
	struct maps_snapshot *a, *b;
	int rc = 0;

	a = load(a_file);
	if (!a)
		return 1;
	b = is_pid(b_arg) && access(b_arg, F_OK) ? snapshot(atoi(b_arg), o) : load(b_arg);
	if (!b) {
		maps_snapshot__free(a);
		return 1;
	}
	if (json_file) {
		struct json_object *j = maps_diff__to_json(a, b);

		rc = write_json(j, json_file);
		json_object_put(j);
	}
	if (!json_file)
		maps_diff__print(a, b, stdout);
	maps_snapshot__free(a);
	maps_snapshot__free(b);
	return rc;
}

struct maps_args {
	const char *json_file, *save_file, *diff_a;
	struct maps_options o;
	bool verbose;
};

static int on_maps_opt(void *ctx, const struct opt *opt, const struct opt_value *v)
{
	struct maps_args *a = ctx;

	switch (opt->id) {
	case O_JSON:
		a->json_file = v->text ? v->text : "-";
		break;
	case O_SAVE:
		a->save_file = v->text;
		break;
	case O_DIFF:
		a->diff_a = v->text;
		break;
	case O_NO_MEM:
		a->o.no_mem = true;
		break;
	case O_VERBOSE:
		a->verbose = true;
		break;
	}
	return 0;
}

static int maps_main(struct maps_args *a, char **args, int nargs)
{
	struct maps_snapshot *s;
	char why[512];
	int rc = 0;

	if (a->json_file && !*a->json_file)
		return opt_usage_error(&maps_doc, "--json= needs a FILE");
	if (a->json_file && out_path_refused(a->json_file, why, sizeof(why))) {
		ms_err("refusing to write %s: %s", a->json_file, why);
		return 2;
	}
	if (a->diff_a) {
		if (nargs != 1)
			return opt_usage_error(&maps_doc,
					       nargs ? "--diff takes one more snapshot or PID, got "
						       "more"
						     : "--diff needs two snapshots: A.json and "
						       "B.json or PID");
		if (a->save_file)
			return opt_usage_error(&maps_doc, "--save cannot be combined with --diff");
		return do_diff(a->diff_a, args[0], a->json_file, &a->o);
	}
	if (!nargs)
		return opt_usage_error(&maps_doc, "no PID given");
	if (nargs > 1)
		return opt_usage_error(&maps_doc, "unexpected argument '%s' (one PID only)",
				       args[1]);
	if (!is_pid(args[0]) || atoi(args[0]) <= 0)
		return opt_usage_error(&maps_doc, "'%s' is not a PID", args[0]);

	s = snapshot(atoi(args[0]), &a->o);
	if (!s)
		return 1;
	if (a->json_file || a->save_file) {
		struct json_object *j = maps_snapshot__to_json(s);

		if (a->json_file)
			rc |= write_json(j, a->json_file);
		if (a->save_file)
			rc |= write_json(j, a->save_file);
		json_object_put(j);
	}
	if (!a->json_file) { /* --json FILE writes the document alone; --save also prints */
		maps_snapshot__print(s, stdout);
		if (a->verbose)
			print_evidence(s);
		if (a->save_file)
			printf(
			    "\nsnapshot saved to %s (compare later: memstudy maps --diff %s %d)\n",
			    a->save_file, a->save_file, s->pid);
	}
	maps_snapshot__free(s);
	return rc;
}

int cmd_maps(int argc, char **argv)
{
	struct maps_args a = {0};
	char **args;
	int nargs, rc;

	rc = opt_parse(&maps_doc, argc, argv, OPT_PERMUTE, on_maps_opt, &a, &args, &nargs);
	if (rc)
		return rc == OPT_EXIT_HELP ? 0 : rc;
	rc = maps_main(&a, args, nargs);
	free(args);
	return rc;
}
