/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memstudy's HTML pages: one self-contained file that opens from disk with no network,
 * web/page.html with the page's data (JSON) and its scripts and styles, the bundled
 * libraries among them (web/vendor.lock, embedded in memstudy at build time).
 */
#ifndef MEMSTUDY_OUTPUT_HTML_H
#define MEMSTUDY_OUTPUT_HTML_H

#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

struct peralloc;

enum html_kind {
	HTML_RECORDING, /* memstudy report --html: web/report.js, the flame graph, the timeline */
	HTML_STUDY,	/* memstudy study's report.html: web/study.js */
};

/* DATA (not taken) as the page of KIND titled TITLE into PATH (a safe output file). 0, or
 * 1 after saying why. */
int html_page__write(const char *path, enum html_kind kind, const char *title, json_object *data);
/* The same into OUT, which the caller opened and closes. */
void html_page__put(FILE *out, enum html_kind kind, const char *title, json_object *data);

/*
 * A recording's page: what the report's JSON does not hold, gathered from the records as
 * they are replayed (a replay observer) - memory over time, and the large munmaps and brk
 * shrinks to mark on it.
 */
struct html_recording;

struct html_recording *html_recording__new(void);
void html_recording__record(void *h, struct peralloc *pa, uint32_t pid, const void *rec,
			    uint32_t len);
void html_recording__free(struct html_recording *h);
/* The page: DATA (taken) gets the timeline and the marks, T0_NS the trace's start; then it
 * is written as html_page__write does, and H freed. */
int html_recording__write(struct html_recording *h, struct peralloc *pa, uint64_t t0_ns,
			  json_object *data, const char *title, const char *path);

#endif
