// SPDX-License-Identifier: GPL-2.0
/*
 * Common part of the workloads: phases and their measurements, counted
 * allocator and syscall wrappers, the --wait hook and the final report.
 *
 * Measuring must not disturb what is measured: between the start and the end
 * of a phase this file makes no heap allocation and uses no stdio; resident
 * size is read from /proc/self/statm with pread() into a stack buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

/*
 * The tracer puts a uprobe on this symbol. The empty asm that "uses" name
 * keeps the call and its argument in a register, so neither the call nor
 * the string can be optimized away.
 */
__attribute__((noinline, used, visibility("default"))) void memstudy_phase(const char *name)
{
	__asm__ volatile("" : : "r"(name) : "memory");
}

void *volatile wl_sink;

/* --- allocator calls ------------------------------------------------------ */

enum call_kind {
	C_MALLOC,
	C_CALLOC,
	C_REALLOC,
	C_REALLOCARRAY,
	C_FREE,
	C_POSIX_MEMALIGN,
	C_ALIGNED_ALLOC,
	C_MEMALIGN,
	C_VALLOC,
	C_PVALLOC,
	C_NR
};

static const char *const call_names[C_NR] = {
    "malloc",	      "calloc",	       "realloc",  "reallocarray", "free",
    "posix_memalign", "aligned_alloc", "memalign", "valloc",	   "pvalloc",
};

static unsigned long long call_count[C_NR], call_bytes[C_NR];

static void count_call(enum call_kind k, size_t bytes)
{
	/* Relaxed atomics: the threads workload calls these from many threads. */
	__atomic_add_fetch(&call_count[k], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&call_bytes[k], bytes, __ATOMIC_RELAXED);
}

static size_t mul_or_max(size_t a, size_t b)
{
	size_t r;

	return __builtin_mul_overflow(a, b, &r) ? (size_t)-1 : r;
}

void *wl_malloc(size_t n)
{
	count_call(C_MALLOC, n);
	return malloc(n);
}

void *wl_calloc(size_t nmemb, size_t n)
{
	count_call(C_CALLOC, mul_or_max(nmemb, n));
	return calloc(nmemb, n);
}

void *wl_realloc(void *p, size_t n)
{
	count_call(C_REALLOC, n);
	return realloc(p, n);
}

void *wl_reallocarray(void *p, size_t nmemb, size_t n)
{
	count_call(C_REALLOCARRAY, mul_or_max(nmemb, n));
	return reallocarray(p, nmemb, n);
}

void wl_free(void *p, size_t n)
{
	count_call(C_FREE, n);
	free(p);
}

int wl_posix_memalign(void **p, size_t align, size_t n)
{
	count_call(C_POSIX_MEMALIGN, n);
	return posix_memalign(p, align, n);
}

void *wl_aligned_alloc(size_t align, size_t n)
{
	count_call(C_ALIGNED_ALLOC, n);
	return aligned_alloc(align, n);
}

void *wl_memalign(size_t align, size_t n)
{
	count_call(C_MEMALIGN, n);
	return memalign(align, n);
}

void *wl_valloc(size_t n)
{
	count_call(C_VALLOC, n);
	return valloc(n);
}

void *wl_pvalloc(size_t n)
{
	count_call(C_PVALLOC, n);
	return pvalloc(n);
}

/* --- raw syscalls --------------------------------------------------------- */

enum sys_kind { S_MMAP, S_MUNMAP, S_MADVISE, S_MPROTECT, S_BRK, S_MREMAP, S_NR };

static const char *const sys_names[S_NR] = {
    "mmap", "munmap", "madvise", "mprotect", "brk", "mremap",
};

static unsigned long long sys_count[S_NR];

static void count_sys(enum sys_kind k)
{
	__atomic_add_fetch(&sys_count[k], 1, __ATOMIC_RELAXED);
}

void *wl_mmap(void *addr, size_t len, int prot, int flags)
{
	count_sys(S_MMAP);
	return mmap(addr, len, prot, flags, -1, 0);
}

int wl_munmap(void *addr, size_t len)
{
	count_sys(S_MUNMAP);
	return munmap(addr, len);
}

int wl_madvise(void *addr, size_t len, int advice)
{
	count_sys(S_MADVISE);
	return madvise(addr, len, advice);
}

int wl_mprotect(void *addr, size_t len, int prot)
{
	count_sys(S_MPROTECT);
	return mprotect(addr, len, prot);
}

/* glibc's sbrk(n != 0) makes exactly one brk syscall. */
void *wl_sbrk(intptr_t incr)
{
	count_sys(S_BRK);
	return sbrk(incr);
}

