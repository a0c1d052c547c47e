// SPDX-License-Identifier: GPL-2.0
/*
 * memstudy maps: read /proc/PID/smaps, label every mapping, and measure what
 * can be measured from outside about why heap memory stays.
 *
 * glibc layout facts used here are those of glibc 2.36 on x86-64 (see
 * docs/maps.md); every value read from the target is validated before use,
 * and anything that does not validate leaves the label or number "unknown"
 * rather than guessing silently.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <json-c/json.h>

#include "maps/maps.h"

#define KiB 1024UL
#define MiB (1024UL * KiB)

/* glibc 2.36, 64-bit: HEAP_MAX_SIZE = 2 * DEFAULT_MMAP_THRESHOLD_MAX = 64 MiB. */
#define ARENA_HEAP_MAX	   (64 * MiB)
#define GLIBC_TRIM_DEFAULT (128 * KiB)
#define GLIBC_TOP_PAD	   (128 * KiB)
/* Chunk header: prev_size, size|flags. */
#define CHUNK_HDR  16UL
#define MINSIZE	   32UL
#define PREV_INUSE 0x1UL
#define IS_MMAPPED 0x2UL
#define NON_MAIN   0x4UL
#define SIZE_FLAGS 0x7UL
/* sizeof(heap_info) and offsets in struct malloc_state (glibc 2.36, x86-64). */
#define HEAP_INFO_SIZE	  0x30UL
#define MSTATE_SIZE	  0x898UL
#define MSTATE_TOP	  0x60UL
#define MSTATE_NEXT	  0x870UL
#define MSTATE_SYSTEM_MEM 0x888UL
#define MSTATE_MAX_SYSMEM 0x890UL
/* A walk never takes more steps than this (each step is >= MINSIZE bytes anyway). */
#define WALK_MAX_CHUNKS 50000000UL

static const char *const label_names[MAPS_L__COUNT] = {
    [MAPS_L_FILE] = "file",
    [MAPS_L_MAIN_HEAP] = "main-heap",
    [MAPS_L_ARENA_HEAP] = "arena-heap",
    [MAPS_L_ARENA_RESERVE] = "arena-reserve",
    [MAPS_L_STACK] = "stack",
    [MAPS_L_THREAD_STACK] = "thread-stack",
    [MAPS_L_GUARD] = "guard",
    [MAPS_L_MMAP_CHUNK] = "mmap-chunk",
    [MAPS_L_ANON] = "anon",
    [MAPS_L_VDSO] = "vdso",
    [MAPS_L_VVAR] = "vvar",
    [MAPS_L_VSYSCALL] = "vsyscall",
    [MAPS_L_SPECIAL] = "special",
};

const char *maps_label__name(enum maps_label l)
{
	return l < MAPS_L__COUNT ? label_names[l] : "?";
}

enum maps_label maps_label__from_name(const char *name)
{
	for (int i = 0; i < MAPS_L__COUNT; i++)
		if (!strcmp(label_names[i], name))
			return i;
	return MAPS_L__COUNT;
}

/* ---- small helpers ---- */

static char *xstrdup(const char *s)
{
	char *r = strdup(s ? s : "");

	if (!r) {
		perror("memstudy maps");
		exit(1);
	}
	return r;
}

static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *r;

	va_start(ap, fmt);
	if (vasprintf(&r, fmt, ap) < 0) {
		perror("memstudy maps");
		exit(1);
	}
	va_end(ap);
	return r;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		perror("memstudy maps");
		exit(1);
	}
	return p;
}

static void set_str(char **dst, char *s)
{
	free(*dst);
	*dst = s;
}

static void add_note(struct maps_snapshot *s, char *note)
{
	s->notes = xrealloc(s->notes, (s->nr_notes + 1) * sizeof(*s->notes));
	s->notes[s->nr_notes++] = note;
}

static bool is_anon(const struct maps_mapping *m)
{
	/* [anon:NAME] comes from prctl(PR_SET_VMA_ANON_NAME); still anonymous memory. */
	return m->inode == 0 && (!m->name[0] || !strncmp(m->name, "[anon:", 6));
}

static bool is_prot_none(const struct maps_mapping *m)
{
	return !strncmp(m->perms, "---", 3);
}

static bool is_rw_private(const struct maps_mapping *m)
{
	return m->perms[0] == 'r' && m->perms[1] == 'w' && m->perms[3] == 'p';
}

static unsigned long align_up(unsigned long v, unsigned long a)
{
	return (v + a - 1) & ~(a - 1);
}

static long long now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static char *read_small_file(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = 0;
	return xstrdup(buf);
}

/* ---- reading /proc/PID/smaps ---- */

static int parse_smaps(struct maps_snapshot *s, FILE *f)
{
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	struct maps_mapping *cur = NULL;

	while (getline(&line, &cap, f) > 0) {
		unsigned long a, b, off, ino, v;
		char perms[8], dev[32], key[64];
		int n = 0;

		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%lx-%lx %7s %lx %31s %lu %n", &a, &b, perms, &off, dev, &ino,
			   &n) == 6 &&
		    n > 0) {
			if (s->nr_maps == alloc) {
				alloc = alloc ? alloc * 2 : 64;
				s->maps = xrealloc(s->maps, alloc * sizeof(*s->maps));
			}
			cur = &s->maps[s->nr_maps++];
			memset(cur, 0, sizeof(*cur));
			cur->start = a;
			cur->end = b;
			snprintf(cur->perms, sizeof(cur->perms), "%.4s", perms);
			cur->offset = off;
			cur->inode = ino;
			cur->name = xstrdup(line + n);
			cur->size_kb = (b - a) / KiB;
			cur->label = MAPS_L__COUNT;
			continue;
		}
		if (!cur || sscanf(line, "%63[^:]: %lu kB", key, &v) != 2)
			continue;
		/* Dirty as pmap -x shows it: private + shared dirty. */
		if (!strcmp(key, "Rss"))
			cur->rss_kb = v;
		else if (!strcmp(key, "Private_Dirty") || !strcmp(key, "Shared_Dirty"))
			cur->dirty_kb += v;
		else if (!strcmp(key, "Swap"))
			cur->swap_kb = v;
		else if (!strcmp(key, "Size"))
			cur->size_kb = v;
	}
	free(line);
	return 0;
}

/*
 * Stack pointers of all threads. /proc/PID/task/TID/stat's kstkesp is 0 on
 * current kernels, so the user sp comes from task/TID/syscall: "NR args... sp
 * pc" while in a syscall, "-1 sp pc" when blocked otherwise, "running" when
 * on a CPU (then no sp). Needs the same access as /proc/PID/mem.
 */
static void read_threads(struct maps_snapshot *s)
{
	char path[96];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", s->pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct maps_thread *t;
		char *txt, *tok[16], *save = NULL, *p;
		int tid = atoi(de->d_name), n = 0;

		if (tid <= 0)
			continue;
		s->threads = xrealloc(s->threads, (s->nr_threads + 1) * sizeof(*s->threads));
		t = &s->threads[s->nr_threads++];
		memset(t, 0, sizeof(*t));
		t->tid = tid;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", s->pid, tid);
		txt = read_small_file(path);
		if (txt) {
			for (p = strtok_r(txt, " \n", &save); p && n < 16;
			     p = strtok_r(NULL, " \n", &save))
				tok[n++] = p;
			if (n >= 3) {
				t->sp = strtoul(tok[n - 2], NULL, 16);
				t->sp_source = xstrdup("task/syscall");
			} else if (n == 1 && !strcmp(tok[0], "running")) {
				t->sp_source = xstrdup("running (no sp)");
			}
			free(txt);
		}
		if (!t->sp) {
			/* kstkesp, field 29, after the ")" that ends comm. */
			snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", s->pid, tid);
			txt = read_small_file(path);
			p = txt ? strrchr(txt, ')') : NULL;
			if (p) {
				unsigned long v = 0;
				int field = 2;

				for (p = strtok_r(p + 1, " ", &save); p;
				     p = strtok_r(NULL, " ", &save))
					if (++field == 29) {
						v = strtoul(p, NULL, 10);
						break;
					}
				if (v) {
					t->sp = v;
					set_str(&t->sp_source, xstrdup("stat kstkesp"));
				}
			}
			free(txt);
		}
		if (!t->sp_source)
			t->sp_source = xstrdup("not readable");
	}
	closedir(d);
}

