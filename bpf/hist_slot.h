/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The latency histogram's slot of a value, for the BPF side that fills it and the unit tests
 * that check its inverse (user/analyse/hist.c). MS_HIST_* are in memstudy.h.
 */
#ifndef MEMSTUDY_HIST_SLOT_H
#define MEMSTUDY_HIST_SLOT_H

#include "memstudy.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	return r + (v >> 1);
}

/* Log-linear slot of NS; the inverse is hist_slot_low() in user/analyse/hist.c. */
static __always_inline __u32 hist_slot(__u64 ns)
{
	__u32 l, slot;

	if (ns < MS_HIST_SUB)
		return ns;
	l = log2_u64(ns);
	slot = (l - MS_HIST_SUB_BITS + 1) * MS_HIST_SUB +
	       ((ns >> (l - MS_HIST_SUB_BITS)) & (MS_HIST_SUB - 1));
	return slot < MS_HIST_SLOTS ? slot : MS_HIST_SLOTS - 1;
}

#endif