void *wl_mremap(void *old, size_t old_len, size_t new_len, int flags)
{
	count_sys(S_MREMAP);
	return mremap(old, old_len, new_len, flags);
}

/* --- helpers -------------------------------------------------------------- */

static long page_size;

long wl_page_size(void)
{
	return page_size;
}

void *wl_scratch(size_t bytes)
{
	void *p;

	/* Always one page at least, so a run with --count 0 maps the same. */
	if (bytes < (size_t)page_size)
		bytes = page_size;
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
		 -1, 0);
	if (p == MAP_FAILED)
		wl_die("cannot map %zu bytes of scratch: %s", bytes, strerror(errno));
	return p;
}

void wl_touch(void *p, size_t n, int byte)
{
	/* memset in another translation unit: the writes cannot be elided. */
	memset(p, byte, n);
}

int wl_all_bytes(const void *p, size_t n, int byte)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i] != (unsigned char)byte)
			return 0;
	return 1;
}

static uint64_t rng_state;

/* splitmix64: tiny, and the same sequence on every machine for one --seed. */
uint64_t wl_rand(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void wl_shuffle(long *idx, long n)
{
	long i, j, t;

	for (i = n - 1; i > 0; i--) {
		j = (long)(wl_rand() % (uint64_t)(i + 1));
		t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
	}
}

void wl_order_indices(long *idx, long n, enum wl_order order)
{
	long i;

	for (i = 0; i < n; i++)
		idx[i] = order == ORDER_REV ? n - 1 - i : i;
	if (order == ORDER_RANDOM)
		wl_shuffle(idx, n);
}

#define WL_MAX_RESULTS 32
static struct {
	char key[48];
	long long value;
} results[WL_MAX_RESULTS];
static int nr_results;

void wl_result(const char *key, long long value)
{
	int i;

	for (i = 0; i < nr_results; i++)
		if (!strcmp(results[i].key, key))
			break;
	if (i == WL_MAX_RESULTS)
		return;
	if (i == nr_results) {
		snprintf(results[i].key, sizeof(results[i].key), "%s", key);
		nr_results++;
	}
	results[i].value = value;
}

static const struct workload *cur_wl;
static const struct wl_opts *cur_opts;

void wl_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "memstudy-workload: %s: ", cur_wl ? cur_wl->name : "?");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void wl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "memstudy-workload: %s: ", cur_wl ? cur_wl->name : "?");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'memstudy-workload %s --help')\n", cur_wl ? cur_wl->name : "");
	exit(2);
}

/* --- phases --------------------------------------------------------------- */

struct snap {
	struct timespec t;
	struct rusage ru;
	long rss_kb;
	uintptr_t brk;
};

struct phase {
	char name[32];
	struct snap before, after;
};

static struct phase phases[WL_MAX_PHASES];
static int nr_phases, in_phase;
static int statm_fd = -1;

static long read_rss_kb(void)
{
	char buf[128];
	ssize_t n;
	char *p;
	long v = 0;

	n = pread(statm_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* statm: "size resident shared text lib data dt", in pages */
	p = strchr(buf, ' ');
	if (!p)
		return -1;
	for (p++; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (*p - '0');
	return v * (page_size / 1024);
}

static void take_snap(struct snap *s, int start)
{
	/* The clock is read last at the start and first at the end of a phase. */
	if (start) {
		s->rss_kb = read_rss_kb();
		s->brk = (uintptr_t)sbrk(0);
		getrusage(RUSAGE_SELF, &s->ru);
		clock_gettime(CLOCK_MONOTONIC, &s->t);
	} else {
		clock_gettime(CLOCK_MONOTONIC, &s->t);
		getrusage(RUSAGE_SELF, &s->ru);
		s->rss_kb = read_rss_kb();
		s->brk = (uintptr_t)sbrk(0);
	}
}

/*
 * --wait: say "ready PID" on stderr, then block until SIGUSR1 arrives or one
 * byte (or EOF, or a closed stdin) is read on stdin. SIGUSR1 stays blocked
 * afterwards so a late second one cannot kill the run.
 */
static void wait_for_go(const char *what)
{
	struct pollfd pfd[2];
	sigset_t set;
	char line[64], c;
	int sfd, n;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	n = snprintf(line, sizeof(line), "%s %d\n", what, (int)getpid());
	/* A closed stdin means go; checked first, before signalfd could take fd 0. */
	if (fcntl(0, F_GETFD) < 0) {
		if (write(2, line, n) < 0) {
			/* nobody listens on stderr: nothing to do about it */
		}
		return;
	}
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		wl_die("signalfd: %s", strerror(errno));

	if (write(2, line, n) < 0) {
		/* nobody listens on stderr: still wait for the go */
	}
	pfd[0].fd = sfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = 0;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			wl_die("poll: %s", strerror(errno));
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			/* consume it: a pending SIGUSR1 would release the next wait at once */
			if (read(sfd, &si, sizeof(si)) < 0) {
				/* still go: the signal was seen */
			}
			break;
		}
		/* closed stdin (POLLNVAL), hang-up, EOF or a byte: all mean go */
		if (pfd[1].revents & (POLLNVAL | POLLHUP | POLLERR))
			break;
		if (pfd[1].revents & POLLIN) {
			if (read(0, &c, 1) < 0 && errno == EINTR)
				continue;
			break;
		}
	}
	close(sfd);
}

