// SPDX-License-Identifier: GPL-2.0
/*
 * fragment: blocks with different lifetimes side by side. Freeing the
 * short-lived ones leaves holes between long-lived ones: free memory that
 * stays resident, that the heap cannot give back, and that a bigger request
 * cannot use.
 */
#include "common.h"

int wl_fragment(const struct wl_opts *o)
{
	long n = o->count, k = o->keep, nbig = n / k, i;
	size_t s = o->size, big = s * k; /* bigger than any hole of k - 1 blocks */
	void **blk = wl_scratch(n * sizeof(*blk));
	void **bigs = wl_scratch(nbig * sizeof(*bigs));

	wl_phase_begin("alloc");
	for (i = 0; i < n; i++) {
		if (!(blk[i] = wl_malloc(s)))
			wl_die("malloc(%zu) failed", s);
		wl_touch(blk[i], s, 0x31);
	}
	wl_phase_end();

	/* every k-th block lives on */
	wl_phase_begin("free_short");
	for (i = 0; i < n; i++)
		if (i % k != k - 1)
			wl_free(blk[i], s);
	wl_phase_end();
	wl_result("hole_bytes", (long long)(n - n / k) * s);

	wl_phase_begin("alloc_big");
	for (i = 0; i < nbig; i++) {
		if (!(bigs[i] = wl_malloc(big)))
			wl_die("malloc(%zu) failed", big);
		wl_touch(bigs[i], big, 0x32);
	}
	wl_phase_end();
	wl_result("big_size", big);

	wl_phase_begin("free_long");
	for (i = 0; i < n; i++)
		if (i % k == k - 1)
			wl_free(blk[i], s);
	for (i = 0; i < nbig; i++)
		wl_free(bigs[i], big);
	wl_phase_end();
	return 0;
}
