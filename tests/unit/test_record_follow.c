// SPDX-License-Identifier: GPL-2.0
/*
 * A --follow recording read back, on a synthetic stream: each thread's records go to its
 * process's own collector (a fork child starting with its parent's live blocks, emptied at
 * its exec), the tree's code-map readings to the map they were read into, and the PROCS
 * and PROC blocks laid over the table the stream made, pid for pid.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

#include "analyse/peralloc_int.h"
#include "check.h"
#include "collect/procs.h"
#include "record/format.h"
#include "record/layout.h"
#include "record/replay.h"
#include "record/writer.h"
#include "resolve/target.h"

#define PARENT 100
#define CHILD  101

static char dir[64], path[96];

static struct recorder *open_recording(void)
{
	char meta[512];
	struct recorder *w;
	struct target *t = calloc(1, sizeof(*t));

	/* a directory of its own: no other user can put a file or link at its path */
	snprintf(dir, sizeof(dir), "/tmp/unit-record-follow.XXXXXX");
	if (!mkdtemp(dir)) {
		free(t);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/t.rec", dir);
	w = recorder__create(path);
	if (!w || !t) {
		free(t);
		return NULL;
	}
	snprintf(meta, sizeof(meta),
		 "{\"format\": 1, \"layout\": \"%s\", \"mode\": \"run\", \"pid\": %d, "
		 "\"options\": {\"stack_depth\": 32, \"follow\": true}}",
		 rec_layout(), PARENT);
	recorder__block(w, REC_META, meta, strlen(meta));
	t->pid = PARENT;
	snprintf(t->comm, sizeof(t->comm), "parent");
	recorder__block(w, REC_TARGET, t, sizeof(*t));
	free(t);
	return w;
}

static void alloc(struct recorder *w, uint32_t tid, uint64_t ptr, uint64_t ts)
{
	struct ms_event_alloc a = {.type = MS_EV_ALLOC,
				   .tid = tid,
				   .ts_ns = ts,
				   .ptr = ptr,
				   .size = 64,
				   .stack_id = MS_STACK_NO_FP,
				   .fn = MS_FN_MALLOC,
				   .kind = MS_KIND_ALLOC};

	recorder__entry(w, &a, sizeof(a), NULL, 0);
}

static void release(struct recorder *w, uint32_t tid, uint64_t ptr, uint64_t ts)
{
	struct ms_event_free f = {.type = MS_EV_FREE,
				  .tid = tid,
				  .ts_ns = ts,
				  .ptr = ptr,
				  .kind = MS_KIND_FREE,
				  .fn = MS_FN_FREE};

	recorder__entry(w, &f, sizeof(f), NULL, 0);
}

static void proc_event(struct recorder *w, uint32_t what, uint32_t pid, uint32_t ppid, int32_t code,
		       uint64_t ts)
{
	struct ms_event_proc e = {.type = MS_EV_PROC,
				  .what = what,
				  .ts_ns = ts,
				  .pid = pid,
				  .ppid = ppid,
				  .exit_code = code};

	snprintf(e.comm, sizeof(e.comm), "child");
	recorder__entry(w, &e, sizeof(e), NULL, 0);
}

static void exec_event(struct recorder *w, uint32_t tgid, const char *file, uint64_t ts)
{
	struct ms_event_exec e = {.type = MS_EV_EXEC, .tid = tgid, .ts_ns = ts, .tgid = tgid};

	snprintf(e.filename, sizeof(e.filename), "%s", file);
	recorder__entry(w, &e, sizeof(e), NULL, 0);
}

/* The table as the trace ended: PIDS[0] the target's row, PIDS[1] the child's. */
static void write_table(struct recorder *w, const int32_t pids[2])
{
	uint8_t head[sizeof(struct rec_procs) + 8];
	struct rec_procs h = {.nprocs = 2, .nlat = 1};
	uint64_t lat = 5000;
	size_t len = sizeof(struct rec_proc) + sizeof(struct rec_proc_fn);
	struct rec_proc *p = calloc(1, len);
	struct rec_proc_fn *fn = (struct rec_proc_fn *)(p + 1);

	memcpy(head, &h, sizeof(h));
	memcpy(head + sizeof(h), &lat, sizeof(lat));
	recorder__block(w, REC_PROCS, head, sizeof(head));
	p->pid = pids[0];
	p->has_image = p->probed = 1;
	snprintf(p->exe, sizeof(p->exe), "/bin/parent");
	snprintf(p->allocator, sizeof(p->allocator), "/lib/libc.so.6");
	recorder__block(w, REC_PROC, p, sizeof(*p));
	p->pid = pids[1];
	p->ppid = PARENT;
	p->exited = 1;
	p->exit_code = 3 << 8;
	p->execs = 1;
	snprintf(p->exe, sizeof(p->exe), "/bin/other");
	p->nfn = 1;
	fn->fn = MS_FN_MALLOC;
	fn->v.calls = 2;
	recorder__block(w, REC_PROC, p, len);
	free(p);
}

