// SPDX-License-Identifier: GPL-2.0
/* --follow: the followed processes, their images and probes (procs.h). */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyse/addr_index.h"
#include "analyse/codemap.h"
#include "analyse/peralloc.h"
#include "collect/procs.h"
#include "lib/util.h"

#include <bpf/bpf.h>

#include "memstudy.skel.h"

struct proc_tid {
	uint32_t tid; /* 0: empty */
	int proc;     /* index in procs.p */
};

static struct proc *proc_add(struct procs *ps, pid_t pid)
{
	struct proc *p;

	if (ps->n == ps->cap) {
		int cap = ps->cap ? ps->cap * 2 : 64;
		struct proc *np = realloc(ps->p, cap * sizeof(*np));

		if (!np)
			return NULL;
		ps->p = np;
		ps->cap = cap;
	}
	p = &ps->p[ps->n++];
	*p = (struct proc){.pid = pid};
	return p;
}

/* Let a process stopped for its probes run. Never from a recording's replay (no tracer):
 * its pids are another machine's, or another time's. */
static void resume(struct procs *ps, pid_t pid, bool stopped)
{
	if (ps->tr && stopped)
		kill(pid, SIGCONT);
}

/* A code map of the tree's own (an exec'd or adopted process's), kept with the table and
 * numbered for the recording (codemap.rec_id); offline in a replay, whose recording feeds
 * it the text read live. NULL without memory. */
static struct codemap *codemap_made(struct procs *ps, pid_t pid)
{
	struct codemap *cm = codemap__new(pid), **all;

	all = cm ? realloc(ps->cms, (ps->ncms + 1) * sizeof(*all)) : NULL;
	if (!all) {
		codemap__free(cm);
		return NULL;
	}
	ps->cms = all;
	ps->cms[ps->ncms++] = cm;
	cm->rec_id = ps->ncms;
	cm->offline = !ps->tr;
	if (ps->cm_made)
		ps->cm_made(ps->cm_made_ctx, cm);
	return cm;
}

/* Thread TID's records are process I's. */
static void tid_set(struct procs *ps, uint32_t tid, int i)
{
	uint64_t k;

	if ((ps->ntids + 1) * 2 > ps->tids_cap) {
		uint64_t cap = ps->tids_cap ? ps->tids_cap * 2 : 256;
		struct proc_tid *t = calloc(cap, sizeof(*t));

		if (!t)
			return;
		for (uint64_t j = 0; j < ps->tids_cap; j++) {
			if (!ps->tids[j].tid)
				continue;
			for (k = hash64(ps->tids[j].tid) & (cap - 1); t[k].tid;
			     k = (k + 1) & (cap - 1))
				;
			t[k] = ps->tids[j];
		}
		free(ps->tids);
		ps->tids = t;
		ps->tids_cap = cap;
	}
	for (k = hash64(tid) & (ps->tids_cap - 1); ps->tids[k].tid && ps->tids[k].tid != tid;
	     k = (k + 1) & (ps->tids_cap - 1))
		;
	ps->ntids += !ps->tids[k].tid;
	ps->tids[k] = (struct proc_tid){tid, i};
}

uint32_t procs__tids_of(const struct procs *ps, int i, uint32_t **tids)
{
	uint32_t n = 0;

	*tids = NULL;
	for (uint64_t k = 0; k < ps->tids_cap; k++) {
		if (!ps->tids[k].tid || ps->tids[k].proc != i)
			continue;
		*tids = xrealloc(*tids, (n + 1) * sizeof(**tids));
		(*tids)[n++] = ps->tids[k].tid;
	}
	return n;
}

static struct proc *proc_of_tid(struct procs *ps, uint32_t tid)
{
	for (uint64_t k = ps->tids_cap ? hash64(tid) & (ps->tids_cap - 1) : 0;
	     ps->tids_cap && ps->tids[k].tid; k = (k + 1) & (ps->tids_cap - 1))
		if (ps->tids[k].tid == tid)
			return &ps->p[ps->tids[k].proc];
	return NULL;
}

