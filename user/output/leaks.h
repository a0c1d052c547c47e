/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memstudy report --leaks: the blocks still live at the end, by call site, with the pages
 * faulted in them; those the C and C++ runtimes keep for themselves shown apart from the
 * program's; LSan-style suppressions ("leak:PATTERN" lines) honoured.
 */
#ifndef MEMSTUDY_OUTPUT_LEAKS_H
#define MEMSTUDY_OUTPUT_LEAKS_H

#include <stdio.h>

#include <json-c/json.h>

struct peralloc;
struct pa_site;

#define SUPPRESSIONS_MAX 256

struct suppressions {
	char *pattern[SUPPRESSIONS_MAX]; /* fnmatch patterns, made from the file's */
	char *line[SUPPRESSIONS_MAX];	 /* as written, for the report */
	int n;
};

/* "leak:PATTERN" lines of PATH ('#' comments, blank lines; other kinds ignored, as LSan
 * ignores what is not its own). 0, or -1 with ERR (the file and line). */
int suppressions__load(struct suppressions *s, const char *path, char *err, size_t len);
/* The same from TEXT (WHERE names it in errors; ORIGIN, or NULL, is said with each: "the
 * program's __lsan_default_suppressions"). */
int suppressions__parse(struct suppressions *s, const char *text, const char *where,
			const char *origin, char *err, size_t len);
/* One pattern, as LSan reads it: a substring, '*' any run, '^' and '$' anchors. */
int suppressions__add(struct suppressions *s, const char *pattern, const char *origin);
void suppressions__free(struct suppressions *s);
/* The suppression matching one of SITE's frames (function, source file or module), or -1. */
int suppressions__match(const struct suppressions *s, const struct pa_site *site);

/* What of the C and C++ runtimes keeps SITE's blocks ("stdio buffer", "libstdc++'s
 * emergency exception pool"...), or NULL: the program's. */
const char *leak_runtime_owner(const struct pa_site *site);

/* WHEN: "at the end", or the moment of --at. */
void leaks__print_text(struct peralloc *pa, const struct suppressions *s, FILE *out, int top,
		       const char *when);
json_object *leaks__json(struct peralloc *pa, const struct suppressions *s);

#endif
