/* SPDX-License-Identifier: GPL-2.0 */
/* Log-linear latency histograms filled by the BPF side (see hist_slot() there). */
#ifndef MEMSTUDY_HIST_H
#define MEMSTUDY_HIST_H

#include <stdint.h>
#include <stdio.h>
#include <linux/types.h>

/* Lowest and highest value a slot holds. */
uint64_t hist_slot_low(unsigned int slot);
uint64_t hist_slot_high(unsigned int slot);
/* Value below which PCT percent of the samples fall (slot middle, capped at max). */
uint64_t hist_percentile(const __u64 *hist, unsigned int nslots, double pct, uint64_t max);
/* bcc-style log2 histogram with stars. */
void hist_print_log2(FILE *out, const __u64 *hist, unsigned int nslots, const char *unit);

#endif
