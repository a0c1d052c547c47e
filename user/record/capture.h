/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memstudy record's side of a live trace: the records the collector takes, each written to
 * the recording after the collector has taken it (allocation stacks interned as the
 * collector unwound them), its readings of /proc/PID/maps in their place in the stream,
 * and at the end what the kernel and the collector counted (record/format.h).
 */
#ifndef MEMSTUDY_RECORD_CAPTURE_H
#define MEMSTUDY_RECORD_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct capture;
struct event_sink;
struct peralloc;
struct codemap;
struct target;
struct trace_opts;
struct report;
struct tracer;

/* Into PATH; the records go on to SINK (whose per-allocation collector is PA, whose code
 * map CM). NULL after saying why. */
struct capture *capture__open(const char *path, struct event_sink *sink, struct peralloc *pa,
			      struct codemap *cm);
/* The META and TARGET blocks: what is traced (T, with O), from the command line ARGV. */
int capture__start(struct capture *c, const struct target *t, const struct trace_opts *o,
		   bool run_mode, char *const *argv);
/* The ring buffer's callback while recording: the sink's, then the record written. */
int capture__record(void *ctx, void *data, size_t size);
/* Once the BPF side is loaded: the kernel's count of dropped allocation records goes into
 * the stream whenever it changes. */
void capture__watch_lost(struct capture *c, struct tracer *tr);
/* --follow: the code maps the tree PS makes have their readings recorded (before any is
 * made); after --pid's adoption of running descendants, each adopted process said. */
struct procs;
void capture__follow(struct capture *c, struct procs *ps);
void capture__adopted(struct capture *c, const struct procs *ps);
/* Every probe is in place from START_NS (the report's times count from then). */
void capture__started(struct capture *c, uint64_t start_ns);
/* While tracing: write what is buffered once a second. */
void capture__tick(struct capture *c);
/* After the reports' numbers are final (R), the collector finished: the stacks, loss counts
 * and summary, then END. 0, or -1 when the recording is incomplete (said). Frees C. */
int capture__close(struct capture *c, struct tracer *tr, const struct report *r);
/* Free C without ending the recording (the trace failed). */
void capture__abort(struct capture *c);

#endif