/* an exited process's tids may be the target's threads now */
struct peralloc *procs__peralloc_of(struct procs *ps, uint32_t tid)
{
	struct proc *p = proc_of_tid(ps, tid);

	return p && !p->exited ? p->pa : NULL;
}

struct codemap *procs__codemap_of(struct procs *ps, uint32_t tid)
{
	struct proc *p = proc_of_tid(ps, tid);

	return p && !p->exited ? p->cm : NULL;
}

void procs__set_peralloc(struct procs *ps, struct peralloc *root_pa, struct codemap *root_cm,
			 struct peralloc *(*pa_new)(void *ctx, pid_t pid, struct codemap *cm),
			 void *ctx)
{
	ps->root_pa = root_pa;
	ps->root_cm = root_cm;
	ps->pa_new = pa_new;
	ps->pa_ctx = ctx;
}

void procs__set_codemap(struct procs *ps, struct codemap *root_cm)
{
	ps->root_cm = root_cm;
}

struct codemap *procs__codemap_cb(void *ps, uint32_t tid)
{
	return procs__codemap_of(ps, tid);
}

void procs__refresh(struct procs *ps)
{
	for (int i = 1; i < ps->n; i++)
		if (ps->p[i].pa && !ps->p[i].exited)
			peralloc__refresh_modules(ps->p[i].pa, false);
}

void procs__read_code(struct procs *ps)
{
	for (int i = 1; i < ps->n; i++)
		if (ps->p[i].cm && ps->p[i].cm != ps->root_cm && !ps->p[i].exited)
			codemap__refresh(ps->p[i].cm, true);
}

struct proc *procs__find(struct procs *ps, pid_t pid)
{
	/* the latest first: a pid reused after an exit is the newer process */
	for (int i = ps->n - 1; i >= 0; i--)
		if (ps->p[i].pid == pid && !ps->p[i].exited)
			return &ps->p[i];
	return NULL;
}

static void note_latency(struct procs *ps, struct proc *p, uint64_t since)
{
	uint64_t *l = realloc(ps->lat_ns, (ps->nlat + 1) * sizeof(*l));

	p->attach_ns = mono_ns() - since;
	if (l) {
		ps->lat_ns = l;
		ps->lat_ns[ps->nlat++] = p->attach_ns;
	}
}

struct procs *procs__new(struct tracer *tr, struct target *root, uint64_t start_ns)
{
	struct procs *ps = calloc(1, sizeof(*ps));
	struct proc_image *img = ps ? calloc(1, sizeof(*img)) : NULL;
	struct proc *p;

	if (!img) {
		free(ps);
		return NULL;
	}
	ps->tr = tr;
	ps->root = root;
	img->t = *root;
	img->probed = true;
	ps->img = malloc(sizeof(*ps->img));
	p = ps->img ? proc_add(ps, root->pid) : NULL;
	if (!p) {
		procs__free(ps);
		free(img);
		return NULL;
	}
	ps->img[ps->nimg++] = img;
	p->img = img;
	p->start_ns = start_ns;
	snprintf(p->comm, sizeof(p->comm), "%.15s", root->comm);
	return ps;
}

/* Probe P for its image (none when it has no allocator), then let it run. */
static void probe_and_continue(struct procs *ps, struct proc *p, bool stopped, uint64_t since,
			       bool keep_allocator)
{
	if (!ps->tr) /* a replay: the recording says how its probes went */
		return;
	if (p->img && p->img->probed) {
		p->img->t.pid = p->pid; /* the image's probes, for this process */
		if (tracer__attach_process(ps->tr, &p->img->t, &p->links, keep_allocator)) {
			p->attach_failed = true;
			ps->attach_failures++;
		}
	}
	note_latency(ps, p, since);
	resume(ps, p->pid, stopped);
}

