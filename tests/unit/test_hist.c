// SPDX-License-Identifier: GPL-2.0
/* The latency histogram: the BPF side's slot (bpf/hist_slot.h) and its inverse. */
#include <stdlib.h>

#include "analyse/hist.h"
#include "check.h"
#include "hist_slot.h"

TEST(slot_bounds_hold_the_value)
{
	static const uint64_t values[] = {
	    0,	       1,      7,	  8,	      9,
	    15,	       16,     100,	  1000,	      1023,
	    1024,      999999, 123456789, 1ULL << 40, (1ULL << 63) + 5,
	    UINT64_MAX};

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		uint64_t v = values[i];
		unsigned int s = hist_slot(v);

		CHECK(s < MS_HIST_SLOTS);
		CHECK(hist_slot_low(s) <= v);
		CHECK(v <= hist_slot_high(s));
	}
}

TEST(slots_are_within_an_eighth)
{
	/* log-linear: a slot's width is at most 1/MS_HIST_SUB of its low bound */
	for (unsigned int s = MS_HIST_SUB; s < 400; s++) {
		uint64_t lo = hist_slot_low(s), hi = hist_slot_high(s);

		CHECK(hi >= lo);
		CHECK((hi - lo + 1) * MS_HIST_SUB <= lo);
		CHECK(hist_slot_low(s + 1) == hi + 1);
	}
	CHECK_U64(hist_slot_low(0), 0);
	CHECK_U64(hist_slot_low(7), 7);
	CHECK_U64(hist_slot_low(8), 8);
}

TEST(percentiles)
{
	__u64 h[MS_HIST_SLOTS] = {0};

	/* 90 calls of ~1000 ns, 10 of ~1 ms */
	h[hist_slot(1000)] = 90;
	h[hist_slot(1000000)] = 10;
	CHECK(hist_percentile(h, MS_HIST_SLOTS, 50, 2000000) >= 896);
	CHECK(hist_percentile(h, MS_HIST_SLOTS, 50, 2000000) <= 1151);
	CHECK(hist_percentile(h, MS_HIST_SLOTS, 95, 2000000) >= 917504);
	/* never above the exact maximum */
	CHECK_U64(hist_percentile(h, MS_HIST_SLOTS, 99, 999000), 999000);
	memset(h, 0, sizeof(h));
	CHECK_U64(hist_percentile(h, MS_HIST_SLOTS, 50, 5), 0);
}

static void print_top(FILE *out, void *ctx)
{
	hist_print_log2(out, ctx, MS_HIST_SLOTS, "nsecs");
}

TEST(log2_printout_reaches_the_last_slot)
{
	/* a count in the last slot (values from 2^63) used to index past the buckets */
	__u64 *h = calloc(MS_HIST_SLOTS, sizeof(*h));
	char *text;

	h[hist_slot(3)] = 2;
	h[MS_HIST_SLOTS - 1] = 1;
	text = unit_capture(print_top, h);
	CHECK_CONTAINS(text, "nsecs : count");
	CHECK_CONTAINS(text, "2 -> 3          : 2");
	CHECK_CONTAINS(text, "9223372036854775808 -> 18446744073709551615 : 1");
	free(text);
	free(h);
}