/* MALLOC_*_ env settings and GLIBC_TUNABLES change the defaults the analysis assumes. */
static void read_env(struct maps_snapshot *s)
{
	char path[64], buf[65536];
	ssize_t n, off = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/environ", s->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	while (off < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(fd, buf + off, sizeof(buf) - 1 - off)) > 0)
		off += n;
	close(fd);
	buf[off] = 0;
	for (char *e = buf; e < buf + off; e += strlen(e) + 1) {
		const char *v;

		if (!strncmp(e, "MALLOC_TRIM_THRESHOLD_=", 23))
			s->env_trim_threshold = strtoul(e + 23, NULL, 0);
		else if (!strncmp(e, "MALLOC_TOP_PAD_=", 16))
			s->env_top_pad = strtoul(e + 16, NULL, 0);
		else if (!strncmp(e, "MALLOC_MMAP_THRESHOLD_=", 23))
			s->env_mmap_threshold = strtoul(e + 23, NULL, 0);
		else if (!strncmp(e, "GLIBC_TUNABLES=", 15)) {
			if ((v = strstr(e, "glibc.malloc.trim_threshold=")))
				s->env_trim_threshold = strtoul(v + 28, NULL, 0);
			if ((v = strstr(e, "glibc.malloc.top_pad=")))
				s->env_top_pad = strtoul(v + 21, NULL, 0);
			if ((v = strstr(e, "glibc.malloc.mmap_threshold=")))
				s->env_mmap_threshold = strtoul(v + 28, NULL, 0);
		}
	}
}

struct maps_snapshot *maps_snapshot__read(int pid)
{
	struct maps_snapshot *s;
	char path[64], *txt;
	struct stat st;
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (pid <= 0 || stat(path, &st) < 0) {
		errno = ESRCH;
		return NULL;
	}
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	if (!f) {
		err = errno;
		errno = err == ENOENT ? ESRCH : err;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		fclose(f);
		return NULL;
	}
	s->pid = pid;
	s->page_size = sysconf(_SC_PAGESIZE);
	s->time_ms = now_ms();
	parse_smaps(s, f);
	err = ferror(f) ? errno : 0;
	fclose(f);
	if (err || !s->nr_maps) {
		/* A zombie (or a kernel thread) has no mappings: nothing to show. */
		maps_snapshot__free(s);
		errno = err == EACCES || err == EPERM ? err : ESRCH;
		return NULL;
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	txt = read_small_file(path);
	if (txt)
		txt[strcspn(txt, "\n")] = 0;
	s->comm = txt ? txt : xstrdup("?");
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	{
		char exe[4096];
		ssize_t n = readlink(path, exe, sizeof(exe) - 1);

		s->exe = xstrdup(n > 0 ? (exe[n] = 0, exe) : "");
	}
	read_threads(s);
	read_env(s);
	return s;
}

/* ---- reading target memory ---- */

/*
 * Reads go through /proc/PID/mem (or process_vm_readv when mem cannot be
 * opened), one page at a time with a one-page cache: a heap walk only touches
 * chunk headers, which never cross a page because they are 16-byte aligned.
 */
struct memrd {
	int pid, fd;
	bool vm; /* use process_vm_readv */
	long page_size;
	unsigned long page;
	bool have;
	unsigned char *buf;
};

static bool memrd_open(struct memrd *r, struct maps_snapshot *s)
{
	char path[64];

	memset(r, 0, sizeof(*r));
	r->pid = s->pid;
	r->page_size = s->page_size;
	r->buf = xrealloc(NULL, s->page_size);
	snprintf(path, sizeof(path), "/proc/%d/mem", s->pid);
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		int err = errno;

		set_str(&s->mem_error, xasprintf("%s: %s", path, strerror(err)));
		r->vm = true;
	}
	return true;
}

static void memrd_close(struct memrd *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
}

static bool memrd_raw(struct memrd *r, unsigned long addr, void *dst, size_t len)
{
	if (r->vm) {
		struct iovec l = {dst, len}, rm = {(void *)addr, len};

		return process_vm_readv(r->pid, &l, 1, &rm, 1, 0) == (ssize_t)len;
	}
	return pread(r->fd, dst, len, (off_t)addr) == (ssize_t)len;
}

/* Read len bytes at addr, within one page. */
static bool memrd_read(struct memrd *r, unsigned long addr, void *dst, size_t len)
{
	unsigned long page = addr & ~(r->page_size - 1);

	if (addr - page + len > (unsigned long)r->page_size)
		return memrd_raw(r, addr, dst, len);
	if (!r->have || r->page != page) {
		r->have = memrd_raw(r, page, r->buf, r->page_size);
		r->page = page;
		if (!r->have)
			return false;
	}
	memcpy(dst, r->buf + (addr - page), len);
	return true;
}

static bool memrd_word(struct memrd *r, unsigned long addr, unsigned long *v)
{
	return memrd_read(r, addr, v, sizeof(*v));
}

/* Present-or-swapped bits from /proc/PID/pagemap for [start, end); NULL if unreadable. */
static uint64_t *read_pagemap(int pid, unsigned long start, unsigned long end, long page_size)
{
	size_t n = (end - start) / page_size;
	char path[64];
	uint64_t *pm;
	int fd;

	if (!n || n > (64UL << 20))
		return NULL;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	pm = xrealloc(NULL, n * sizeof(*pm));
	if (pread(fd, pm, n * sizeof(*pm), (off_t)(start / page_size * sizeof(*pm))) !=
	    (ssize_t)(n * sizeof(*pm))) {
		free(pm);
		pm = NULL;
	}
	close(fd);
	return pm;
}

/* Resident pages wholly inside [a, b) of a heap whose pagemap starts at base. */
static long count_resident(const uint64_t *pm, unsigned long base, unsigned long a, unsigned long b,
			   long page_size)
{
	long n = 0;

	a = align_up(a, page_size);
	b &= ~(page_size - 1);
	for (unsigned long p = a; p < b; p += page_size)
		if (pm[(p - base) / page_size] & (1ULL << 63))
			n++;
	return n;
}

/* ---- labels ---- */

static struct maps_mapping *find_mapping(struct maps_snapshot *s, unsigned long addr)
{
	size_t lo = 0, hi = s->nr_maps;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (addr < s->maps[mid].start)
			hi = mid;
		else if (addr >= s->maps[mid].end)
			lo = mid + 1;
		else
			return &s->maps[mid];
	}
	return NULL;
}

static void set_label(struct maps_mapping *m, enum maps_label l, char *evidence)
{
	m->label = l;
	set_str(&m->label_name, xstrdup(maps_label__name(l)));
	set_str(&m->evidence, evidence);
}

/*
 * glibc's mmapped chunks fill their whole mapping: header at start (+prev_size
 * for memalign), size field with exactly IS_MMAPPED set, prev_size + size ==
 * mapping length. Adjacent chunk mappings may be merged into one VMA by the
 * kernel, so follow chunk after chunk. Returns chunks found, 0 if none.
 */
static int check_mmap_chunks(struct memrd *r, const struct maps_mapping *m, bool *partial)
{
	unsigned long p = m->start;
	int n = 0;

	*partial = false;
	while (p < m->end && n < 4096) {
		unsigned long hdr[2], pre, size;

		if (!memrd_read(r, p, hdr, sizeof(hdr)))
			break;
		pre = hdr[0];
		if (pre) {
			/* memalign moved the chunk up by prev_size; its header repeats it. */
			if (pre % CHUNK_HDR || pre >= m->end - p ||
			    !memrd_read(r, p + pre, hdr, sizeof(hdr)) || hdr[0] != pre)
				break;
		}
		size = hdr[1];
		if ((size & SIZE_FLAGS) != IS_MMAPPED || (size & ~SIZE_FLAGS) < MINSIZE ||
		    (pre + (size & ~SIZE_FLAGS)) % r->page_size ||
		    pre + (size & ~SIZE_FLAGS) > m->end - p)
			break;
		p += pre + (size & ~SIZE_FLAGS);
		n++;
	}
	*partial = n && p != m->end;
	return n;
}

/* heap_info at the start of an arena heap; returns true when it looks valid. */
static bool read_heap_info(struct memrd *r, const struct maps_mapping *m, unsigned long hi[5])
{
	for (int i = 0; i < 5; i++)
		if (!memrd_word(r, m->start + i * 8, &hi[i]))
			return false;
	/* ar_ptr, prev, size, mprotect_size, pagesize */
	return hi[0] && hi[2] && hi[2] <= ARENA_HEAP_MAX && hi[3] <= ARENA_HEAP_MAX &&
	       hi[2] <= m->end - m->start + 0UL &&
	       (hi[4] == 0 || hi[4] == (unsigned long)r->page_size);
}

