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
#include "maps/maps.h"
#include "output/report.h"

static const char usage[] =
    "usage: memstudy maps [options] PID\n"
    "       memstudy maps --diff A.json B.json|PID [--json [FILE]]\n"
    "\n"
    "Shows the columns of pmap -x (Address, Kbytes, RSS, Dirty, Mode, Mapping) plus Swap\n"
    "and a Label saying what each mapping is, totals per label, and for every malloc\n"
    "heap what can be measured from outside about why its memory stays mapped.\n"
    "No BPF, no probes; works without root on your own processes.\n"
    "\n"
    "Labels: main-heap ([heap], the brk area), arena-heap (a thread arena's heap, rw part),\n"
    "  arena-reserve (its PROT_NONE rest of 64 MiB), stack (main thread), thread-stack,\n"
    "  guard (PROT_NONE page below a stack), mmap-chunk (one malloc >= mmap threshold),\n"
    "  anon (other anonymous memory), file, vdso, vvar, vsyscall, special (other [..]).\n"
    "\n"
    "options:\n"
    "  --json [FILE]    write a JSON snapshot to FILE (or stdout when FILE is '-' or\n"
    "                   left out; a FILE named only by digits needs ./ in front)\n"
    "  --save FILE      write the JSON snapshot to FILE and print the table as usual\n"
    "  --diff A B       what changed from snapshot A to B, per mapping and per label;\n"
    "                   B is a snapshot file or a PID to read now\n"
    "  --no-mem         do not read the target's memory (no heap walk, no mmap-chunk)\n"
    "  -v, --verbose    also print why each anonymous mapping got its label\n"
    "  -h, --help       this text\n"
    "\n"
    "examples:\n"
    "  memstudy maps 1234                     # table, totals by label, heaps\n"
    "  memstudy maps 1234 --json - | jq '.totals'\n"
    "  memstudy maps 1234 --save before.json  # snapshot, then let it free memory...\n"
    "  memstudy maps --diff before.json 1234  # ...and see which mappings shrank or went\n"
    "  memstudy maps --diff before.json after.json --json diff.json\n"
    "\n"
    "Reading a running process is a snapshot: it may change while it is read.\n"
    "Exit status: 0 ok, 1 cannot read the process or a file, 2 bad usage.\n";

static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "memstudy maps: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nsee 'memstudy maps --help'\n");
	return 2;
}

static bool is_pid(const char *s)
{
	if (!*s)
		return false;
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return strlen(s) < 10;
}

/* Read and label PID; prints why on failure. */
static struct maps_snapshot *snapshot(int pid, const struct maps_options *o)
{
	struct maps_snapshot *s = maps_snapshot__read(pid);
	char path[64];
	struct stat st;

	if (s) {
		maps_snapshot__label(s, o);
		return s;
	}
	if (errno == ESRCH) {
		fprintf(stderr,
			"memstudy maps: no process with PID %d (it may have exited); find PIDs "
			"with 'pgrep NAME' or 'ps -e'\n",
			pid);
	} else if (errno == EACCES || errno == EPERM) {
		snprintf(path, sizeof(path), "/proc/%d", pid);
		fprintf(stderr,
			"memstudy maps: permission denied reading /proc/%d/smaps: run as root "
			"(sudo memstudy maps %d) or as the user that owns the process",
			pid, pid);
		if (!stat(path, &st))
			fprintf(stderr, " (uid %u)", (unsigned)st.st_uid);
		fputc('\n', stderr);
	} else {
		fprintf(stderr, "memstudy maps: reading /proc/%d/smaps: %s\n", pid,
			strerror(errno));
	}
	return NULL;
}

static struct maps_snapshot *load(const char *file)
{
	struct json_object *j = json_object_from_file(file);
	struct maps_snapshot *s;
	const char *err = NULL;

	if (!j) {
		fprintf(stderr, "memstudy maps: cannot read snapshot %s: %s\n", file,
			access(file, R_OK) ? strerror(errno) : json_util_get_last_err());
		return NULL;
	}
	s = maps_snapshot__from_json(j, &err);
	json_object_put(j);
	if (!s)
		fprintf(stderr, "memstudy maps: %s: %s\n", file, err);
	return s;
}

static int write_json(struct json_object *j, const char *file)
{
	int err = json_write_file(j, file);

	if (err)
		fprintf(stderr, "memstudy maps: cannot write %s: %s\n", file, strerror(-err));
	return err ? 1 : 0;
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
	if (!json_file || strcmp(json_file, "-"))
		maps_diff__print(a, b, stdout);
	maps_snapshot__free(a);
	maps_snapshot__free(b);
	return rc;
}

int cmd_maps(int argc, char **argv)
{
	const char *json_file = NULL, *save_file = NULL, *diff_a = NULL, *diff_b = NULL;
	const char *pid_arg = NULL;
	struct maps_options o = {0};
	bool verbose = false;
	struct maps_snapshot *s;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(a, "--json")) {
			/* Optional FILE: "-" or a name that is neither an option nor a PID. */
			if (i + 1 < argc && (!strcmp(argv[i + 1], "-") ||
					     (argv[i + 1][0] != '-' && !is_pid(argv[i + 1]))))
				json_file = argv[++i];
			else
				json_file = "-";
		} else if (!strncmp(a, "--json=", 7)) {
			json_file = a + 7;
		} else if (!strcmp(a, "--save")) {
			if (i + 1 >= argc)
				return bad_usage("%s needs a FILE", a);
			save_file = argv[++i];
		} else if (!strncmp(a, "--save=", 7)) {
			save_file = a + 7;
		} else if (!strcmp(a, "--diff")) {
			if (i + 2 >= argc)
				return bad_usage("%s needs two snapshots: A.json and B.json or PID",
						 a);
			diff_a = argv[++i];
			diff_b = argv[++i];
		} else if (!strcmp(a, "--no-mem")) {
			o.no_mem = true;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			verbose = true;
		} else if (a[0] == '-' && a[1]) {
			return bad_usage("unknown option '%s'", a);
		} else if (!pid_arg) {
			pid_arg = a;
		} else {
			return bad_usage("unexpected argument '%s' (one PID only)", a);
		}
	}
	if (json_file && !*json_file)
		return bad_usage("%s--json= needs a FILE", "");
	if (diff_a) {
		if (pid_arg)
			return bad_usage("--diff takes no extra PID ('%s')", pid_arg);
		if (save_file)
			return bad_usage("%s--save cannot be combined with --diff", "");
		return do_diff(diff_a, diff_b, json_file, &o);
	}
	if (!pid_arg)
		return bad_usage("%sno PID given", "");
	if (!is_pid(pid_arg) || atoi(pid_arg) <= 0)
		return bad_usage("'%s' is not a PID", pid_arg);

	s = snapshot(atoi(pid_arg), &o);
	if (!s)
		return 1;
	if (json_file || save_file) {
		struct json_object *j = maps_snapshot__to_json(s);

		if (json_file)
			rc |= write_json(j, json_file);
		if (save_file)
			rc |= write_json(j, save_file);
		json_object_put(j);
	}
	if (!json_file || strcmp(json_file, "-")) {
		maps_snapshot__print(s, stdout);
		if (verbose)
			print_evidence(s);
		if (save_file)
			printf(
			    "\nsnapshot saved to %s (compare later: memstudy maps --diff %s %d)\n",
			    save_file, save_file, s->pid);
	}
	maps_snapshot__free(s);
	return rc;
}
