/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a probe hit costs on this machine, measured when a trace ends: memstudy's report
 * subtracts nothing but says how much of the latencies it shows is its own.
 */
#ifndef MEMSTUDY_CALIBRATE_H
#define MEMSTUDY_CALIBRATE_H

#include <stdbool.h>

struct probe_costs {
	bool measured;		  /* false: the defaults from docs/performance.md */
	double entry_emulated_ns; /* entry probe on an instruction the kernel emulates */
	double entry_sstep_ns;	  /* entry probe on one it single-steps */
	double return_ns;	  /* return probe */
	double programs_ns;	  /* memstudy's programs per call (not measured here) */
};

/* The defaults, measured on our machines (docs/performance.md). */
void probe_costs__defaults(struct probe_costs *c);
/* Time empty probes on memstudy's own code (~0.1 s). On failure keeps the defaults. */
void probe_costs__measure(struct probe_costs *c);

#endif
