/* SPDX-License-Identifier: GPL-2.0 */
/* Numbers as the reports quote them; each returns BUF. */
#ifndef MEMSTUDY_LIB_FMT_H
#define MEMSTUDY_LIB_FMT_H

#include <stddef.h>

/* "812 ns", "12.3 us", "4.5 ms", "1.34 s"; "-" for a negative or NaN time (unknown). */
const char *fmt_ns(char *buf, size_t size, double ns);
/* The same, from seconds. */
const char *fmt_secs(char *buf, size_t size, double s);
/* "512 B", "1.5 KiB", "99.2 MiB". */
const char *fmt_bytes(char *buf, size_t size, double bytes);
/* "37 %" of a fraction; "-" when negative (unknown). */
const char *fmt_pct(char *buf, size_t size, double fraction);
/* "1 munmap", "2 munmaps": counts quoted in sentences. */
const char *fmt_plural(char *buf, size_t size, long n, const char *word);

#endif