static void label_arenas(struct maps_snapshot *s, struct memrd *r)
{
	for (size_t i = 0; i < s->nr_maps; i++) {
		struct maps_mapping *m = &s->maps[i], *nx = i + 1 < s->nr_maps ? m + 1 : NULL;
		unsigned long hi[5];
		bool reserve;

		if (m->label != MAPS_L__COUNT || !is_anon(m) || !is_rw_private(m) ||
		    m->start % ARENA_HEAP_MAX || m->end - m->start > ARENA_HEAP_MAX)
			continue;
		/* The aligned reservation: rw part, then PROT_NONE up to start + 64 MiB. */
		reserve = nx && is_anon(nx) && is_prot_none(nx) && nx->start == m->end &&
			  nx->end <= m->start + ARENA_HEAP_MAX;
		if (!reserve && m->end - m->start != ARENA_HEAP_MAX)
			continue;
		if (r && read_heap_info(r, m, hi))
			set_label(
			    m, MAPS_L_ARENA_HEAP,
			    xasprintf("64 MiB-aligned; heap_info: arena 0x%lx, size %lu KiB%s",
				      hi[0], hi[2] / KiB,
				      hi[1] ? ", continues an earlier heap" : ""));
		else
			set_label(
			    m, MAPS_L_ARENA_HEAP,
			    xstrdup(r ? "64 MiB-aligned rw + PROT_NONE rest (heap_info unreadable "
					"or invalid)"
				      : "64 MiB-aligned rw + PROT_NONE rest (layout only)"));
		if (reserve)
			set_label(nx, MAPS_L_ARENA_RESERVE,
				  xasprintf("PROT_NONE rest of the arena heap at 0x%lx", m->start));
	}
}

static void label_guard_below(struct maps_snapshot *s, size_t i)
{
	struct maps_mapping *g = i > 0 ? &s->maps[i - 1] : NULL;

	if (g && g->label == MAPS_L__COUNT && is_anon(g) && is_prot_none(g) &&
	    g->end == s->maps[i].start)
		set_label(g, MAPS_L_GUARD,
			  xasprintf("PROT_NONE just below the stack at 0x%lx", s->maps[i].start));
}

static void label_stacks_by_sp(struct maps_snapshot *s)
{
	for (size_t t = 0; t < s->nr_threads; t++) {
		struct maps_thread *th = &s->threads[t];
		struct maps_mapping *m = th->sp ? find_mapping(s, th->sp) : NULL;

		if (!m)
			continue;
		if (m->label == MAPS_L_STACK) {
			m->tid = th->tid;
			set_str(&m->evidence, xasprintf("sp of tid %d", th->tid));
			continue;
		}
		if (m->label != MAPS_L__COUNT && m->label != MAPS_L_THREAD_STACK)
			continue;
		if (!is_anon(m))
			continue;
		set_label(
		    m, MAPS_L_THREAD_STACK,
		    xasprintf("sp of tid %d (0x%lx, from %s)", th->tid, th->sp, th->sp_source));
		m->tid = th->tid;
		label_guard_below(s, m - s->maps);
	}
}

static void analyze_heaps(struct maps_snapshot *s, struct memrd *r);

void maps_snapshot__label(struct maps_snapshot *s, const struct maps_options *opts)
{
	struct memrd rd, *r = NULL;

	/* Pass 1: what the kernel names. */
	for (size_t i = 0; i < s->nr_maps; i++) {
		struct maps_mapping *m = &s->maps[i];
		const char *n = m->name;

		if (!strcmp(n, "[heap]"))
			set_label(m, MAPS_L_MAIN_HEAP,
				  xstrdup("[heap]: the brk area of main_arena"));
		else if (!strcmp(n, "[stack]"))
			set_label(m, MAPS_L_STACK, xstrdup("[stack]: the main thread's stack"));
		else if (!strcmp(n, "[vdso]"))
			set_label(m, MAPS_L_VDSO, xstrdup("kernel-provided code"));
		else if (!strncmp(n, "[vvar", 5))
			set_label(m, MAPS_L_VVAR, xstrdup("kernel-provided data for the vdso"));
		else if (!strcmp(n, "[vsyscall]"))
			set_label(m, MAPS_L_VSYSCALL, xstrdup("legacy vsyscall page"));
		else if (!strncmp(n, "[anon: glibc: malloc arena", 26))
			set_label(m, MAPS_L_ARENA_HEAP, xstrdup("named by glibc"));
		else if (!strncmp(n, "[anon: glibc: pthread stack", 27))
			set_label(m, MAPS_L_THREAD_STACK, xstrdup("named by glibc"));
		else if (!strncmp(n, "[anon: glibc: malloc", 20))
			set_label(m, MAPS_L_MMAP_CHUNK, xstrdup("named by glibc"));
		else if (!is_anon(m) && n[0] == '[')
			set_label(m, MAPS_L_SPECIAL, xstrdup("kernel-named area"));
		else if (!is_anon(m))
			set_label(m, MAPS_L_FILE, xstrdup("file-backed"));
		else
			m->label = MAPS_L__COUNT; /* decided below */
	}

	if (!opts || !opts->no_mem) {
		memrd_open(&rd, s);
		r = &rd;
		/* Probe: can we read anything at all (the first readable mapping)? */
		s->mem_read = false;
		for (size_t i = 0; i < s->nr_maps && !s->mem_read; i++) {
			unsigned long w;

			if (s->maps[i].perms[0] == 'r' && s->maps[i].label != MAPS_L_VVAR &&
			    s->maps[i].label != MAPS_L_VSYSCALL)
				s->mem_read = memrd_word(r, s->maps[i].start, &w);
		}
		if (!s->mem_read) {
			if (!s->mem_error)
				s->mem_error = xasprintf("reading memory of PID %d: %s", s->pid,
							 strerror(errno));
			memrd_close(r);
			r = NULL;
		} else {
			set_str(&s->mem_error, NULL);
		}
	} else {
		s->mem_error = xstrdup("--no-mem: target memory not read");
	}

	label_arenas(s, r);
	label_stacks_by_sp(s);

	/* mmapped malloc chunks: header says so. */
	for (size_t i = 0; r && i < s->nr_maps; i++) {
		struct maps_mapping *m = &s->maps[i];
		bool partial;
		int n;

		if (m->label != MAPS_L__COUNT || !is_anon(m) || !is_rw_private(m))
			continue;
		n = check_mmap_chunks(r, m, &partial);
		if (n == 1 && !partial)
			set_label(
			    m, MAPS_L_MMAP_CHUNK,
			    xstrdup("chunk header at start with IS_MMAPPED, fills the mapping"));
		else if (n)
			set_label(m, MAPS_L_MMAP_CHUNK,
				  xasprintf("%d mmapped chunk(s) in kernel-merged mapping%s", n,
					    partial ? "; the rest unexplained" : ""));
	}

	/* Stacks nobody's sp pointed into: rw just above a PROT_NONE guard. */
	for (size_t i = 1; i < s->nr_maps; i++) {
		struct maps_mapping *m = &s->maps[i], *g = m - 1;

		if (m->label != MAPS_L__COUNT || !is_anon(m) || !is_rw_private(m) ||
		    g->end != m->start || !is_anon(g) || !is_prot_none(g) ||
		    (g->label != MAPS_L__COUNT && g->label != MAPS_L_GUARD) ||
		    g->end - g->start > 1 * MiB)
			continue;
		set_label(
		    m, MAPS_L_THREAD_STACK,
		    xasprintf("rw just above a PROT_NONE guard (no thread's sp inside: a thread "
			      "on a CPU, an unreadable sp, or a cached stack of an exited "
			      "thread)%s",
			      m->end - m->start == 8 * MiB ? "; 8 MiB = glibc default" : ""));
		label_guard_below(s, i);
	}

	for (size_t i = 0; i < s->nr_maps; i++) {
		struct maps_mapping *m = &s->maps[i];

		if (m->label != MAPS_L__COUNT)
			continue;
		if (is_prot_none(m) && m->end - m->start <= 64 * KiB)
			set_label(m, MAPS_L_GUARD, xstrdup("small PROT_NONE anonymous area"));
		else if (is_rw_private(m) && !r)
			set_label(
			    m, MAPS_L_ANON,
			    xstrdup("anonymous; memory not readable, so mmap-chunk not checked"));
		else
			set_label(m, MAPS_L_ANON, xstrdup("anonymous, not otherwise explained"));
	}

	analyze_heaps(s, r);
	if (r)
		memrd_close(r);
}

/* ---- heaps: why memory stays ---- */

struct heap_ctx {
	struct memrd *r;
	const uint64_t *pm; /* pagemap of [pm_base, h->end), or NULL */
	unsigned long pm_base;
	long ps;
};

static void walk_fail(struct maps_heap *h, unsigned long at, char *why)
{
	h->walked = false;
	h->walk_stop = at;
	set_str(&h->walk_error, why);
}

