// SPDX-License-Identifier: GPL-2.0
#include <math.h>
#include <stdio.h>

#include "lib/fmt.h"

const char *fmt_ns(char *buf, size_t size, double ns)
{
	if (ns < 0 || isnan(ns))
		snprintf(buf, size, "-");
	else if (ns < 1e3)
		snprintf(buf, size, "%.0f ns", ns);
	else if (ns < 1e6)
		snprintf(buf, size, "%.1f us", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, size, "%.1f ms", ns / 1e6);
	else
		snprintf(buf, size, "%.2f s", ns / 1e9);
	return buf;
}

const char *fmt_secs(char *buf, size_t size, double s)
{
	return fmt_ns(buf, size, s * 1e9);
}

const char *fmt_bytes(char *buf, size_t size, double b)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;

	while (b >= 1024 && u < 4) {
		b /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
	return buf;
}

const char *fmt_pct(char *buf, size_t size, double f)
{
	if (f < 0 || isnan(f))
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.0f %%", 100 * f);
	return buf;
}

const char *fmt_plural(char *buf, size_t size, long n, const char *word)
{
	snprintf(buf, size, "%ld %s%s", n, word, n == 1 ? "" : "s");
	return buf;
}
