// SPDX-License-Identifier: GPL-2.0
/*
 * mmap: anonymous mappings, the way malloc gets large blocks. Pages come on
 * first touch; protections change with mprotect; madvise says what the
 * process no longer needs (DONTNEED: gone now, FREE: gone when memory is
 * short) or wants (HUGEPAGE: 2 MiB pages, far fewer faults).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"

#define HUGE_LEN (4UL << 20)

/* Resident pages of [p, p+len), asked of the kernel without touching them. */
static long resident_pages(void *p, size_t len)
{
	static unsigned char vec[4096];
	size_t pages = (len + wl_page_size() - 1) / wl_page_size(), i, off, chunk;
	long n = 0;

	for (off = 0; off < pages; off += chunk) {
		chunk = pages - off < sizeof(vec) ? pages - off : sizeof(vec);
		if (mincore((char *)p + off * wl_page_size(), chunk * wl_page_size(), vec))
			return -1;
		for (i = 0; i < chunk; i++)
			n += vec[i] & 1;
	}
	return n;
}

int wl_mmap_fn(const struct wl_opts *o)
{
	long n = o->count, i, res, bad = 0;
	size_t s = o->size, off, ps = wl_page_size();
	char **map = wl_scratch(n * sizeof(*map));
	char *huge, *p;
	const int rw = PROT_READ | PROT_WRITE, anon = MAP_PRIVATE | MAP_ANONYMOUS;

	wl_phase_begin("map");
	for (i = 0; i < n; i++) {
		map[i] = wl_mmap(NULL, s, rw, anon);
		if (map[i] == MAP_FAILED)
			wl_die("mmap(%zu) failed: %s", s, strerror(errno));
	}
	wl_phase_end();

	wl_phase_begin("touch");
	for (i = 0; i < n; i++)
		wl_touch(map[i], s, 0x33);
	wl_phase_end();

	wl_phase_begin("protect");
	for (i = 0; i < n; i++)
		if (wl_mprotect(map[i], s, PROT_READ))
			wl_die("mprotect: %s", strerror(errno));
	for (i = 0; i < n; i++)
		if (wl_mprotect(map[i], s, rw))
			wl_die("mprotect: %s", strerror(errno));
	wl_phase_end();

	wl_phase_begin("dontneed");
	for (i = 0; i < n; i++)
		if (wl_madvise(map[i], s, MADV_DONTNEED))
			wl_die("madvise(MADV_DONTNEED): %s", strerror(errno));
	wl_phase_end();
	for (res = 0, i = 0; i < n; i++)
		res += resident_pages(map[i], s);
	wl_result("resident_pages_after_dontneed", res);

	/* One byte per page: each write faults in a fresh zeroed page. */
	wl_phase_begin("retouch");
	for (i = 0; i < n; i++)
		for (off = 0; off < s; off += ps)
			map[i][off] = 0x44;
	wl_phase_end();
	for (i = 0; i < n; i++)
		for (off = 0; off < s; off += ps)
			bad +=
			    !wl_all_bytes(map[i] + off + 1, (s - off < ps ? s - off : ps) - 1, 0);
	wl_result("dirty_pages_after_dontneed", bad);

	wl_phase_begin("free");
	for (i = 0; i < n; i++)
		if (wl_madvise(map[i], s, MADV_FREE))
			wl_die("madvise(MADV_FREE): %s", strerror(errno));
	wl_phase_end();
	for (res = 0, i = 0; i < n; i++)
		res += resident_pages(map[i], s);
	wl_result("resident_pages_after_free", res);

	wl_phase_begin("touch_after_free");
	for (i = 0; i < n; i++)
		for (off = 0; off < s; off += ps)
			map[i][off] = 0x55;
	wl_phase_end();

	wl_phase_begin("hugepage");
	huge = wl_mmap(NULL, HUGE_LEN, rw, anon);
	if (huge == MAP_FAILED)
		wl_die("mmap(%lu) failed: %s", HUGE_LEN, strerror(errno));
	/* Fails with EINVAL when the kernel has no THP; the faults then show it. */
	wl_madvise(huge, HUGE_LEN, MADV_HUGEPAGE);
	wl_touch(huge, HUGE_LEN, 0x66);
	wl_phase_end();

	wl_phase_begin("mremap");
	if (n > 0) {
		p = wl_mremap(map[0], s, 2 * s, MREMAP_MAYMOVE);
		if (p == MAP_FAILED)
			wl_die("mremap: %s", strerror(errno));
		wl_result("mremap_moved", p != map[0]);
		map[0] = p;
	}
	wl_phase_end();

	wl_phase_begin("unmap");
	for (i = 0; i < n; i++)
		if (wl_munmap(map[i], i ? s : 2 * s))
			wl_die("munmap: %s", strerror(errno));
	wl_munmap(huge, HUGE_LEN);
	wl_phase_end();
	return 0;
}
