// SPDX-License-Identifier: GPL-2.0
/*
 * APR pools with known numbers: ROUNDS parent pools, each with a child pool; N blocks in
 * each (apr_palloc in the parent, apr_pcalloc in the child); even rounds destroy the
 * parent, odd ones clear it (which destroys the child through apr_pool_destroy). Then KEEP
 * blocks in a pool never cleared: what is live at the end (N * ROUNDS * 2 blocks are
 * freed by the pools' clears and destroys). The work is between the
 * "work" and "done" phase markers, apart from what apr_initialize does. Prints its counts.
 *   apr_pools ROUNDS N KEEP
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_pools.h>

__attribute__((noinline, used, visibility("default"))) void memstudy_phase(const char *name)
{
	__asm__ volatile("" : : "r"(name) : "memory");
}

/* A phase marker whose name's page is resident: the probe reads it without faulting. */
static void phase(const char *name)
{
	static volatile size_t touched;

	touched += strlen(name);
	memstudy_phase(name);
}

static void *volatile sink;

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 10, n = argc > 2 ? atol(argv[2]) : 100;
	long keep = argc > 3 ? atol(argv[3]) : 7;
	/* apr_pcalloc is a macro around apr_palloc in APR's header: its calls are apr_palloc's;
	 * destroys: the program's own calls, pools_destroyed: with the children they take */
	long palloc = 0, creates = 0, clears = 0, destroys = 0, pools_destroyed = 0;
	apr_pool_t *root, *kept;

	if (apr_initialize() || apr_pool_create(&root, NULL))
		return 1;
	phase("work");
	for (long r = 0; r < rounds; r++) {
		apr_pool_t *p, *c;

		apr_pool_create(&p, root);
		apr_pool_create(&c, p);
		creates += 2;
		for (long i = 0; i < n; i++) {
			sink = apr_palloc(p, 100 + i % 50);
			memset(sink, 1, 100);
			sink = apr_pcalloc(c, 64);
			palloc += 2;
		}
		if (r % 2) {
			apr_pool_clear(p); /* destroys c through apr_pool_destroy */
			clears++;
			apr_pool_destroy(p);
		} else {
			apr_pool_destroy(p); /* and c */
		}
		destroys++;
		pools_destroyed += 2;
	}
	apr_pool_create(&kept, root);
	creates++;
	for (long i = 0; i < keep; i++, palloc++)
		sink = apr_palloc(kept, 40);
	phase("done");
	printf("{\"apr_palloc\": %ld, \"apr_pool_create_ex\": %ld, \"apr_pool_clear\": %ld, "
	       "\"apr_pool_destroy\": %ld, \"pools_destroyed\": %ld, \"live\": %ld}\n",
	       palloc, creates, clears, destroys, pools_destroyed, keep);
	fflush(stdout);
	_exit(0); /* no apr_terminate: the kept pool's blocks stay live */
}
