// SPDX-License-Identifier: GPL-2.0
/* memstudy maps: reading the target's memory (/proc/PID/mem, process_vm_readv, pagemap). */
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

/* ---- reading target memory ---- */

bool memrd_open(struct memrd *r, struct maps_snapshot *s)
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

void memrd_close(struct memrd *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
}

bool memrd_raw(struct memrd *r, unsigned long addr, void *dst, size_t len)
{
	if (r->vm) {
		struct iovec l = {dst, len}, rm = {(void *)addr, len};

		return process_vm_readv(r->pid, &l, 1, &rm, 1, 0) == (ssize_t)len;
	}
	return pread(r->fd, dst, len, (off_t)addr) == (ssize_t)len;
}

/* Read len bytes at addr, within one page. */
bool memrd_read(struct memrd *r, unsigned long addr, void *dst, size_t len)
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

bool memrd_word(struct memrd *r, unsigned long addr, unsigned long *v)
{
	return memrd_read(r, addr, v, sizeof(*v));
}

/* Present-or-swapped bits from /proc/PID/pagemap for [start, end); NULL if unreadable. */
uint64_t *read_pagemap(int pid, unsigned long start, unsigned long end, long page_size)
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
long count_resident(const uint64_t *pm, unsigned long base, unsigned long a, unsigned long b,
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
