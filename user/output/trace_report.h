/* SPDX-License-Identifier: GPL-2.0 */
#ifndef MEMSTUDY_OUTPUT_TRACE_REPORT_H
#define MEMSTUDY_OUTPUT_TRACE_REPORT_H

struct report;
struct trace_opts;
struct peralloc;
struct slowcalls;

#include <json-c/json.h>

/* The report as one JSON object, as --json writes it (docs/json.md): R's, and PA's and SC's
 * sections when they are given. */
json_object *trace_report__json(const struct report *r, struct peralloc *pa, struct slowcalls *sc);

/*
 * Write the JSON and the text report where O asked for them. A destination that fails is
 * named with the reason, and its report goes to stderr instead: a trace is not lost because
 * a disk was full. Returns memstudy's exit code.
 */
int trace_report__write(const struct report *r, const struct trace_opts *o, struct peralloc *pa,
			struct slowcalls *sc);

#endif