/* A chunk is free when the next chunk's PREV_INUSE bit is clear. */
static void classify(struct maps_heap *h, const struct heap_ctx *c, unsigned long p,
		     unsigned long size, bool inuse)
{
	if (inuse) {
		h->inuse_chunks++;
		h->inuse_bytes += size;
		return;
	}
	h->free_chunks++;
	h->free_bytes += size;
	if (size > h->largest_free)
		h->largest_free = size;
	/* malloc_trim() can give back the whole pages past the free chunk's links (48 bytes). */
	if (c->pm && h->free_resident_pages >= 0)
		h->free_resident_pages +=
		    count_resident(c->pm, c->pm_base, p + 48, p + size, c->ps);
}

/*
 * Walk chunk headers from first to end. Every size is validated; the walk stops
 * at the first thing that does not look like glibc's heap (the target may also
 * be changing it right now: this is a snapshot of a live process).
 */
static void walk_heap(struct maps_heap *h, const struct heap_ctx *c, unsigned long first,
		      unsigned long end)
{
	unsigned long p = first, prev = 0, prev_size = 0;

	h->walked = false;
	h->free_resident_pages = c->pm ? 0 : -1;
	while (true) {
		unsigned long hdr[2], csize;

		if (h->chunks >= WALK_MAX_CHUNKS) {
			walk_fail(h, p, xasprintf("more than %lu chunks", WALK_MAX_CHUNKS));
			return;
		}
		if (!memrd_read(c->r, p, hdr, sizeof(hdr))) {
			walk_fail(h, p,
				  xasprintf("cannot read the chunk header: %s", strerror(errno)));
			return;
		}
		csize = hdr[1] & ~SIZE_FLAGS;
		if (prev) {
			bool inuse = hdr[1] & PREV_INUSE;

			/* A free chunk's size is repeated in the next chunk's prev_size. */
			if (!inuse && hdr[0] != prev_size) {
				walk_fail(h, prev,
					  xasprintf("free chunk of 0x%lx bytes without matching "
						    "footer (0x%lx)",
						    prev_size, hdr[0]));
				return;
			}
			classify(h, c, prev, prev_size, inuse);
		} else if (!(hdr[1] & PREV_INUSE)) {
			walk_fail(
			    h, p,
			    xasprintf("first chunk lacks PREV_INUSE (size field 0x%lx)", hdr[1]));
			return;
		}
		/* A full arena heap ends in two 16-byte fenceposts: its top moved on. */
		if (!h->main && csize == CHUNK_HDR && p + 2 * CHUNK_HDR == end) {
			h->walked = true;
			set_str(&h->top_source,
				xstrdup("none: heap is full, the arena continues in a later heap"));
			return;
		}
		if (csize < MINSIZE || csize % CHUNK_HDR || csize > end - p ||
		    (hdr[1] & IS_MMAPPED) || (h->main && (hdr[1] & NON_MAIN))) {
			walk_fail(h, p, xasprintf("implausible size field 0x%lx", hdr[1]));
			return;
		}
		h->chunks++;
		if (p + csize == end) {
			h->top = p;
			h->top_size = csize;
			h->chunks--; /* chunks counts in-use + free, not top */
			h->walked = true;
			set_str(&h->top_source,
				xstrdup("heap walk (last chunk ends at the heap end)"));
			return;
		}
		prev = p;
		prev_size = csize;
		p += csize;
	}
}

/* Is there a struct malloc_state at a whose top lies in [start, end) and that owns end - start
 * bytes? */
static bool looks_like_main_arena(struct memrd *r, unsigned long a, unsigned long start,
				  unsigned long end)
{
	unsigned long top, sys, maxsys, next, tsize;

	if (!memrd_word(r, a + MSTATE_TOP, &top) || top < start || top >= end || top % CHUNK_HDR)
		return false;
	if (!memrd_word(r, a + MSTATE_SYSTEM_MEM, &sys) || sys != end - start ||
	    !memrd_word(r, a + MSTATE_MAX_SYSMEM, &maxsys) || maxsys < sys ||
	    !memrd_word(r, a + MSTATE_NEXT, &next) || !next)
		return false;
	return memrd_word(r, top + 8, &tsize) && top + (tsize & ~SIZE_FLAGS) == end;
}

/*
 * main_arena is a local symbol of libc (no address without debug symbols).
 * Find it anyway: every arena's malloc_state.next chains back to it, and it
 * sits in libc's writable data, so scan that for a malloc_state that matches
 * the [heap] exactly (top inside it, system_mem == its size).
 */
static unsigned long find_main_arena(struct maps_snapshot *s, struct memrd *r,
				     const struct maps_heap *mh, char **how)
{
	for (size_t i = 0; i < s->nr_heaps; i++) {
		unsigned long a = s->heaps[i].arena;

		for (int step = 0; a && step < 256; step++) {
			struct maps_mapping *m;

			if (!memrd_word(r, a + MSTATE_NEXT, &a))
				break;
			m = find_mapping(s, a);
			if (m && m->label == MAPS_L_FILE &&
			    looks_like_main_arena(r, a, mh->start, mh->end)) {
				*how =
				    xstrdup("found by following malloc_state.next from an arena");
				return a;
			}
		}
	}
	for (size_t i = 0; i < s->nr_maps; i++) {
		struct maps_mapping *m = &s->maps[i];
		const char *base = strrchr(m->name, '/');
		size_t len = m->end - m->start;
		unsigned long *buf;

		if (m->label != MAPS_L_FILE || !is_rw_private(m) || !base ||
		    strncmp(base, "/libc", 5) || len > 4 * MiB)
			continue;
		buf = xrealloc(NULL, len);
		if (memrd_raw(r, m->start, buf, len)) {
			for (size_t off = 0; off + MSTATE_SIZE <= len; off += 8) {
				unsigned long top = buf[(off + MSTATE_TOP) / 8];
				unsigned long sys = buf[(off + MSTATE_SYSTEM_MEM) / 8];

				if (top < mh->start || top >= mh->end || sys != mh->end - mh->start)
					continue;
				if (looks_like_main_arena(r, m->start + off, mh->start, mh->end)) {
					free(buf);
					*how = xstrdup("found by scanning libc's data for a "
						       "malloc_state matching [heap]");
					return m->start + off;
				}
			}
		}
		free(buf);
	}
	return 0;
}

static unsigned long trim_threshold(const struct maps_snapshot *s)
{
	return s->env_trim_threshold ? s->env_trim_threshold : GLIBC_TRIM_DEFAULT;
}

static unsigned long top_pad(const struct maps_snapshot *s)
{
	return s->env_top_pad ? s->env_top_pad : GLIBC_TOP_PAD;
}

/* Append one sentence (and a newline) to *dst. */
static void say(char **dst, const char *fmt, ...)
{
	va_list ap;
	char *line, *all;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		exit(1);
	va_end(ap);
	all = xasprintf("%s%s\n", *dst ? *dst : "", line);
	free(line);
	free(*dst);
	*dst = all;
}

