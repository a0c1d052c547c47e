// SPDX-License-Identifier: GPL-2.0
/*
 * memstudy-workload: small programs with known memory behaviour, each one
 * showing one thing, each printing the ground truth of what it did.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define ALLOC_OPTS (OPT_COUNT | OPT_SIZE)

/* name, function, one-line description, help, accepted options and their defaults */
static const struct workload workloads[] = {
    {"churn", wl_churn, "mem_test: N blocks of S bytes malloc'ed, written, then all freed",
     "The founding notes' mem_test. Phase alloc mallocs N blocks of S bytes, phase touch\n"
     "writes every byte of each (skipped with --no-touch), phase free frees them in the\n"
     "given --order. Compare the free phase's time with 'array', which holds the same\n"
     "memory in one block.",
     .opts = ALLOC_OPTS | OPT_ORDER | OPT_NOTOUCH, .def_count = 10000, .def_size = 1040},
    {"array", wl_array, "mem_test_arr: the same N x S bytes as one malloc'ed array",
     "The founding notes' mem_test_arr: one malloc of N*S bytes (alloc), written (touch,\n"
     "skipped with --no-touch) and freed (free). Above the mmap threshold (128 KiB) the\n"
     "block is its own mapping: free is one munmap and resident size drops at once.",
     .opts = ALLOC_OPTS | OPT_NOTOUCH, .def_count = 10000, .def_size = 1040},
    {"malloc", wl_malloc_fn,
     "malloc returns recycled, not zeroed memory; pages come on first touch",
     "Phase alloc mallocs N blocks of S bytes (malloc writes each chunk's header, so the\n"
     "pages of a fresh heap fault in here already), touch fills them with 0xAB, free\n"
     "frees them, alloc_again mallocs\n"
     "N blocks again: a pin block above them kept the heap from shrinking, so they reuse\n"
     "the freed memory: no new faults, and the old bytes are still there (results:\n"
     "dirty_blocks = blocks that did not come back all zero).",
     .opts = ALLOC_OPTS, .def_count = 1000, .def_size = 1040},
    {"calloc", wl_calloc_fn,
     "calloc zeroes recycled small blocks but gets large ones zeroed from mmap",
     "Phase dirty mallocs N blocks of S bytes, fills them with 0xFF and frees them (a pin\n"
     "block keeps them off the top chunk). calloc_small callocs N blocks of S: they reuse\n"
     "that dirty memory, so calloc must clear it (time, no faults). calloc_large callocs\n"
     "one block of N*S bytes: above the mmap threshold it is a fresh mapping the kernel\n"
     "zeroes, so calloc writes nothing and there are no faults until touch_large. Then free.",
     .opts = ALLOC_OPTS, .def_count = 1000, .def_size = 1040},
    {"realloc", wl_realloc_fn, "realloc growing in place, moving, and mremap for mmapped blocks",
     "grow_inplace grows one block at the heap top by S bytes R times: it stays put.\n"
     "grow_moved grows a block walled in by a neighbour (reallocarray): it must move.\n"
     "grow_mremap grows a 256 KiB (mmapped) block by 256 KiB R times: each step is one\n"
     "mremap in glibc, no copy. shrink halves each block, free frees them. results count\n"
     "moves per phase.",
     .opts = OPT_SIZE | OPT_ROUNDS, .def_size = 1040, .def_rounds = 8},
    {"brk", wl_brk, "raw sbrk: move the heap end up N times, touch the pages, move it down",
     "Phase up calls sbrk(+S) N times (N brk syscalls, no faults), touch writes every byte\n"
     "(one fault per page), down calls sbrk(-S) N times: the kernel frees the pages and\n"
     "resident size drops. No malloc runs in between, so glibc's heap is not disturbed.",
     .opts = ALLOC_OPTS, .def_count = 64, .def_size = 65536, .raw_syscalls = 1},
    {"mmap", wl_mmap_fn,
     "anonymous mmap: first touch, protections, madvise DONTNEED/FREE/HUGEPAGE, mremap",
     "map makes N private anonymous mappings of S bytes; touch writes them (a fault per\n"
     "page); protect makes them read-only and back (mprotect); dontneed drops the pages\n"
     "(resident size falls at once) and retouch writes a byte per page: faults again, and\n"
     "the rest of each page reads zero (results); free gives\n"
     "MADV_FREE (pages stay until memory is short) and touch_after_free reuses them;\n"
     "hugepage maps 4 MiB with MADV_HUGEPAGE and touches it (few faults with THP);\n"
     "mremap grows the first mapping to twice its size; unmap unmaps everything.",
     .opts = ALLOC_OPTS, .def_count = 16, .def_size = 1 << 20, .raw_syscalls = 1},
    {"memalign", wl_memalign_fn, "posix_memalign, aligned_alloc, memalign, valloc, pvalloc",
     "One phase per function, each allocating N blocks of S bytes aligned to --align\n"
     "(valloc and pvalloc: the page size; pvalloc also rounds the size up to pages),\n"
     "written; then free. results: misaligned blocks (0) and heap growth per phase,\n"
     "which shows what alignment costs in padding.",
     .opts = ALLOC_OPTS | OPT_ALIGN, .def_count = 1000, .def_size = 1040, .def_align = 64},
    {"alloca", wl_alloca, "alloca in a loop: stack grows by N x S, freed only at return",
     "Phase grow calls a function that allocas S bytes N times and writes each: the stack\n"
     "grows by N*S bytes, one fault per new page. again does the same: the pages stay\n"
     "with the stack, no new faults. No allocator calls. N*S must fit the stack limit.",
     .opts = ALLOC_OPTS, .def_count = 1000, .def_size = 4096},
    {"vla", wl_vla, "a VLA in a loop: freed at each iteration's end, the stack stays small",
     "Phase grow loops N times with a VLA of S bytes in the loop body, written each time:\n"
     "it is freed at the end of each iteration, so the stack grows by S bytes only\n"
     "(compare alloca). again repeats it. No allocator calls.",
     .opts = ALLOC_OPTS, .def_count = 1000, .def_size = 4096},
    {"threads", wl_threads,
     "T threads allocate and free, their own and other threads' blocks (arenas)",
     "T threads stay alive across phases. alloc: each mallocs N blocks of S bytes and\n"
     "writes them (threads get their own arenas: 64 MiB-aligned heaps). free_own: each\n"
     "frees the even blocks it allocated. free_cross: thread i frees the odd blocks of\n"
     "thread i+1 (chunks go back to the other thread's arena). Repeated R rounds.\n"
     "results: arenas = distinct 64 MiB regions outside the main heap seen by threads.",
     .opts = ALLOC_OPTS | OPT_THREADS | OPT_ROUNDS, .def_count = 10000, .def_size = 1040,
     .def_threads = 4},
    {"fragment", wl_fragment, "interleaved lifetimes leave holes: resident memory stays after free",
     "alloc mallocs N blocks of S bytes and writes them; every K-th block is long-lived.\n"
     "free_short frees the others: the holes stay resident, the heap cannot shrink\n"
     "past the long-lived blocks. alloc_big asks for blocks bigger than any hole: the heap\n"
     "grows anyway. free_long frees the rest, and the heap top is trimmed.",
     .opts = ALLOC_OPTS | OPT_KEEP, .def_count = 10000, .def_size = 1040, .def_keep = 8},
    {"trim", wl_trim, "what malloc_trim gives back when the heap top is pinned",
     "alloc mallocs N blocks of S bytes plus one pin block above them, written. free frees\n"
     "the N blocks: the pin keeps the heap from shrinking and the pages stay resident.\n"
     "trim calls malloc_trim(0): glibc gives the free pages back with MADV_DONTNEED\n"
     "(resident size falls, heap end stays). free_pin frees the pin.",
     .opts = ALLOC_OPTS, .def_count = 10000, .def_size = 1040},
    {"thresholds", wl_thresholds, "sizes either side of glibc's tcache, fastbin and mmap limits",
     "Each phase mallocs N blocks of two sizes either side of one limit, then frees them:\n"
     "tcache (1032 vs 1033 bytes: usable size 1032 is the largest tcache size), fastbin\n"
     "(120 vs 121: 128-byte chunks are the largest fastbin), mmap (128 KiB - 32 from the\n"
     "heap vs 128 KiB by mmap), rise (a 1 MiB mmapped block is freed, which lifts the mmap\n"
     "threshold, so a 512 KiB block then comes from the heap). results: how many of the N\n"
     "blocks of each size were mmapped (read from the chunk header). The threshold is\n"
     "only consulted when the top chunk is too small: a block above it still comes from\n"
     "the heap while the top chunk has room (so mmap_131072_mmapped can be N - 1).",
     .opts = OPT_COUNT, .def_count = 8},
    {NULL},
};

