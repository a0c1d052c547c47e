// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include <linux/types.h>
#include "analyse/hist.h"
#include "memstudy.h"

uint64_t hist_slot_low(unsigned int slot)
{
	unsigned int l;

	if (slot < MS_HIST_SUB)
		return slot;
	l = slot / MS_HIST_SUB + MS_HIST_SUB_BITS - 1;
	return (uint64_t)(MS_HIST_SUB + slot % MS_HIST_SUB) << (l - MS_HIST_SUB_BITS);
}

uint64_t hist_slot_high(unsigned int slot)
{
	return slot + 1 < MS_HIST_SLOTS ? hist_slot_low(slot + 1) - 1 : UINT64_MAX;
}

uint64_t hist_percentile(const __u64 *hist, unsigned int nslots, double pct, uint64_t max)
{
	uint64_t total = 0, seen = 0, v;
	unsigned int i;

	for (i = 0; i < nslots; i++)
		total += hist[i];
	if (!total)
		return 0;
	for (i = 0; i < nslots; i++) {
		seen += hist[i];
		if (seen * 100.0 >= pct * total)
			break;
	}
	if (i == nslots)
		i--;
	v = hist_slot_low(i) + (hist_slot_high(i) - hist_slot_low(i)) / 2;
	return v > max ? max : v;
}

void hist_print_log2(FILE *out, const __u64 *hist, unsigned int nslots, const char *unit)
{
	/* bucket k holds [2^(k-1), 2^k): 0 for zero, 64 for values from 2^63 up */
	uint64_t b[65] = {0}, peak = 0;
	int i, first = -1, last = -1, width = 40;

	for (i = 0; i < (int)nslots; i++) {
		uint64_t low = hist_slot_low(i);

		b[low ? 64 - __builtin_clzll(low) : 0] += hist[i];
	}
	for (i = 0; i < 65; i++) {
		if (!b[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		if (b[i] > peak)
			peak = b[i];
	}
	if (first < 0)
		return;
	fprintf(out, "%24s : count      distribution\n", unit);
	for (i = first; i <= last; i++) {
		uint64_t lo = i ? 1ULL << (i - 1) : 0, hi = i == 64 ? UINT64_MAX
							    : i	    ? (1ULL << i) - 1
								    : 0;
		int stars = peak ? (int)((b[i] * width + peak - 1) / peak) : 0;
		char bar[64];

		memset(bar, '*', stars);
		bar[stars] = '\0';
		fprintf(out, "%11llu -> %-10llu : %-10llu |%-*s|\n", (unsigned long long)lo,
			(unsigned long long)hi, (unsigned long long)b[i], width, bar);
	}
}