static void explain_heap(const struct maps_snapshot *s, struct maps_heap *h)
{
	unsigned long trim = trim_threshold(s), pad = top_pad(s);
	char *w = NULL;

	if (h->resident_pages >= 0)
		say(&w,
		    "measured: %lu KiB mapped rw, %lu KiB resident (%ld of %lu pages), %lu KiB "
		    "dirty%s",
		    h->kbytes, h->rss_kb, h->resident_pages, (h->end - h->start) / s->page_size,
		    h->dirty_kb, h->swap_kb ? " (plus swapped)" : "");
	else
		say(&w, "measured: %lu KiB mapped rw, %lu KiB resident, %lu KiB dirty", h->kbytes,
		    h->rss_kb, h->dirty_kb);
	if (h->rss_kb < h->kbytes)
		say(&w, "only pages the program touched are resident: the rest is mapped but costs "
			"no memory");
	if (h->walked && h->top_size) {
		say(&w,
		    "measured (%s): %lu chunks in use = %lu KiB (chunks cached in tcache/fastbins "
		    "count as in use), %lu free = %lu KiB, top chunk %lu KiB at 0x%lx",
		    h->walk_error ? "malloc_state.top" : "heap walk", h->inuse_chunks,
		    h->inuse_bytes / KiB, h->free_chunks, h->free_bytes / KiB, h->top_size / KiB,
		    h->top);
	} else if (h->top_size) {
		say(&w, "measured (%s): top chunk %lu KiB at 0x%lx", h->top_source,
		    h->top_size / KiB, h->top);
	}
	if (h->walk_error)
		say(&w, "walk stopped at 0x%lx: %s", h->walk_stop, h->walk_error);

	if (h->main) {
		if (h->top_size) {
			say(&w,
			    "the heap cannot shrink below 0x%lx (start of the top chunk): "
			    "brk moves only at the end",
			    h->top);
			if (h->top_size < trim)
				say(&w,
				    "free() trims only when the top chunk reaches M_TRIM_THRESHOLD "
				    "(%lu KiB%s); it is %lu KiB, so it stays mapped",
				    trim / KiB,
				    s->env_trim_threshold ? ", from the environment" : "",
				    h->top_size / KiB);
			else {
				/* systrim(): gives back whole pages beyond top_pad + MINSIZE. */
				unsigned long extra =
				    h->top_size > pad + MINSIZE
					? (h->top_size - pad - MINSIZE - 1) & ~(s->page_size - 1)
					: 0;

				say(&w,
				    "the top chunk (%lu KiB) reaches M_TRIM_THRESHOLD (%lu KiB), "
				    "but "
				    "a trim keeps M_TOP_PAD (%lu KiB): estimated (glibc defaults) "
				    "%lu KiB would go back on the next free()",
				    h->top_size / KiB, trim / KiB, pad / KiB, extra / KiB);
			}
			if (h->top_resident_pages > 0)
				say(&w,
				    "measured: %ld KiB of the top chunk are resident (touched "
				    "before, freed, never given back)",
				    h->top_resident_pages * s->page_size / KiB);
			else if (h->top_resident_pages == 0)
				say(&w, "measured: no page of the top chunk is resident: it costs "
					"address space only");
		} else {
			say(&w,
			    "estimated (top chunk unknown): with glibc defaults up to "
			    "M_TRIM_THRESHOLD (%lu KiB) above the last in-use chunk stays mapped "
			    "after free()",
			    trim / KiB);
		}
		if (h->walked && h->free_bytes)
			say(&w,
			    "%lu KiB are free in holes below in-use chunks: they stay mapped "
			    "until the chunks above them are freed%s",
			    h->free_bytes / KiB,
			    h->free_resident_pages > 0 ? "; malloc_trim(0) could release their "
							 "resident whole pages"
						       : "");
		if (h->free_resident_pages > 0)
			say(&w, "measured: %ld KiB of whole pages inside free chunks are resident",
			    h->free_resident_pages * s->page_size / KiB);
		if (h->kbytes * KiB <= 2 * pad + 64 * KiB)
			say(&w,
			    "glibc grows the heap by the request + M_TOP_PAD (%lu KiB), rounded to "
			    "pages: a first small malloc maps %lu KiB+ at once (e.g. 132 KiB)",
			    pad / KiB, pad / KiB);
	} else {
		say(&w,
		    "arena heap of a non-main arena (a thread's malloc): a 64 MiB-aligned "
		    "reservation; only the first %lu KiB are rw, %lu KiB more are PROT_NONE "
		    "(address space, no memory)",
		    h->kbytes, (h->reserve_end - h->end) / KiB);
		say(&w, "glibc grows it with mprotect; when it shrinks it gives pages back with "
			"MADV_DONTNEED but keeps them rw: Kbytes stays at the high-water mark, RSS "
			"drops");
		if (h->top_size && h->top_size < trim)
			say(&w, "top chunk %lu KiB < M_TRIM_THRESHOLD (%lu KiB): not trimmed",
			    h->top_size / KiB, trim / KiB);
		if (h->top_resident_pages > 0)
			say(&w, "%ld KiB of the top chunk are resident",
			    h->top_resident_pages * s->page_size / KiB);
		if (h->walked && h->free_bytes)
			say(&w, "%lu KiB free in holes below in-use chunks", h->free_bytes / KiB);
	}
	if (w)
		w[strlen(w) - 1] = 0;
	set_str(&h->why, w);
}

static struct maps_heap *add_heap(struct maps_snapshot *s, const struct maps_mapping *m, bool main)
{
	struct maps_heap *h;

	s->heaps = xrealloc(s->heaps, (s->nr_heaps + 1) * sizeof(*s->heaps));
	h = &s->heaps[s->nr_heaps++];
	memset(h, 0, sizeof(*h));
	h->main = main;
	h->start = m->start;
	h->end = m->end;
	h->reserve_end = m->end;
	h->kbytes = m->size_kb;
	h->rss_kb = m->rss_kb;
	h->dirty_kb = m->dirty_kb;
	h->swap_kb = m->swap_kb;
	h->resident_pages = -1;
	h->top_resident_pages = -1;
	h->free_resident_pages = -1;
	return h;
}

static void heap_top_resident(const struct maps_snapshot *s, struct maps_heap *h,
			      const struct heap_ctx *c)
{
	if (c->pm && h->top_size)
		h->top_resident_pages = count_resident(c->pm, c->pm_base, h->top + CHUNK_HDR,
						       h->top + h->top_size, s->page_size);
}

static void analyze_heaps(struct maps_snapshot *s, struct memrd *r)
{
	struct maps_heap *mh = NULL;
	size_t main_idx = 0;
	int narenas = 0;

	/* Arena heaps first: their malloc_states lead to main_arena. */
	for (size_t i = 0; i < s->nr_maps; i++) {
		struct maps_mapping *m = &s->maps[i];
		struct heap_ctx c = {.r = r, .ps = s->page_size, .pm_base = m->start};
		unsigned long hi[5], first, end, top = 0, tsize = 0;
		uint64_t *pm;
		struct maps_heap *h;

		if (m->label != MAPS_L_ARENA_HEAP)
			continue;
		narenas++;
		h = add_heap(s, m, false);
		if (i + 1 < s->nr_maps && m[1].label == MAPS_L_ARENA_RESERVE)
			h->reserve_end = m[1].end;
		pm = read_pagemap(s->pid, m->start, m->end, s->page_size);
		c.pm = pm;
		if (pm)
			h->resident_pages =
			    count_resident(pm, m->start, m->start, m->end, s->page_size);
		if (r && read_heap_info(r, m, hi)) {
			h->arena = hi[0];
			end = m->start + hi[2];
			if (!hi[1] && hi[0] != m->start + HEAP_INFO_SIZE) {
				walk_fail(h, m->start,
					  xasprintf("heap_info.ar_ptr 0x%lx is not right "
						    "after heap_info",
						    hi[0]));
			} else {
				first = hi[1] ? m->start + HEAP_INFO_SIZE
					      : align_up(hi[0] + MSTATE_SIZE, CHUNK_HDR);
				walk_heap(h, &c, first, end);
			}
			/* The arena's own top pointer, when it points into this heap. */
			if (memrd_word(r, hi[0] + MSTATE_TOP, &top) && top >= m->start &&
			    top < end && memrd_word(r, top + 8, &tsize) &&
			    top + (tsize & ~SIZE_FLAGS) == end) {
				if (h->walked && h->top == top)
					set_str(&h->top_source,
						xstrdup("heap walk; agrees with malloc_state.top"));
				else if (!h->walked) {
					h->top = top;
					h->top_size = tsize & ~SIZE_FLAGS;
					set_str(&h->top_source, xstrdup("malloc_state.top"));
				}
			}
		} else if (r) {
			walk_fail(h, m->start, xstrdup("no valid heap_info at the start"));
		}
		heap_top_resident(s, h, &c);
		free(pm);
	}

	for (size_t i = 0; i < s->nr_maps; i++)
		if (s->maps[i].label == MAPS_L_MAIN_HEAP) {
			main_idx = s->nr_heaps;
			mh = add_heap(s, &s->maps[i], true);
			break;
		}
	if (mh) {
		struct heap_ctx c = {.r = r, .ps = s->page_size, .pm_base = mh->start};
		uint64_t *pm = read_pagemap(s->pid, mh->start, mh->end, s->page_size);
		unsigned long ma = 0, top, tsize;
		char *how = NULL;

		c.pm = pm;
		if (pm)
			mh->resident_pages =
			    count_resident(pm, mh->start, mh->start, mh->end, s->page_size);
		if (r) {
			/* brk starts page-aligned: the first chunk (tcache_perthread_struct) is at
			 * the start. */
			walk_heap(mh, &c, mh->start, mh->end);
			ma = find_main_arena(s, r, mh, &how);
		}
		if (ma) {
			mh->arena = ma;
			if (memrd_word(r, ma + MSTATE_TOP, &top) &&
			    memrd_word(r, top + 8, &tsize)) {
				if (mh->walked && mh->top == top)
					set_str(
					    &mh->top_source,
					    xasprintf("heap walk; agrees with main_arena.top (%s)",
						      how));
				else if (!mh->walked) {
					mh->top = top;
					mh->top_size = tsize & ~SIZE_FLAGS;
					set_str(&mh->top_source,
						xasprintf("main_arena.top (%s)", how));
				}
			}
		} else if (r && !mh->walked) {
			set_str(&mh->top_source, xstrdup("unknown"));
		}
		free(how);
		heap_top_resident(s, mh, &c);
		free(pm);
	}

	for (size_t i = 0; i < s->nr_heaps; i++)
		explain_heap(s, &s->heaps[i]);
	/* Main heap first in the list. */
	if (mh && main_idx) {
		struct maps_heap tmp = s->heaps[main_idx];

		memmove(&s->heaps[1], &s->heaps[0], main_idx * sizeof(tmp));
		s->heaps[0] = tmp;
	}
	if (narenas)
		add_note(s,
			 xasprintf("%d arena heap(s) besides the main heap: glibc gives a thread "
				   "its own arena when others are in use (up to 8 x CPUs arenas "
				   "on 64-bit) so threads do not wait on one lock; each arena "
				   "heap reserves 64 MiB of address space",
				   narenas));
	if (r)
		add_note(s, xstrdup("heap figures read from a running process: a snapshot, the "
				    "target may change them while they are read"));
	else if (s->mem_error)
		add_note(s, xasprintf("target memory not read (%s): mmap-chunk labels and heap "
				      "walks need it; run as root or as the process owner",
				      s->mem_error));
}

