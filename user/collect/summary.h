/* SPDX-License-Identifier: GPL-2.0 */
/* Summary mode's numbers: the kernel's per-CPU counters, summed into one report. */
#ifndef MEMSTUDY_COLLECT_SUMMARY_H
#define MEMSTUDY_COLLECT_SUMMARY_H

struct tracer;
struct event_sink;
struct report;

/* Read the maps of TR into R, with the phases EV saw; R's totals summed (report__sum).
 * Can be called while tracing (--interval). 0, or -1 with errno set. */
int collect__summary(struct tracer *tr, const struct event_sink *ev, struct report *r);

/* At the end: glibc's internal steps and the per-thread numbers into R (R->threads is
 * malloc'ed: the caller frees it). 0, or -1 with errno set. */
int collect__details(struct tracer *tr, struct report *r);

struct slowcalls;
/* After the last record: the kernel's count of slow-call and syscall records it dropped. */
void collect__finish_slowcalls(struct tracer *tr, struct slowcalls *sc);

struct peralloc;
/* Per-allocation mode: let PA read the kernel's count of dropped allocation records while
 * it collects (why a freed block was never seen). */
void collect__watch_lost(struct tracer *tr, struct peralloc *pa);
/* After the last record: the kernel's stacks and loss counts into PA, which then finishes
 * (symbolizes, classifies what is pending). THREAD_STATE_LOST: calls not followed. */
void collect__finish_peralloc(struct tracer *tr, struct peralloc *pa, uint64_t thread_state_lost);

#endif
