// SPDX-License-Identifier: GPL-2.0
/* memstudy maps: read a snapshot of /proc/PID (smaps, thread stack pointers, malloc settings from
 * the environment). */
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

#include "lib/util.h"
#include "maps/maps_int.h"

static const char *const label_names[MAPS_L__COUNT] = {
    [MAPS_L_FILE] = "file",
    [MAPS_L_MAIN_HEAP] = "main-heap",
    [MAPS_L_ARENA_HEAP] = "arena-heap",
    [MAPS_L_ARENA_RESERVE] = "arena-reserve",
    [MAPS_L_STACK] = "stack",
    [MAPS_L_THREAD_STACK] = "thread-stack",
    [MAPS_L_GUARD] = "guard",
    [MAPS_L_MMAP_CHUNK] = "mmap-chunk",
    [MAPS_L_ALLOCATOR] = "allocator",
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

void maps_snapshot__add_note(struct maps_snapshot *s, char *note)
{
	s->notes = xrealloc(s->notes, (s->nr_notes + 1) * sizeof(*s->notes));
	s->notes[s->nr_notes++] = note;
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
	free(s->mallinfo.why_not);
	free(s->threads);
	free(s->maps);
	free(s->comm);
	free(s->exe);
	free(s->mem_error);
	free(s);
}

int maps_snapshot__annotate(struct maps_snapshot *s, unsigned long addr, const char *site)
{
	struct maps_mapping *m = maps_snapshot__find(s, addr);

	if (!m)
		return -ENOENT;
	set_str(&m->annotation, xstrdup(site));
	return 0;
}
