/* SPDX-License-Identifier: GPL-2.0 */
/* Internals shared by the parts of memstudy maps (user/maps/). */
#ifndef MEMSTUDY_MAPS_INT_H
#define MEMSTUDY_MAPS_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "lib/glibc_layout.h"
#include "maps/maps.h"

#define KiB 1024UL
#define MiB (1024UL * KiB)

/* A walk never takes more steps than this (each step is >= GLIBC_MINSIZE bytes anyway). */
#define WALK_MAX_CHUNKS 50000000UL

static inline bool is_anon(const struct maps_mapping *m)
{
	/* [anon:NAME] comes from prctl(PR_SET_VMA_ANON_NAME); still anonymous memory. */
	return m->inode == 0 && (!m->name[0] || !strncmp(m->name, "[anon:", 6));
}

static inline bool is_prot_none(const struct maps_mapping *m)
{
	return !strncmp(m->perms, "---", 3);
}

static inline bool is_rw_private(const struct maps_mapping *m)
{
	return m->perms[0] == 'r' && m->perms[1] == 'w' && m->perms[3] == 'p';
}

static inline unsigned long align_up(unsigned long v, unsigned long a)
{
	return (v + a - 1) & ~(a - 1);
}

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

/* remote_mem.c */
bool memrd_open(struct memrd *r, struct maps_snapshot *s);
void memrd_close(struct memrd *r);
bool memrd_raw(struct memrd *r, unsigned long addr, void *dst, size_t len);
bool memrd_read(struct memrd *r, unsigned long addr, void *dst, size_t len);
bool memrd_word(struct memrd *r, unsigned long addr, unsigned long *v);
uint64_t *read_pagemap(int pid, unsigned long start, unsigned long end, long page_size);
long count_resident(const uint64_t *pm, unsigned long base, unsigned long a, unsigned long b,
		    long page_size);

/* allocators.c: other allocators' memory (kamailio's pools; jemalloc's, tcmalloc's,
 * mimalloc's by the process's malloc), after glibc's own labels */
void maps_allocators__label(struct maps_snapshot *s, struct memrd *r);

/* snapshot.c */
void maps_snapshot__add_note(struct maps_snapshot *s, char *note);
/* labels.c */
struct maps_mapping *maps_snapshot__find(struct maps_snapshot *s, unsigned long addr);
/* heap_info at the start of an arena heap: ar_ptr, prev, size, mprotect_size, pagesize */
bool read_heap_info(struct memrd *r, const struct maps_mapping *m, unsigned long hi[5]);
/* glibc_heap.c: walk every heap and say why its memory stays (R: NULL when memory is not
 * readable) */
void maps_heaps__analyze(struct maps_snapshot *s, struct memrd *r);
/* explain.c */
unsigned long maps_trim_threshold(const struct maps_snapshot *s);
unsigned long maps_top_pad(const struct maps_snapshot *s);
void maps_heap__explain(const struct maps_snapshot *s, struct maps_heap *h);

/* text.c */
struct label_total {
	unsigned long count, kbytes, rss_kb, dirty_kb, swap_kb;
};
const char *pmap_name(const struct maps_mapping *m);
void pmap_mode(const struct maps_mapping *m, char mode[6]);
void totals(const struct maps_snapshot *s, struct label_total t[MAPS_L__COUNT + 1]);
const char *mapping_label(const struct maps_mapping *m);
/* json.c */
struct json_object *json_hex(unsigned long v);
struct json_object *json_label_total(const struct label_total *t);

#endif