static void on_fork(struct procs *ps, const struct ms_event_proc *e)
{
	struct proc *parent = procs__find(ps, e->ppid), *p;
	struct proc_image *img = parent ? parent->img : ps->p[0].img;

	p = proc_add(ps, e->pid);
	if (!p) {
		resume(ps, e->pid, e->stopped); /* never leave it stopped */
		ps->attach_failures++;
		return;
	}
	p->ppid = e->ppid;
	p->start_ns = e->ts_ns;
	p->img = img;
	snprintf(p->comm, sizeof(p->comm), "%.15s", e->comm);
	tid_set(ps, e->pid, p - ps->p);
	/* its memory is a copy of its parent's: so are its code and its live blocks */
	parent = procs__find(ps, e->ppid);
	p->cm = parent && parent->cm ? parent->cm : ps->root_cm;
	if (ps->pa_new) {
		p->pa = ps->pa_new(ps->pa_ctx, e->pid, p->cm);
		if (p->pa)
			peralloc__inherit(p->pa, parent && parent->pa ? parent->pa : ps->root_pa,
					  e->ppid);
	}
	probe_and_continue(ps, p, e->stopped, e->ts_ns, false);
}

/* An image probing T's allocator and C++ files already, whose placement T can take. */
static const struct target *image_like(struct procs *ps, const struct target *t)
{
	for (int i = 0; i < ps->nimg; i++)
		if (ps->img[i]->probed && !strcmp(ps->img[i]->t.allocator, t->allocator) &&
		    !strcmp(ps->img[i]->t.cxx, t->cxx))
			return &ps->img[i]->t;
	return NULL;
}

/* IMG into the table (freed with it); false (IMG freed) without memory. */
static bool image_keep(struct procs *ps, struct proc_image *img)
{
	struct proc_image **all = realloc(ps->img, (ps->nimg + 1) * sizeof(*all));

	if (!all) {
		free(img);
		return false;
	}
	ps->img = all;
	ps->img[ps->nimg++] = img;
	return true;
}

/* The image PID runs after its exec into EXE: one already resolved, or resolved now. */
static struct proc_image *image_for(struct procs *ps, pid_t pid, const char *exe)
{
	struct proc_image *img = calloc(1, sizeof(*img));

	if (!img)
		return NULL;
	img->t.pid = pid;
	img->t.quiet = true;
	target__env_of(&img->t, pid);
	for (int i = 0; i < ps->nimg; i++) {
		const struct target *o = &ps->img[i]->t;

		if (o->env_given && !strcmp(o->exe, exe) &&
		    !strcmp(o->ld_env[0], img->t.ld_env[0]) &&
		    !strcmp(o->ld_env[1], img->t.ld_env[1])) {
			free(img);
			return ps->img[i];
		}
	}
	img->t.specs = ps->img[0]->t.specs; /* --alloc and the spec files: every image's */
	img->t.specs_optional = true;
	img->probed = !target__resolve_exec(&img->t, exe);
	snprintf(img->t.exe, sizeof(img->t.exe), "%s", exe);
	if (img->probed) {
		/* one function, one slot, across the tree: the report's names are the target's */
		ps->slots_lost += target__share_slots(&img->t, ps->root);
		target__place_probes_like(&img->t, image_like(ps, &img->t));
	} else
		ps->unresolved_images++;
	return image_keep(ps, img) ? img : NULL;
}

/* A and B put the same probes in a process: the same files, functions and places. */
static bool same_probes(const struct proc_image *a, const struct proc_image *b)
{
	const struct target *x = &a->t, *y = &b->t;

	if (a == b)
		return true;
	if (!a->probed || !b->probed || strcmp(x->allocator, y->allocator) ||
	    strcmp(x->cxx, y->cxx) || x->nfn != y->nfn || x->has_phase || y->has_phase)
		return false;
	for (int f = MS_FN_CUSTOM; f < x->nfn; f++)
		if (strcmp(x->fn[f].file, y->fn[f].file) || x->fn[f].offset != y->fn[f].offset)
			return false;
	return true;
}

