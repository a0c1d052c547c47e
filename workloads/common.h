/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Common part of memstudy's built-in workloads: options, phases, ground-truth
 * accounting of allocator calls and raw syscalls, and the final report.
 *
 * A workload is one function that calls wl_phase_begin()/wl_phase_end()
 * around each thing it measures and uses the wl_* allocator and syscall
 * wrappers below, so the report says exactly what the program itself did.
 */
#ifndef MEMSTUDY_WL_COMMON_H
#define MEMSTUDY_WL_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Which options a workload accepts (struct workload.opts). */
#define OPT_COUNT   (1u << 0)
#define OPT_SIZE    (1u << 1)
#define OPT_ORDER   (1u << 2)
#define OPT_THREADS (1u << 3)
#define OPT_ROUNDS  (1u << 4)
#define OPT_NOTOUCH (1u << 5)
#define OPT_KEEP    (1u << 6)
#define OPT_ALIGN   (1u << 7)

enum wl_order { ORDER_FWD, ORDER_REV, ORDER_RANDOM };

struct wl_opts {
	long count;
	size_t size;
	enum wl_order order;
	int threads;
	int rounds;
	unsigned long seed;
	int touch; /* 0 with --no-touch */
	long keep;
	size_t align;
	int json;
	int wait;
	const char *pause_after; /* --pause-after PHASE: wait again once it ends */
};

struct workload {
	const char *name;
	int (*fn)(const struct wl_opts *o);
	const char *description; /* one line for --list */
	const char *help;	 /* what it does and what to look at, for NAME --help */
	unsigned int opts;	 /* OPT_* accepted */
	long def_count;
	size_t def_size;
	int def_threads;
	int def_rounds;
	long def_keep;
	size_t def_align;
	int raw_syscalls; /* report "syscalls" in the ground truth */
};

/* The workloads, one file each. */
int wl_churn(const struct wl_opts *o);
int wl_array(const struct wl_opts *o);
int wl_malloc_fn(const struct wl_opts *o);
int wl_calloc_fn(const struct wl_opts *o);
int wl_realloc_fn(const struct wl_opts *o);
int wl_brk(const struct wl_opts *o);
int wl_mmap_fn(const struct wl_opts *o);
int wl_memalign_fn(const struct wl_opts *o);
int wl_alloca(const struct wl_opts *o);
int wl_vla(const struct wl_opts *o);
int wl_threads(const struct wl_opts *o);
int wl_fragment(const struct wl_opts *o);
int wl_trim(const struct wl_opts *o);
int wl_thresholds(const struct wl_opts *o);

/* The tracer's uprobe target: called at the start of each phase and with "end". */
void memstudy_phase(const char *name);

/* Phases: at most WL_MAX_PHASES, names of at most 31 characters. */
#define WL_MAX_PHASES 64
void wl_phase_begin(const char *name);
void wl_phase_end(void);

/* Counted allocator calls (thread safe). free's bytes are the caller's own size. */
void *wl_malloc(size_t n);
void *wl_calloc(size_t nmemb, size_t n);
void *wl_realloc(void *p, size_t n);
void *wl_reallocarray(void *p, size_t nmemb, size_t n);
void wl_free(void *p, size_t n);
int wl_posix_memalign(void **p, size_t align, size_t n);
void *wl_aligned_alloc(size_t align, size_t n);
void *wl_memalign(size_t align, size_t n);
void *wl_valloc(size_t n);
void *wl_pvalloc(size_t n);

/* Counted raw syscalls. */
void *wl_mmap(void *addr, size_t len, int prot, int flags);
int wl_munmap(void *addr, size_t len);
int wl_madvise(void *addr, size_t len, int advice);
int wl_mprotect(void *addr, size_t len, int prot);
void *wl_sbrk(intptr_t incr);
void *wl_mremap(void *old, size_t old_len, size_t new_len, int flags);

/*
 * Helpers that are not counted: scratch arrays for the workload's own pointers
 * (one populated anonymous mapping, made before the first phase so it adds no
 * faults to a phase and no heap use), writes the compiler cannot drop, a PRNG.
 */
void *wl_scratch(size_t bytes);
void wl_touch(void *p, size_t n, int byte);
int wl_all_bytes(const void *p, size_t n, int byte);
uint64_t wl_rand(void);
void wl_shuffle(long *idx, long n);
void wl_order_indices(long *idx, long n, enum wl_order order);
/* Workload-specific observations, printed under "results". */
void wl_result(const char *key, long long value);
/* Print a message and exit 1 (the workload could not do its job). */
void wl_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Print a one-line usage error and exit 2 (bad combination of options). */
void wl_usage_error(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Pointer to stay unused-checker-proof: keeps a value alive for the compiler. */
extern void *volatile wl_sink;

long wl_page_size(void);

/* Set up by main before the workload runs, reported at the end. */
void wl_init(const struct workload *w, const struct wl_opts *o);
void wl_report(void);

#endif