int maps_snapshot__annotate(struct maps_snapshot *s, unsigned long addr, const char *site)
{
	struct maps_mapping *m = find_mapping(s, addr);

	if (!m)
		return -ENOENT;
	set_str(&m->annotation, xstrdup(site));
	return 0;
}

/* ---- output ---- */

/* The Mapping column as pmap -x shows it. */
static const char *pmap_name(const struct maps_mapping *m)
{
	const char *b;

	if (!strcmp(m->name, "[stack]"))
		return "[ stack ]";
	if (is_anon(m) || m->name[0] == '[' || !m->name[0])
		return "[ anon ]";
	b = strrchr(m->name, '/');
	return b ? b + 1 : m->name;
}

static void pmap_mode(const struct maps_mapping *m, char mode[6])
{
	mode[0] = m->perms[0];
	mode[1] = m->perms[1];
	mode[2] = m->perms[2];
	mode[3] = m->perms[3] == 's' ? 's' : '-';
	mode[4] = '-';
	mode[5] = 0;
}

struct label_total {
	unsigned long count, kbytes, rss_kb, dirty_kb, swap_kb;
};

static void totals(const struct maps_snapshot *s, struct label_total t[MAPS_L__COUNT + 1])
{
	memset(t, 0, sizeof(*t) * (MAPS_L__COUNT + 1));
	for (size_t i = 0; i < s->nr_maps; i++) {
		const struct maps_mapping *m = &s->maps[i];
		struct label_total *x = &t[m->label < MAPS_L__COUNT ? m->label : MAPS_L__COUNT];

		x->count++;
		x->kbytes += m->size_kb;
		x->rss_kb += m->rss_kb;
		x->dirty_kb += m->dirty_kb;
		x->swap_kb += m->swap_kb;
	}
}

static const char *mapping_label(const struct maps_mapping *m)
{
	return m->label_name ? m->label_name : maps_label__name(m->label);
}

void maps_snapshot__print(const struct maps_snapshot *s, FILE *out)
{
	struct label_total t[MAPS_L__COUNT + 1], all = {0};

	fprintf(out, "%d:   %s%s%s%s\n", s->pid, s->comm, s->exe && s->exe[0] ? " (" : "",
		s->exe ? s->exe : "", s->exe && s->exe[0] ? ")" : "");
	fprintf(out, "Address           Kbytes     RSS   Dirty    Swap Mode  %-13s Mapping\n",
		"Label");
	for (size_t i = 0; i < s->nr_maps; i++) {
		const struct maps_mapping *m = &s->maps[i];
		char mode[6];

		pmap_mode(m, mode);
		fprintf(out, "%016lx %7lu %7lu %7lu %7lu %s %-13s %s", m->start, m->size_kb,
			m->rss_kb, m->dirty_kb, m->swap_kb, mode, mapping_label(m), pmap_name(m));
		if (m->tid)
			fprintf(out, " (tid %d)", m->tid);
		if (m->annotation)
			fprintf(out, " <- %s", m->annotation);
		fputc('\n', out);
		all.kbytes += m->size_kb;
		all.rss_kb += m->rss_kb;
		all.dirty_kb += m->dirty_kb;
		all.swap_kb += m->swap_kb;
	}
	fprintf(out, "---------------- ------- ------- ------- -------\n");
	fprintf(out, "total kB         %7lu %7lu %7lu %7lu\n", all.kbytes, all.rss_kb, all.dirty_kb,
		all.swap_kb);

	totals(s, t);
	fprintf(out, "\nBy label          Kbytes     RSS   Dirty    Swap  Count\n");
	for (int l = 0; l < MAPS_L__COUNT; l++)
		if (t[l].count)
			fprintf(out, "%-16s %7lu %7lu %7lu %7lu %6lu\n", maps_label__name(l),
				t[l].kbytes, t[l].rss_kb, t[l].dirty_kb, t[l].swap_kb, t[l].count);

	if (s->nr_heaps)
		fprintf(out, "\nHeaps: why memory stays\n");
	for (size_t i = 0; i < s->nr_heaps; i++) {
		const struct maps_heap *h = &s->heaps[i];
		char *why = xstrdup(h->why), *save = NULL;

		fprintf(out, "%s %016lx-%016lx", h->main ? "main-heap " : "arena-heap", h->start,
			h->end);
		if (h->arena)
			fprintf(out, "  (malloc_state at 0x%lx)", h->arena);
		fputc('\n', out);
		for (char *l = strtok_r(why, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			fprintf(out, "  - %s\n", l);
		free(why);
	}
	if (s->nr_notes)
		fputc('\n', out);
	for (size_t i = 0; i < s->nr_notes; i++)
		fprintf(out, "note: %s\n", s->notes[i]);
}

static struct json_object *jhex(unsigned long v)
{
	char b[32];

	snprintf(b, sizeof(b), "0x%lx", v);
	return json_object_new_string(b);
}

static struct json_object *jstr(const char *v)
{
	return v ? json_object_new_string(v) : NULL;
}

static struct json_object *jtotal(const struct label_total *t)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "count", json_object_new_int64(t->count));
	json_object_object_add(o, "kbytes", json_object_new_int64(t->kbytes));
	json_object_object_add(o, "rss_kb", json_object_new_int64(t->rss_kb));
	json_object_object_add(o, "dirty_kb", json_object_new_int64(t->dirty_kb));
	json_object_object_add(o, "swap_kb", json_object_new_int64(t->swap_kb));
	return o;
}

static struct json_object *jint_or_null(long v)
{
	return v >= 0 ? json_object_new_int64(v) : NULL;
}