/* A custom function of T in its allocator's file. */
static bool custom_in_allocator(const struct target *t)
{
	for (int f = MS_FN_CUSTOM; f < t->nfn; f++)
		if (!strcmp(t->fn[f].file, t->allocator))
			return true;
	return false;
}

/* A and B put the same probes on the allocator's file (the probes counted in
 * tracer_links' shared part): the same file, with C++'s operators in it or not in both. */
static bool same_allocator_probes(const struct proc_image *a, const struct proc_image *b)
{
	const struct target *x = &a->t, *y = &b->t;

	return a->probed && b->probed && !strcmp(x->allocator, y->allocator) &&
	       !strcmp(x->cxx, x->allocator) == !strcmp(y->cxx, y->allocator) &&
	       !custom_in_allocator(x) && !custom_in_allocator(y);
}

/* Does B probe a file A's probes off its allocator's file are on? */
static bool files_overlap(const struct proc_image *a, const struct proc_image *b)
{
	const char *mine[MS_FN_MAX + 2], *theirs[MS_FN_MAX + 3];
	int n = 0, m = 0;

	if (a->t.cxx[0] && strcmp(a->t.cxx, a->t.allocator))
		mine[n++] = a->t.cxx;
	if (a->t.has_phase)
		mine[n++] = a->t.exe;
	for (int f = MS_FN_CUSTOM; f < a->t.nfn; f++)
		mine[n++] = a->t.fn[f].file;
	theirs[m++] = b->t.allocator;
	theirs[m++] = b->t.cxx;
	if (b->t.has_phase)
		theirs[m++] = b->t.exe;
	for (int f = MS_FN_CUSTOM; f < b->t.nfn; f++)
		theirs[m++] = b->t.fn[f].file;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < m; j++)
			if (mine[i][0] && !strcmp(mine[i], theirs[j]))
				return true;
	return false;
}

/* P's allocator's own calls: told apart unless its image is its own allocator. */
static void note_own_text(struct procs *ps, struct proc *p)
{
	uint64_t lo = 0, hi = 0;

	if (!p->img || !p->img->probed)
		return;
	if (p->exited || !target__loader_text(p->pid, &lo, &hi))
		lo = hi = 0; /* learned at exec by the kernel side */
	tracer__own_text(ps->tr, p->pid, !tracer__own_calls_for(&p->img->t), lo, hi);
}