static const char *prog = "memstudy-workload";

static void usage(FILE *f)
{
	const struct workload *w;

	fprintf(
	    f,
	    "usage: %s NAME [options]   run one workload and print what it did\n"
	    "       %s --list           list the workloads\n"
	    "       %s NAME --help      what NAME shows, its options and defaults\n\n"
	    "Every workload runs in phases (timed, with page faults, resident size and heap end\n"
	    "before and after each) and ends with the ground truth: the allocator calls it made\n"
	    "and the bytes asked for. --json prints that as one JSON object.\n\n"
	    "workloads:\n",
	    prog, prog, prog);
	for (w = workloads; w->name; w++)
		fprintf(f, "  %-11s %s\n", w->name, w->description);
	fprintf(f,
		"\ncommon options:\n"
		"  --json        one JSON object on stdout instead of text\n"
		"  --wait        write 'ready PID' to stderr, then wait for SIGUSR1 or a byte\n"
		"                (or EOF) on stdin before the first phase\n"
		"  --pause-after PHASE  once PHASE ends, write 'paused PHASE PID' to stderr and\n"
		"                (may be repeated)\n"
		"                wait the same way (to snapshot memory between phases)\n"
		"  --seed N      seed for anything random (default 1)\n");
}

static void workload_help(const struct workload *w)
{
	printf("%s %s: %s\n\n%s\n\noptions:\n", prog, w->name, w->description, w->help);
	if (w->opts & OPT_COUNT)
		printf("  --count N     how many (1000 or 1e3 both work; default %ld)\n",
		       w->def_count);
	if (w->opts & OPT_SIZE)
		printf("  --size S      bytes (K/M/G suffixes are powers of 1024; default %zu)\n",
		       w->def_size);
	if (w->opts & OPT_ORDER)
		printf("  --order O     order of the frees: fwd, rev or random (default fwd)\n");
	if (w->opts & OPT_NOTOUCH)
		printf("  --no-touch    do not write the memory (no touch phase)\n");
	if (w->opts & OPT_THREADS)
		printf("  --threads T   number of threads (default %d)\n", w->def_threads);
	if (w->opts & OPT_ROUNDS)
		printf("  --rounds R    repetitions (default %d)\n", w->def_rounds);
	if (w->opts & OPT_KEEP)
		printf("  --keep K      every K-th block is long-lived (default %ld)\n",
		       w->def_keep);
	if (w->opts & OPT_ALIGN)
		printf("  --align A     alignment, a power of two >= 8 (default %zu)\n",
		       w->def_align);
	printf("  --seed N      seed for anything random (default 1)\n"
	       "  --json        one JSON object on stdout instead of text\n"
	       "  --wait        write 'ready PID' to stderr, then wait for SIGUSR1 or a byte\n"
	       "                (or EOF) on stdin before the first phase\n"
	       "  --pause-after PHASE  once PHASE ends, write 'paused PHASE PID' to stderr and\n"
	       "                (may be repeated)\n"
	       "                wait the same way (to snapshot memory between phases)\n");
}

