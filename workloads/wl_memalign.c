// SPDX-License-Identifier: GPL-2.0
/*
 * memalign: the aligned allocators. glibc finds an aligned spot inside a
 * bigger chunk and gives the rest back, so the heap grows by more than
 * the bytes asked for; valloc and pvalloc align to the page.
 */
#include <stdint.h>

#include "common.h"

enum { F_POSIX, F_ALIGNED, F_MEMALIGN, F_VALLOC, F_PVALLOC, F_NR };
static const char *const fname[F_NR] = {"posix_memalign", "aligned_alloc", "memalign", "valloc",
					"pvalloc"};

static void *alloc_one(int f, size_t align, size_t s)
{
	void *p = NULL;

	switch (f) {
	case F_POSIX:
		if (wl_posix_memalign(&p, align, s))
			p = NULL;
		break;
	case F_ALIGNED:
		p = wl_aligned_alloc(align, s);
		break;
	case F_MEMALIGN:
		p = wl_memalign(align, s);
		break;
	case F_VALLOC:
		p = wl_valloc(s);
		break;
	case F_PVALLOC:
		p = wl_pvalloc(s);
		break;
	}
	return p;
}

int wl_memalign_fn(const struct wl_opts *o)
{
	long n = o->count, i, misaligned = 0;
	size_t s = o->size, align;
	void **blk = wl_scratch(F_NR * n * sizeof(*blk));
	int f;

	for (f = 0; f < F_NR; f++) {
		align = f >= F_VALLOC ? (size_t)wl_page_size() : o->align;
		wl_phase_begin(fname[f]);
		for (i = 0; i < n; i++) {
			void *p = alloc_one(f, align, s);

			if (!p)
				wl_die("%s(%zu, %zu) failed", fname[f], align, s);
			wl_touch(p, s, 0x42);
			blk[f * n + i] = p;
		}
		wl_phase_end();
		for (i = 0; i < n; i++)
			misaligned += ((uintptr_t)blk[f * n + i] & (align - 1)) != 0;
	}
	wl_result("misaligned", misaligned);

	wl_phase_begin("free");
	for (f = 0; f < F_NR; f++)
		for (i = 0; i < n; i++)
			wl_free(blk[f * n + i], s);
	wl_phase_end();
	return 0;
}