void procs__exec(struct procs *ps, const struct ms_event_exec *e, bool initial)
{
	struct proc *p = procs__find(ps, e->tgid);
	struct proc_image *old;
	char link[64], exe[PATH_MAX];
	ssize_t n;

	if (!p || initial) {
		if (p && p->img && ps->tr) /* the kernel side forgot it at the exec */
			tracer__own_text(ps->tr, p->pid, !tracer__own_calls_for(&p->img->t), 0, 0);
		resume(ps, e->tgid, e->stopped);
		return;
	}
	p->execs++;
	if (ps->root_cm) { /* its code is its own now; the old map stays for its old calls */
		struct codemap *cm = codemap_made(ps, p->pid);

		if (cm)
			p->cm = cm;
	}
	if (p->pa) { /* the old image's blocks are gone with it, its sites named with its code */
		peralloc__name_sites(p->pa);
		if (p->cm)
			peralloc__set_codemap(p->pa, p->cm);
		peralloc__exec(p->pa);
	}
	if (!ps->tr) /* a replay: its images are the recording's PROC blocks */
		return;
	snprintf(link, sizeof(link), "/proc/%u/exe", e->tgid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n > 0)
		exe[n] = '\0';
	else
		snprintf(exe, sizeof(exe), "%.*s", (int)sizeof(e->filename) - 1, e->filename);
	old = p->img;
	p->img = image_for(ps, e->tgid, exe);
	if (p->img) /* before it runs: a static program's calls are all its own */
		tracer__own_text(ps->tr, p->pid, !tracer__own_calls_for(&p->img->t), 0, 0);
	if (p != &ps->p[0] && old && p->img && same_probes(old, p->img)) {
		/* the same files probed at the same places: its probes stay (a pid's probes
		 * follow it through exec) */
		note_latency(ps, p, e->ts_ns);
		resume(ps, e->tgid, e->stopped);
		return;
	}
	if (p != &ps->p[0] && old && p->img && same_allocator_probes(old, p->img)) {
		/* the allocator's probes stay; the others go, before it runs again where the
		 * new image probes their files too (a call must not count twice) */
		tracer__links_drop_others(ps->tr, &p->links, files_overlap(old, p->img));
		probe_and_continue(ps, p, e->stopped, e->ts_ns, true);
		return;
	}
	/* the old image's probes go before it runs again, so that no call is counted twice
	 * where both images probe one file */
	tracer__links_free(&p->links);
	snprintf(p->comm, sizeof(p->comm), "%.15s",
		 strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe);
	if (p == &ps->p[0] && p->img) {
		/* the target: the tracer's own probes (its first image's) stay in place, so
		 * only what they do not cover is added, never a second probe on their files */
		const struct proc_image *first = ps->img[0];
		bool keep = same_allocator_probes(first, p->img);

		if (same_probes(first, p->img) || (keep && files_overlap(first, p->img))) {
			note_latency(ps, p, e->ts_ns);
			resume(ps, e->tgid, e->stopped);
			return;
		}
		probe_and_continue(ps, p, e->stopped, e->ts_ns, keep);
		return;
	}
	probe_and_continue(ps, p, e->stopped, e->ts_ns, false);
}

void procs__event(struct procs *ps, const struct ms_event_proc *e)
{
	struct proc *p;

	if (e->what == MS_PROC_FORK) {
		on_fork(ps, e);
		return;
	}
	if (e->what == MS_PROC_THREAD) {
		p = procs__find(ps, e->pid);
		if (p)
			tid_set(ps, e->ppid, p - ps->p);
		return;
	}
	p = procs__find(ps, e->pid);
	if (!p)
		return;
	p->exited = true;
	p->end_ns = e->ts_ns;
	p->exit_code = e->exit_code;
	snprintf(p->comm, sizeof(p->comm), "%.15s", e->comm);
	if (ps->tr)
		tracer__links_release(ps->tr, &p->links);
}

int procs__alive(const struct procs *ps)
{
	int n = 0;

	for (int i = 1; i < ps->n; i++)
		n += !ps->p[i].exited;
	return n;
}

