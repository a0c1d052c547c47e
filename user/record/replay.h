/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memstudy report's side: a recording read back through the collectors a live trace feeds
 * (collect/events.h, the per-allocation collector, the slow calls), in the order they took
 * the records, so that the report's numbers are the trace's. No root, no process: the code
 * is named from the recorded maps and the files they name (or their debug files).
 */
#ifndef MEMSTUDY_RECORD_REPLAY_H
#define MEMSTUDY_RECORD_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "collect/events.h"
#include "record/format.h"
#include "record/reader.h"

struct target;
struct report;
struct codemap;
struct peralloc;
struct slowcalls;

struct replay_stack {
	uint32_t at, n, end;
	bool sent; /* to the collector once with its frames: its site is known there */
};

/* Who else reads the records as they are replayed (the timeline, exports in stream order):
 * FN(CTX, the per-allocation collector, the traced pid, a record) just before the
 * collector takes it. */
#define REPLAY_OBSERVERS 4
struct replay_observer {
	void (*fn)(void *ctx, struct peralloc *pa, uint32_t pid, const void *rec, uint32_t len);
	void *ctx;
};

struct replay {
	struct recording rec;
	json_object *meta;
	struct target *t; /* from TARGET */
	struct report *r; /* from SUMMARY; NULL when the recording was cut short */
	struct codemap *cm;
	struct peralloc *pa;
	struct slowcalls *sc;
	struct event_sink ev;
	const char *names[MS_FN_MAX];
	bool has_finish;
	struct rec_finish fin;
	struct rec_stack_fp *fp; /* the kernel's frame-pointer stacks */
	size_t nfp;
	struct replay_stack *stacks; /* interned stacks */
	uint64_t nstacks, stacks_cap;
	uint64_t *frames;
	uint64_t nframes, frames_cap;
	uint64_t lost_allocs; /* the kernel's count, as the stream says */
	uint64_t records;     /* EVENTS entries read */
	uint64_t bad_entries; /* entries that refer to what is not there */
	void *scratch;	      /* an allocation record with its stack, rebuilt */
	struct replay_observer obs[REPLAY_OBSERVERS];
	int nobs;
	uint64_t start_ns;    /* the trace's start: its probes in place (REC_EV_START) */
	char *maps_text;      /* the last /proc/PID/maps reading, or NULL */
	json_object *modules; /* REC_MODULES: the code files mapped, their build-ids; or NULL */
	int modules_changed;  /* of those, files here whose build-id is not the recorded one */
	/* --at: only the records of the first UNTIL_NS of the trace (0: all) */
	uint64_t until_ns, past_until;
	/* --follow: the process table (rp->ev.procs routes each record to its process's
	 * collector) and what PROCS and PROC blocks said of it, applied at the end */
	struct rec_procs procs_head;
	bool has_procs;
	uint64_t *procs_lat;
	struct rec_proc **procs_rec; /* each with its rec_proc_fn after it */
	uint32_t nprocs_rec;
	uint32_t procs_mismatch; /* table rows the stream made unlike the recorded ones */
};

/*
 * Read PATH into RP (zeroed, = {0}, or given its observers), every record through the
 * collectors, which then finish. 0; 1 when the
 * recording was cut short (RP holds what its whole blocks gave, RP->rec.why says where it
 * ends); -1 with ERR when it cannot be read (one sentence with the offset).
 */
int replay__load(struct replay *rp, const char *path, char *err, size_t len);
/* The same over a buffer (tests, the fuzzer). */
int replay__load_mem(struct replay *rp, const void *data, size_t size, char *err, size_t len);
/* Before replay__load: OBS also reads the records (at most REPLAY_OBSERVERS). */
void replay__observe(struct replay *rp, const struct replay_observer *obs);
void replay__free(struct replay *rp);
/* META's value of KEY as text, or "". */
const char *replay__meta_str(const struct replay *rp, const char *key);

#endif