/*
 * Numbers: plain integers, 1e6-style (must come out whole), and for byte
 * sizes K, M, G suffixes (powers of 1024). Returns 0 on success.
 */
static int parse_num(const char *s, int suffixes, unsigned long long max, unsigned long long *out)
{
	unsigned long long v, mult = 1;
	char *end;
	double d;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end == 'e' || *end == 'E' || *end == '.') {
		d = strtod(s, &end);
		if (errno || d < 0 || d > 1e18 || d != (double)(unsigned long long)d)
			return -1;
		v = (unsigned long long)d;
	} else if (errno || end == s) {
		return -1;
	}
	if (suffixes && *end) {
		switch (*end++) {
		case 'k':
		case 'K':
			mult = 1ULL << 10;
			break;
		case 'm':
		case 'M':
			mult = 1ULL << 20;
			break;
		case 'g':
		case 'G':
			mult = 1ULL << 30;
			break;
		default:
			return -1;
		}
	}
	if (*end || __builtin_mul_overflow(v, mult, &v) || v > max)
		return -1;
	*out = v;
	return 0;
}

static __attribute__((noreturn, format(printf, 2, 3))) void bad(const struct workload *w,
								const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s: ", prog, w->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see '%s %s --help')\n", prog, w->name);
	exit(2);
}