struct json_object *maps_snapshot__to_json(const struct maps_snapshot *s)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array(), *tot;
	struct label_total t[MAPS_L__COUNT + 1], all = {0};

	json_object_object_add(o, "pid", json_object_new_int(s->pid));
	json_object_object_add(o, "comm", jstr(s->comm));
	json_object_object_add(o, "exe", jstr(s->exe));
	json_object_object_add(o, "time_ms", json_object_new_int64(s->time_ms));
	json_object_object_add(o, "page_size", json_object_new_int64(s->page_size));
	json_object_object_add(o, "memory_read", json_object_new_boolean(s->mem_read));
	if (s->mem_error)
		json_object_object_add(o, "memory_error", jstr(s->mem_error));
	for (size_t i = 0; i < s->nr_maps; i++) {
		const struct maps_mapping *m = &s->maps[i];
		struct json_object *j = json_object_new_object();
		char mode[6];

		pmap_mode(m, mode);
		json_object_object_add(j, "start", jhex(m->start));
		json_object_object_add(j, "end", jhex(m->end));
		json_object_object_add(j, "kbytes", json_object_new_int64(m->size_kb));
		json_object_object_add(j, "rss_kb", json_object_new_int64(m->rss_kb));
		json_object_object_add(j, "dirty_kb", json_object_new_int64(m->dirty_kb));
		json_object_object_add(j, "swap_kb", json_object_new_int64(m->swap_kb));
		json_object_object_add(j, "mode", json_object_new_string(mode));
		json_object_object_add(j, "perms", json_object_new_string(m->perms));
		json_object_object_add(j, "mapping", json_object_new_string(pmap_name(m)));
		json_object_object_add(j, "path", json_object_new_string(m->name));
		json_object_object_add(j, "offset", jhex(m->offset));
		json_object_object_add(j, "inode", json_object_new_int64(m->inode));
		json_object_object_add(j, "label", json_object_new_string(mapping_label(m)));
		json_object_object_add(j, "evidence", jstr(m->evidence));
		if (m->tid)
			json_object_object_add(j, "tid", json_object_new_int(m->tid));
		/* Tracer hook: the call that created the mapping, null until traced. */
		json_object_object_add(j, "annotation", jstr(m->annotation));
		json_object_array_add(arr, j);
		all.count++;
		all.kbytes += m->size_kb;
		all.rss_kb += m->rss_kb;
		all.dirty_kb += m->dirty_kb;
		all.swap_kb += m->swap_kb;
	}
	json_object_object_add(o, "mappings", arr);

	totals(s, t);
	tot = json_object_new_object();
	for (int l = 0; l < MAPS_L__COUNT; l++)
		if (t[l].count)
			json_object_object_add(tot, maps_label__name(l), jtotal(&t[l]));
	json_object_object_add(o, "totals", tot);
	json_object_object_add(o, "total", jtotal(&all));

	arr = json_object_new_array();
	for (size_t i = 0; i < s->nr_threads; i++) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "tid", json_object_new_int(s->threads[i].tid));
		json_object_object_add(j, "sp", s->threads[i].sp ? jhex(s->threads[i].sp) : NULL);
		json_object_object_add(j, "sp_source", jstr(s->threads[i].sp_source));
		json_object_array_add(arr, j);
	}
	json_object_object_add(o, "threads", arr);

	arr = json_object_new_array();
	for (size_t i = 0; i < s->nr_heaps; i++) {
		const struct maps_heap *h = &s->heaps[i];
		struct json_object *j = json_object_new_object(), *w;

		json_object_object_add(
		    j, "label", json_object_new_string(h->main ? "main-heap" : "arena-heap"));
		json_object_object_add(j, "start", jhex(h->start));
		json_object_object_add(j, "end", jhex(h->end));
		json_object_object_add(j, "reserve_end", jhex(h->reserve_end));
		json_object_object_add(j, "kbytes", json_object_new_int64(h->kbytes));
		json_object_object_add(j, "rss_kb", json_object_new_int64(h->rss_kb));
		json_object_object_add(j, "dirty_kb", json_object_new_int64(h->dirty_kb));
		json_object_object_add(j, "swap_kb", json_object_new_int64(h->swap_kb));
		json_object_object_add(j, "resident_pages", jint_or_null(h->resident_pages));
		json_object_object_add(j, "arena", h->arena ? jhex(h->arena) : NULL);
		w = json_object_new_object();
		json_object_object_add(w, "complete", json_object_new_boolean(h->walked));
		if (h->walk_error) {
			json_object_object_add(w, "stopped_at", jhex(h->walk_stop));
			json_object_object_add(w, "error", jstr(h->walk_error));
		}
		json_object_object_add(w, "chunks", json_object_new_int64(h->chunks));
		json_object_object_add(w, "inuse_chunks", json_object_new_int64(h->inuse_chunks));
		json_object_object_add(w, "inuse_bytes", json_object_new_int64(h->inuse_bytes));
		json_object_object_add(w, "free_chunks", json_object_new_int64(h->free_chunks));
		json_object_object_add(w, "free_bytes", json_object_new_int64(h->free_bytes));
		json_object_object_add(w, "largest_free", json_object_new_int64(h->largest_free));
		json_object_object_add(w, "free_resident_pages",
				       jint_or_null(h->free_resident_pages));
		json_object_object_add(j, "walk", w);
		json_object_object_add(j, "top", h->top_size ? jhex(h->top) : NULL);
		json_object_object_add(j, "top_size",
				       h->top_size ? json_object_new_int64(h->top_size) : NULL);
		json_object_object_add(j, "top_source", jstr(h->top_source));
		json_object_object_add(j, "top_resident_pages",
				       jint_or_null(h->top_resident_pages));
		json_object_object_add(j, "trim_threshold",
				       json_object_new_int64(trim_threshold(s)));
		json_object_object_add(j, "top_pad", json_object_new_int64(top_pad(s)));
		json_object_object_add(j, "why", jstr(h->why));
		json_object_array_add(arr, j);
	}
	json_object_object_add(o, "heaps", arr);

	arr = json_object_new_array();
	for (size_t i = 0; i < s->nr_notes; i++)
		json_object_array_add(arr, jstr(s->notes[i]));
	json_object_object_add(o, "notes", arr);
	return o;
}

static const char *jget_str(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
		   ? json_object_get_string(v)
		   : NULL;
}

static bool jget_hex(struct json_object *o, const char *k, unsigned long *out)
{
	const char *v = jget_str(o, k);
	char *end;

	if (!v)
		return false;
	errno = 0;
	*out = strtoul(v, &end, 16);
	return !errno && end != v && !*end;
}

static unsigned long jget_u(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? (unsigned long)json_object_get_int64(v) : 0;
}

struct maps_snapshot *maps_snapshot__from_json(struct json_object *j, const char **err)
{
	struct json_object *arr, *v;
	struct maps_snapshot *s;
	size_t n;

	if (!json_object_is_type(j, json_type_object) ||
	    !json_object_object_get_ex(j, "mappings", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		*err = "not a memstudy maps snapshot (no \"mappings\" array)";
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		*err = "out of memory";
		return NULL;
	}
	s->pid = json_object_object_get_ex(j, "pid", &v) ? json_object_get_int(v) : 0;
	s->comm = xstrdup(jget_str(j, "comm"));
	s->exe = xstrdup(jget_str(j, "exe"));
	s->time_ms = json_object_object_get_ex(j, "time_ms", &v) ? json_object_get_int64(v) : 0;
	s->page_size = jget_u(j, "page_size");
	n = json_object_array_length(arr);
	s->maps = xrealloc(NULL, n * sizeof(*s->maps));
	for (size_t i = 0; i < n; i++) {
		struct json_object *m = json_object_array_get_idx(arr, i);
		struct maps_mapping *x = &s->maps[s->nr_maps];
		const char *label = jget_str(m, "label"), *perms = jget_str(m, "perms");
		const char *path = jget_str(m, "path"), *mode = jget_str(m, "mode");

		memset(x, 0, sizeof(*x));
		if (!jget_hex(m, "start", &x->start) || !jget_hex(m, "end", &x->end) || !label) {
			maps_snapshot__free(s);
			*err = "a mapping lacks start, end or label";
			return NULL;
		}
		x->size_kb = jget_u(m, "kbytes");
		x->rss_kb = jget_u(m, "rss_kb");
		x->dirty_kb = jget_u(m, "dirty_kb");
		x->swap_kb = jget_u(m, "swap_kb");
		jget_hex(m, "offset", &x->offset);
		x->inode = jget_u(m, "inode");
		if (perms)
			snprintf(x->perms, sizeof(x->perms), "%.4s", perms);
		else if (mode)
			snprintf(x->perms, sizeof(x->perms), "%.3s%c", mode,
				 mode[0] && mode[1] && mode[2] && mode[3] == 's' ? 's' : 'p');
		/* Without a path, keep pmap's name; "[ anon ]" reads back as anonymous. */
		path = path ? path : jget_str(m, "mapping");
		x->name = xstrdup(path && strcmp(path, "[ anon ]") ? path : "");
		x->label = maps_label__from_name(label);
		x->label_name = xstrdup(label);
		if (jget_str(m, "evidence"))
			x->evidence = xstrdup(jget_str(m, "evidence"));
		if (jget_str(m, "annotation"))
			x->annotation = xstrdup(jget_str(m, "annotation"));
		x->tid = jget_u(m, "tid");
		s->nr_maps++;
	}
	return s;
}

void maps_snapshot__free(struct maps_snapshot *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nr_maps; i++) {
		free(s->maps[i].name);
		free(s->maps[i].label_name);
		free(s->maps[i].evidence);
		free(s->maps[i].annotation);
	}
	for (size_t i = 0; i < s->nr_threads; i++)
		free(s->threads[i].sp_source);
	for (size_t i = 0; i < s->nr_heaps; i++) {
		free(s->heaps[i].walk_error);
		free(s->heaps[i].top_source);
		free(s->heaps[i].why);
	}
	for (size_t i = 0; i < s->nr_notes; i++)
		free(s->notes[i]);
	free(s->notes);
	free(s->heaps);
	free(s->threads);
	free(s->maps);
	free(s->comm);
	free(s->exe);
	free(s->mem_error);
	free(s);
}

/* ---- diff ---- */

/*
 * Walk both (sorted) mapping lists together, matching by start address, and
 * call fn for each pair; a or b is NULL for a mapping only in one snapshot.
 */
typedef void (*diff_fn)(const struct maps_mapping *a, const struct maps_mapping *b, void *arg);

static void diff_walk(const struct maps_snapshot *A, const struct maps_snapshot *B, diff_fn fn,
		      void *arg)
{
	size_t i = 0, k = 0;

	while (i < A->nr_maps || k < B->nr_maps) {
		const struct maps_mapping *a = i < A->nr_maps ? &A->maps[i] : NULL;
		const struct maps_mapping *b = k < B->nr_maps ? &B->maps[k] : NULL;

		if (a && b && a->start == b->start) {
			fn(a, b, arg);
			i++, k++;
		} else if (a && (!b || a->start < b->start)) {
			fn(a, NULL, arg);
			i++;
		} else {
			fn(NULL, b, arg);
			k++;
		}
	}
}