/* PID's parent, from /proc/PID/stat; 0 when gone. */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *close;
	int ppid = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, buf, sizeof(buf)) <= 0 || !(close = strrchr(buf, ')')))
		return 0;
	if (sscanf(close + 1, " %*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

/* A running process's threads: their records are its. */
static void adopt_threads(struct procs *ps, struct proc *p)
{
	char path[64];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", p->pid);
	d = opendir(path);
	while (d && (de = readdir(d)))
		if (atoi(de->d_name) > 0)
			tid_set(ps, atoi(de->d_name), p - ps->p);
	if (d)
		closedir(d);
}

/* An adopted process's code map and collector (its blocks from before: unknown, as with
 * any --pid). */
static void adopted_code(struct procs *ps, struct proc *p)
{
	if (ps->root_cm)
		p->cm = codemap_made(ps, p->pid);
	if (ps->pa_new && p->cm)
		p->pa = ps->pa_new(ps->pa_ctx, p->pid, p->cm);
}

void procs__adopt_recorded(struct procs *ps, pid_t pid, pid_t ppid, const uint32_t *tids,
			   uint32_t ntids)
{
	struct proc *p = proc_add(ps, pid);

	if (!p)
		return;
	p->ppid = ppid;
	for (uint32_t i = 0; i < ntids; i++)
		tid_set(ps, tids[i], p - ps->p);
	adopted_code(ps, p);
}

struct proc_image *procs__image_new(struct procs *ps)
{
	struct proc_image *img = calloc(1, sizeof(*img));

	return img && image_keep(ps, img) ? img : NULL;
}

void procs__adopt_descendants(struct procs *ps)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t *all = NULL;
	int n = 0, added;

	while (d && (de = readdir(d))) {
		pid_t pid = atoi(de->d_name), *a;

		if (pid <= 0 || pid == ps->p[0].pid || !(a = realloc(all, (n + 1) * sizeof(*a))))
			continue;
		all = a;
		all[n++] = pid;
	}
	if (d)
		closedir(d);
	/* whose parent is in the tree, until no more join: children, grandchildren... */
	do {
		added = 0;
		for (int i = 0; i < n; i++) {
			pid_t ppid = all[i] ? parent_of(all[i]) : 0;
			struct proc_image *img;
			struct proc *p;

			if (!ppid || !procs__find(ps, ppid) || procs__find(ps, all[i]))
				continue;
			img = calloc(1, sizeof(*img));
			if (!img || target__check_pid(&img->t, all[i])) {
				free(img);
				continue;
			}
			img->t.quiet = true;
			img->t.specs = ps->img[0]->t.specs;
			img->t.specs_optional = true;
			img->probed = !target__resolve_pid(&img->t);
			if (img->probed) {
				ps->slots_lost += target__share_slots(&img->t, ps->root);
				target__place_probes(&img->t);
			}
			p = image_keep(ps, img) ? proc_add(ps, all[i]) : NULL;
			if (!p)
				continue;
			p->ppid = ppid;
			p->img = img;
			snprintf(p->comm, sizeof(p->comm), "%.15s", img->t.comm);
			adopt_threads(ps, p);
			note_own_text(ps, p);
			adopted_code(ps, p);
			tracer__follow_pid(ps->tr, all[i]);
			probe_and_continue(ps, p, false, mono_ns(), false);
			all[i] = 0;
			added++;
		}
	} while (added);
	free(all);
}

void procs__detach(struct procs *ps)
{
	for (int i = 0; ps && ps->tr && i < ps->n; i++)
		tracer__links_free(&ps->p[i].links);
}

void procs__collect_fn_stats(struct procs *ps)
{
	struct memstudy_bpf *s = tracer__skel(ps->tr);
	int fd = bpf_map__fd(s->maps.proc_fn);
	struct ms_proc_fn_key key, next, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct ms_proc_fn v;

		key = next;
		prev = &key;
		if (key.fn >= MS_FN_MAX || bpf_map_lookup_elem(fd, &key, &v))
			continue;
		/* a pid reused: the latest process of that pid */
		for (int i = ps->n - 1; i >= 0; i--) {
			struct proc *p = &ps->p[i];

			if (p->pid != (pid_t)key.tgid)
				continue;
			if (!p->fn)
				p->fn = calloc(MS_FN_MAX, sizeof(*p->fn));
			if (p->fn)
				p->fn[key.fn] = v;
			break;
		}
	}
}

void procs__free(struct procs *ps)
{
	if (!ps)
		return;
	procs__detach(ps);
	for (int i = 0; i < ps->n; i++)
		free(ps->p[i].fn);
	for (int i = 0; i < ps->nimg; i++)
		free(ps->img[i]);
	for (int i = 1; i < ps->n; i++)
		peralloc__free(ps->p[i].pa);
	for (int i = 0; i < ps->ncms; i++)
		codemap__free(ps->cms[i]);
	free(ps->cms);
	free(ps->img);
	free(ps->tids);
	free(ps->p);
	free(ps->lat_ns);
	free(ps);
}
