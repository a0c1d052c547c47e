// SPDX-License-Identifier: GPL-2.0
/*
 * memstudy study: numbers as the report quotes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <gnu/libc-version.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <json-c/json.h>

#include "lib/util.h"
#include "study/study.h"

/* "1.34 s", "12.3 ms", "45.0 us": times span six decades in one table. */
const char *fmt_s(double s, char *buf, size_t len)
{
	if (s < 0 || isnan(s))
		snprintf(buf, len, "-");
	else if (s >= 1)
		snprintf(buf, len, "%.2f s", s);
	else if (s >= 1e-3)
		snprintf(buf, len, "%.2f ms", s * 1e3);
	else
		snprintf(buf, len, "%.1f us", s * 1e6);
	return buf;
}

const char *fmt_ns(double ns, char *buf, size_t len)
{
	return fmt_s(ns / 1e9, buf, len);
}

/* "1 munmap", "2 munmaps": counts are quoted in sentences */
const char *pl(long n, const char *word, char *buf, size_t len)
{
	snprintf(buf, len, "%ld %s%s", n, word, n == 1 ? "" : "s");
	return buf;
}

const char *fmt_pct(double f, char *buf, size_t len)
{
	if (f < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.0f %%", 100 * f);
	return buf;
}