enum {
	O_COUNT = 1000,
	O_SIZE,
	O_ORDER,
	O_THREADS,
	O_ROUNDS,
	O_SEED,
	O_NOTOUCH,
	O_KEEP,
	O_ALIGN,
	O_JSON,
	O_WAIT,
	O_PAUSE,
	O_HELP
};

static const struct option long_opts[] = {
    {"count", required_argument, NULL, O_COUNT},
    {"size", required_argument, NULL, O_SIZE},
    {"order", required_argument, NULL, O_ORDER},
    {"threads", required_argument, NULL, O_THREADS},
    {"rounds", required_argument, NULL, O_ROUNDS},
    {"seed", required_argument, NULL, O_SEED},
    {"no-touch", no_argument, NULL, O_NOTOUCH},
    {"keep", required_argument, NULL, O_KEEP},
    {"align", required_argument, NULL, O_ALIGN},
    {"json", no_argument, NULL, O_JSON},
    {"wait", no_argument, NULL, O_WAIT},
    {"pause-after", required_argument, NULL, O_PAUSE},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

/* Which OPT_* bit an option needs; 0 for the common ones. */
static unsigned int opt_bit(int c)
{
	switch (c) {
	case O_COUNT:
		return OPT_COUNT;
	case O_SIZE:
		return OPT_SIZE;
	case O_ORDER:
		return OPT_ORDER;
	case O_THREADS:
		return OPT_THREADS;
	case O_ROUNDS:
		return OPT_ROUNDS;
	case O_NOTOUCH:
		return OPT_NOTOUCH;
	case O_KEEP:
		return OPT_KEEP;
	case O_ALIGN:
		return OPT_ALIGN;
	}
	return 0;
}

static void parse_opts(const struct workload *w, int argc, char **argv, struct wl_opts *o)
{
	unsigned long long v;
	int c, idx;

	o->count = w->def_count;
	o->size = w->def_size;
	o->order = ORDER_FWD;
	o->threads = w->def_threads ? w->def_threads : 1;
	o->rounds = w->def_rounds ? w->def_rounds : 1;
	o->seed = 1;
	o->touch = 1;
	o->keep = w->def_keep;
	o->align = w->def_align;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":", long_opts, &idx)) != -1) {
		if (c == '?')
			bad(w, "unknown option '%s'", argv[optind - 1]);
		if (c == ':')
			bad(w, "option '%s' needs a value", argv[optind - 1]);
		if (opt_bit(c) && !(w->opts & opt_bit(c)))
			bad(w, "option '--%s' does not apply to this workload",
			    long_opts[idx].name);
		switch (c) {
		case O_COUNT:
			if (parse_num(optarg, 0, 1000000000ULL, &v))
				bad(w,
				    "bad --count '%s': want a whole number 0..1e9, like 1000 or "
				    "1e5",
				    optarg);
			o->count = (long)v;
			break;
		case O_SIZE:
			if (parse_num(optarg, 1, 1ULL << 40, &v) || v == 0)
				bad(w, "bad --size '%s': want bytes 1..1T, like 1040, 4K or 1M",
				    optarg);
			o->size = (size_t)v;
			break;
		case O_ORDER:
			if (!strcmp(optarg, "fwd"))
				o->order = ORDER_FWD;
			else if (!strcmp(optarg, "rev"))
				o->order = ORDER_REV;
			else if (!strcmp(optarg, "random"))
				o->order = ORDER_RANDOM;
			else
				bad(w, "bad --order '%s': want fwd, rev or random", optarg);
			break;
		case O_THREADS:
			if (parse_num(optarg, 0, 256, &v) || v == 0)
				bad(w, "bad --threads '%s': want 1..256", optarg);
			o->threads = (int)v;
			break;
		case O_ROUNDS:
			if (parse_num(optarg, 0, 1000, &v) || v == 0)
				bad(w, "bad --rounds '%s': want 1..1000", optarg);
			o->rounds = (int)v;
			break;
		case O_SEED:
			if (parse_num(optarg, 0, ~0ULL, &v))
				bad(w, "bad --seed '%s': want a whole number", optarg);
			o->seed = (unsigned long)v;
			break;
		case O_NOTOUCH:
			o->touch = 0;
			break;
		case O_KEEP:
			if (parse_num(optarg, 0, 1000000000ULL, &v) || v < 2)
				bad(w, "bad --keep '%s': want 2 or more", optarg);
			o->keep = (long)v;
			break;
		case O_ALIGN:
			if (parse_num(optarg, 1, 1ULL << 30, &v) || v < sizeof(void *) ||
			    (v & (v - 1)))
				bad(w, "bad --align '%s': want a power of two from 8 to 1G",
				    optarg);
			o->align = (size_t)v;
			break;
		case O_JSON:
			o->json = 1;
			break;
		case O_WAIT:
			o->wait = 1;
			break;
		case O_PAUSE: /* may repeat: kept as "a,b,c" */
			if (o->pause_after) {
				char *both;

				if (asprintf(&both, "%s,%s", o->pause_after, optarg) < 0)
					wl_die("out of memory");
				o->pause_after = both;
			} else {
				o->pause_after = optarg;
			}
			break;
		case O_HELP:
			workload_help(w);
			exit(0);
		}
	}
	if (optind < argc)
		bad(w, "unexpected argument '%s'", argv[optind]);
}

int main(int argc, char **argv)
{
	const struct workload *w;
	struct wl_opts o = {0};
	int rc;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--list")) {
		for (w = workloads; w->name; w++)
			printf("%-11s %s\n", w->name, w->description);
		return 0;
	}
	for (w = workloads; w->name; w++)
		if (!strcmp(argv[1], w->name))
			break;
	if (!w->name) {
		if (argv[1][0] == '-')
			fprintf(stderr,
				"%s: the workload NAME comes first, then '%s' (see '%s --help')\n",
				prog, argv[1], prog);
		else
			fprintf(stderr, "%s: unknown workload '%s' (see '%s --list')\n", prog,
				argv[1], prog);
		return 2;
	}
	parse_opts(w, argc - 1, argv + 1, &o);
	wl_init(w, &o);
	rc = w->fn(&o);
	wl_report();
	return rc;
}