static bool same(const struct maps_mapping *a, const struct maps_mapping *b)
{
	return a->end == b->end && a->size_kb == b->size_kb && a->rss_kb == b->rss_kb &&
	       a->dirty_kb == b->dirty_kb && a->swap_kb == b->swap_kb &&
	       !strcmp(mapping_label(a), mapping_label(b)) && !strcmp(a->perms, b->perms);
}

static const char *change_kind(const struct maps_mapping *a, const struct maps_mapping *b)
{
	if (!a)
		return "new";
	if (!b)
		return "gone";
	if (a->end != b->end)
		return b->end > a->end ? "grew" : "shrank";
	if (strcmp(mapping_label(a), mapping_label(b)))
		return "relabeled";
	return "changed";
}

/* Per-label totals keyed by label text (labels read from JSON may be unknown to us). */
struct dtot {
	char label[32];
	struct label_total a, b;
};

struct dstate {
	FILE *out;
	struct json_object *arr;
	size_t unchanged;
	struct dtot t[64];
	int nt;
};

static void dtot_add(struct dstate *d, const struct maps_mapping *m, bool is_b)
{
	const char *l = mapping_label(m);
	struct label_total *x;
	int i;

	for (i = 0; i < d->nt; i++)
		if (!strcmp(d->t[i].label, l))
			break;
	if (i == d->nt) {
		if (d->nt == 64)
			return;
		memset(&d->t[i], 0, sizeof(d->t[i]));
		snprintf(d->t[i].label, sizeof(d->t[i].label), "%s", l);
		d->nt++;
	}
	x = is_b ? &d->t[i].b : &d->t[i].a;
	x->count++;
	x->kbytes += m->size_kb;
	x->rss_kb += m->rss_kb;
	x->dirty_kb += m->dirty_kb;
	x->swap_kb += m->swap_kb;
}

static long dv(const struct maps_mapping *a, const struct maps_mapping *b, size_t off)
{
	long va = a ? (long)*(const unsigned long *)((const char *)a + off) : 0;
	long vb = b ? (long)*(const unsigned long *)((const char *)b + off) : 0;

	return vb - va;
}

#define DV(f) dv(a, b, offsetof(struct maps_mapping, f))

static void diff_one(const struct maps_mapping *a, const struct maps_mapping *b, void *arg)
{
	struct dstate *d = arg;
	const struct maps_mapping *m = b ? b : a;

	if (a)
		dtot_add(d, a, false);
	if (b)
		dtot_add(d, b, true);
	if (a && b && same(a, b)) {
		d->unchanged++;
		return;
	}
	if (d->out) {
		fprintf(d->out, "%016lx %-9s %+8ld %+8ld %+8ld %+7ld %-13s %s", m->start,
			change_kind(a, b), DV(size_kb), DV(rss_kb), DV(dirty_kb), DV(swap_kb),
			mapping_label(m), pmap_name(m));
		if (a && b)
			fprintf(d->out, "  (Kbytes %lu->%lu, RSS %lu->%lu%s%s)", a->size_kb,
				b->size_kb, a->rss_kb, b->rss_kb,
				strcmp(mapping_label(a), mapping_label(b)) ? ", was " : "",
				strcmp(mapping_label(a), mapping_label(b)) ? mapping_label(a) : "");
		fputc('\n', d->out);
	}
	if (d->arr) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "start", jhex(m->start));
		json_object_object_add(j, "end", jhex(m->end));
		json_object_object_add(j, "change", json_object_new_string(change_kind(a, b)));
		json_object_object_add(j, "label", json_object_new_string(mapping_label(m)));
		if (a && b && strcmp(mapping_label(a), mapping_label(b)))
			json_object_object_add(j, "label_before",
					       json_object_new_string(mapping_label(a)));
		json_object_object_add(j, "mapping", json_object_new_string(pmap_name(m)));
		json_object_object_add(j, "kbytes_before",
				       a ? json_object_new_int64(a->size_kb) : NULL);
		json_object_object_add(j, "kbytes_after",
				       b ? json_object_new_int64(b->size_kb) : NULL);
		json_object_object_add(j, "rss_kb_before",
				       a ? json_object_new_int64(a->rss_kb) : NULL);
		json_object_object_add(j, "rss_kb_after",
				       b ? json_object_new_int64(b->rss_kb) : NULL);
		json_object_object_add(j, "dirty_kb_before",
				       a ? json_object_new_int64(a->dirty_kb) : NULL);
		json_object_object_add(j, "dirty_kb_after",
				       b ? json_object_new_int64(b->dirty_kb) : NULL);
		json_object_object_add(j, "kbytes_delta", json_object_new_int64(DV(size_kb)));
		json_object_object_add(j, "rss_kb_delta", json_object_new_int64(DV(rss_kb)));
		json_object_object_add(j, "dirty_kb_delta", json_object_new_int64(DV(dirty_kb)));
		json_object_object_add(j, "swap_kb_delta", json_object_new_int64(DV(swap_kb)));
		json_object_array_add(d->arr, j);
	}
}

static void who(FILE *out, const char *tag, const struct maps_snapshot *s)
{
	fprintf(out, "%s: pid %d %s", tag, s->pid, s->comm ? s->comm : "");
	if (s->time_ms) {
		time_t t = s->time_ms / 1000;
		char buf[64];

		strftime(buf, sizeof(buf), "%F %T", localtime(&t));
		fprintf(out, " at %s", buf);
	}
	fputc('\n', out);
}

void maps_diff__print(const struct maps_snapshot *a, const struct maps_snapshot *b, FILE *out)
{
	struct dstate d = {.out = out};

	who(out, "A", a);
	who(out, "B", b);
	if (a->pid != b->pid)
		fprintf(out, "note: different PIDs; mappings are matched by start address only\n");
	fprintf(out,
		"Address          Change     dKbytes     dRSS   dDirty   dSwap %-13s Mapping\n",
		"Label");
	diff_walk(a, b, diff_one, &d);
	fprintf(out, "(%zu mappings unchanged)\n", d.unchanged);
	fprintf(out, "\nBy label       Count A->B      Kbytes A->B (delta)        RSS A->B (delta)"
		     "      Dirty A->B (delta)\n");
	for (int i = 0; i < d.nt; i++) {
		struct dtot *t = &d.t[i];

		if (!memcmp(&t->a, &t->b, sizeof(t->a)))
			continue;
		fprintf(out,
			"%-14s %4lu->%-4lu %8lu->%-8lu(%+ld) %8lu->%-8lu(%+ld) %7lu->%-7lu(%+ld)\n",
			t->label, t->a.count, t->b.count, t->a.kbytes, t->b.kbytes,
			(long)(t->b.kbytes - t->a.kbytes), t->a.rss_kb, t->b.rss_kb,
			(long)(t->b.rss_kb - t->a.rss_kb), t->a.dirty_kb, t->b.dirty_kb,
			(long)(t->b.dirty_kb - t->a.dirty_kb));
	}
}

struct json_object *maps_diff__to_json(const struct maps_snapshot *a, const struct maps_snapshot *b)
{
	struct json_object *o = json_object_new_object(), *tot = json_object_new_object(), *x;
	struct dstate d = {.arr = json_object_new_array()};

	diff_walk(a, b, diff_one, &d);
	x = json_object_new_object();
	json_object_object_add(x, "pid", json_object_new_int(a->pid));
	json_object_object_add(x, "time_ms", json_object_new_int64(a->time_ms));
	json_object_object_add(o, "a", x);
	x = json_object_new_object();
	json_object_object_add(x, "pid", json_object_new_int(b->pid));
	json_object_object_add(x, "time_ms", json_object_new_int64(b->time_ms));
	json_object_object_add(o, "b", x);
	json_object_object_add(o, "mappings", d.arr);
	json_object_object_add(o, "unchanged", json_object_new_int64(d.unchanged));
	for (int i = 0; i < d.nt; i++) {
		struct json_object *t = json_object_new_object();

		json_object_object_add(t, "before", jtotal(&d.t[i].a));
		json_object_object_add(t, "after", jtotal(&d.t[i].b));
		json_object_object_add(
		    t, "kbytes_delta",
		    json_object_new_int64((long)(d.t[i].b.kbytes - d.t[i].a.kbytes)));
		json_object_object_add(
		    t, "rss_kb_delta",
		    json_object_new_int64((long)(d.t[i].b.rss_kb - d.t[i].a.rss_kb)));
		json_object_object_add(
		    t, "dirty_kb_delta",
		    json_object_new_int64((long)(d.t[i].b.dirty_kb - d.t[i].a.dirty_kb)));
		json_object_object_add(
		    t, "count_delta",
		    json_object_new_int64((long)(d.t[i].b.count - d.t[i].a.count)));
		json_object_object_add(tot, d.t[i].label, t);
	}
	json_object_object_add(o, "totals", tot);
	return o;
}