/* Is NAME one of the --pause-after phases ("a,b,c")? */
static int pause_requested(const char *name)
{
	const char *p = cur_opts->pause_after;
	size_t n = strlen(name);

	while (p && *p) {
		if (!strncmp(p, name, n) && (p[n] == ',' || !p[n]))
			return 1;
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}
	return 0;
}

void wl_phase_begin(const char *name)
{
	struct phase *ph;

	if (in_phase)
		wl_phase_end();
	if (nr_phases == 0 && cur_opts->wait)
		wait_for_go("ready");
	if (nr_phases == WL_MAX_PHASES)
		wl_die("more than %d phases", WL_MAX_PHASES);
	ph = &phases[nr_phases++];
	/* A plain copy: nothing here may allocate (the brk workload relies on it). */
	strncpy(ph->name, name, sizeof(ph->name) - 1);
	in_phase = 1;
	memstudy_phase(name);
	take_snap(&ph->before, 1);
}

void wl_phase_end(void)
{
	if (!in_phase)
		return;
	take_snap(&phases[nr_phases - 1].after, 0);
	in_phase = 0;
	if (pause_requested(phases[nr_phases - 1].name)) {
		char what[48];

		snprintf(what, sizeof(what), "paused %.38s", phases[nr_phases - 1].name);
		wait_for_go(what);
	}
}

/* --- setup and report ----------------------------------------------------- */

void wl_init(const struct workload *w, const struct wl_opts *o)
{
	cur_wl = w;
	cur_opts = o;
	page_size = sysconf(_SC_PAGESIZE);
	rng_state = o->seed;
	statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (statm_fd < 0)
		wl_die("cannot open /proc/self/statm: %s", strerror(errno));
	/* With stdin closed the file would get fd 0, which --wait polls: move it. */
	if (statm_fd < 3) {
		int fd = fcntl(statm_fd, F_DUPFD_CLOEXEC, 3);

		if (fd < 0)
			wl_die("fcntl: %s", strerror(errno));
		close(statm_fd);
		statm_fd = fd;
	}
}

static double ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static double tv_diff(const struct timeval *a, const struct timeval *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_usec - a->tv_usec) / 1e6;
}

static const char *order_name(enum wl_order o)
{
	return o == ORDER_REV ? "rev" : o == ORDER_RANDOM ? "random" : "fwd";
}

static void print_params_json(void)
{
	const struct wl_opts *o = cur_opts;
	unsigned int m = cur_wl->opts;

	printf("\"params\":{");
	if (m & OPT_COUNT)
		printf("\"count\":%ld,", o->count);
	if (m & OPT_SIZE)
		printf("\"size\":%zu,", o->size);
	if (m & OPT_ORDER)
		printf("\"order\":\"%s\",", order_name(o->order));
	if (m & OPT_NOTOUCH)
		printf("\"touch\":%s,", o->touch ? "true" : "false");
	if (m & OPT_THREADS)
		printf("\"threads\":%d,", o->threads);
	if (m & OPT_ROUNDS)
		printf("\"rounds\":%d,", o->rounds);
	if (m & OPT_KEEP)
		printf("\"keep\":%ld,", o->keep);
	if (m & OPT_ALIGN)
		printf("\"align\":%zu,", o->align);
	printf("\"seed\":%lu}", o->seed);
}