/*
 * The parent allocates 3 blocks and forks; the child frees one of them, allocates one,
 * execs (its old blocks gone), allocates one more and exits 3; the parent allocates a 4th.
 */
static int replay_tree(struct replay *rp, const int32_t pids[2])
{
	struct recorder *w = open_recording();
	struct rec_ev_proc_maps bad = {.type = REC_EV_PROC_MAPS, .pid = CHILD, .map = 2};
	struct rec_ev_proc_maps good = {.type = REC_EV_PROC_MAPS, .pid = CHILD, .map = 1};
	char err[256];
	int rc;

	if (!w)
		return -1;
	for (int i = 0; i < 3; i++)
		alloc(w, PARENT, 0x10000 + i * 0x100, 10 + i);
	proc_event(w, MS_PROC_FORK, CHILD, PARENT, 0, 20);
	release(w, CHILD, 0x10000, 21);
	alloc(w, CHILD, 0x20000, 22);
	alloc(w, PARENT, 0x10300, 23);
	exec_event(w, CHILD, "/bin/other", 24);
	recorder__entry(w, &good, sizeof(good), "", 0); /* the map its exec made: 1 */
	recorder__entry(w, &bad, sizeof(bad), "", 0);	/* no second map was made */
	alloc(w, CHILD, 0x30000, 25);
	proc_event(w, MS_PROC_EXIT, CHILD, 0, 3 << 8, 26);
	write_table(w, pids);
	recorder__close(w);
	memset(rp, 0, sizeof(*rp));
	rc = replay__load(rp, path, err, sizeof(err));
	unlink(path);
	rmdir(dir);
	return rc;
}

TEST(each_process_its_own_collector)
{
	static const int32_t pids[2] = {PARENT, CHILD};
	struct replay rp;
	const struct pa_stats *root, *child;
	struct procs *ps;

	CHECK_U64(replay_tree(&rp, pids), 1); /* no SUMMARY block: read, and said */
	ps = rp.ev.procs;
	CHECK(ps != NULL);
	if (!ps)
		return;
	CHECK_U64(ps->n, 2);
	CHECK_U64(ps->p[1].pid, CHILD);
	CHECK_U64(ps->p[1].ppid, PARENT);
	CHECK(ps->p[1].exited);
	CHECK_U64(WEXITSTATUS(ps->p[1].exit_code), 3);
	CHECK_U64(ps->p[1].execs, 1);
	root = peralloc__stats(rp.pa);
	child = peralloc__stats(ps->p[1].pa);
	CHECK_U64(root->allocs, 4); /* the child's calls are not the parent's */
	CHECK_U64(root->frees, 0);
	CHECK_U64(child->inherited, 3);
	CHECK_U64(child->allocs, 2);
	CHECK_U64(child->frees, 1); /* an inherited block: known, not an unknown free */
	CHECK_U64(child->unknown_frees, 0);
	CHECK_U64(rp.bad_entries, 1); /* the reading into a code map never made */
	/* what the trace learned beside the stream */
	CHECK_U64(rp.procs_mismatch, 0);
	CHECK(ps->p[0].img && ps->p[1].img);
	if (ps->p[1].img)
		CHECK_STR(ps->p[1].img->t.exe, "/bin/other");
	if (ps->p[0].img)
		CHECK_STR(ps->p[0].img->t.allocator, "/lib/libc.so.6");
	CHECK(ps->p[1].fn && ps->p[1].fn[MS_FN_MALLOC].calls == 2);
	CHECK_U64(ps->nlat, 1);
	CHECK_U64(ps->lat_ns[0], 5000);
	replay__free(&rp);
}

TEST(a_table_unlike_the_streams_is_said)
{
	static const int32_t pids[2] = {PARENT, CHILD + 1};
	struct replay rp;

	CHECK_U64(replay_tree(&rp, pids), 1);
	CHECK_U64(rp.procs_mismatch, 1);
	/* left as the stream made it: the image it forked with, its parent's */
	CHECK(rp.ev.procs && rp.ev.procs->p[1].img == rp.ev.procs->img[0]);
	replay__free(&rp);
}