static void report_json(void)
{
	int i;

	printf("{\"workload\":\"%s\",", cur_wl->name);
	print_params_json();
	printf(",\"calls\":{");
	for (i = 0; i < C_NR; i++)
		printf("%s\"%s\":{\"calls\":%llu,\"bytes\":%llu}", i ? "," : "", call_names[i],
		       call_count[i], call_bytes[i]);
	printf("}");
	if (cur_wl->raw_syscalls) {
		printf(",\"syscalls\":{");
		for (i = 0; i < S_NR; i++)
			printf("%s\"%s\":%llu", i ? "," : "", sys_names[i], sys_count[i]);
		printf("}");
	}
	printf(",\"phases\":[");
	for (i = 0; i < nr_phases; i++) {
		const struct snap *b = &phases[i].before, *a = &phases[i].after;

		printf("%s{\"name\":\"%s\",\"wall_s\":%.9f,\"user_s\":%.6f,\"sys_s\":%.6f,"
		       "\"minflt\":%ld,\"majflt\":%ld,\"rss_kb_before\":%ld,\"rss_kb_after\":%ld,"
		       "\"brk_before\":\"0x%lx\",\"brk_after\":\"0x%lx\"}",
		       i ? "," : "", phases[i].name, ts_diff(&b->t, &a->t),
		       tv_diff(&b->ru.ru_utime, &a->ru.ru_utime),
		       tv_diff(&b->ru.ru_stime, &a->ru.ru_stime), a->ru.ru_minflt - b->ru.ru_minflt,
		       a->ru.ru_majflt - b->ru.ru_majflt, b->rss_kb, a->rss_kb,
		       (unsigned long)b->brk, (unsigned long)a->brk);
	}
	printf("],\"results\":{");
	for (i = 0; i < nr_results; i++)
		printf("%s\"%s\":%lld", i ? "," : "", results[i].key, results[i].value);
	printf("},\"page_size\":%ld,\"pid\":%d}\n", page_size, (int)getpid());
}

static void report_text(void)
{
	const struct wl_opts *o = cur_opts;
	unsigned int m = cur_wl->opts;
	int i, any = 0;

	printf("workload %s (pid %d):", cur_wl->name, (int)getpid());
	if (m & OPT_COUNT)
		printf(" count=%ld", o->count);
	if (m & OPT_SIZE)
		printf(" size=%zu", o->size);
	if (m & OPT_ORDER)
		printf(" order=%s", order_name(o->order));
	if (m & OPT_NOTOUCH)
		printf(" touch=%s", o->touch ? "yes" : "no");
	if (m & OPT_THREADS)
		printf(" threads=%d", o->threads);
	if (m & OPT_ROUNDS)
		printf(" rounds=%d", o->rounds);
	if (m & OPT_KEEP)
		printf(" keep=%ld", o->keep);
	if (m & OPT_ALIGN)
		printf(" align=%zu", o->align);
	printf(" seed=%lu\n", o->seed);

	printf("allocator calls:");
	for (i = 0; i < C_NR; i++) {
		if (!call_count[i])
			continue;
		printf("%s %s %llu (%llu bytes)", any ? "," : "", call_names[i], call_count[i],
		       call_bytes[i]);
		any = 1;
	}
	printf("%s\n", any ? "" : " none");
	if (cur_wl->raw_syscalls) {
		printf("syscalls made:");
		for (i = 0; i < S_NR; i++)
			printf(" %s %llu", sys_names[i], sys_count[i]);
		printf("\n");
	}
	printf("%-16s %12s %10s %10s %8s %6s %20s %s\n", "phase", "wall_s", "user_s", "sys_s",
	       "minflt", "majflt", "rss_kb before>after", "heap end (brk) before>after");
	for (i = 0; i < nr_phases; i++) {
		const struct snap *b = &phases[i].before, *a = &phases[i].after;
		char rss[48];

		snprintf(rss, sizeof(rss), "%ld>%ld", b->rss_kb, a->rss_kb);
		printf("%-16s %12.6f %10.6f %10.6f %8ld %6ld %20s 0x%lx>0x%lx\n", phases[i].name,
		       ts_diff(&b->t, &a->t), tv_diff(&b->ru.ru_utime, &a->ru.ru_utime),
		       tv_diff(&b->ru.ru_stime, &a->ru.ru_stime), a->ru.ru_minflt - b->ru.ru_minflt,
		       a->ru.ru_majflt - b->ru.ru_majflt, rss, (unsigned long)b->brk,
		       (unsigned long)a->brk);
	}
	if (nr_results) {
		printf("results:");
		for (i = 0; i < nr_results; i++)
			printf(" %s=%lld", results[i].key, results[i].value);
		printf("\n");
	}
}

void wl_report(void)
{
	wl_phase_end();
	memstudy_phase("end");
	if (cur_opts->json)
		report_json();
	else
		report_text();
	fflush(stdout);
}
