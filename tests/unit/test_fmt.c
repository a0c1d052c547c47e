// SPDX-License-Identifier: GPL-2.0
/* lib/fmt: how reports quote numbers. */
#include <math.h>

#include "check.h"
#include "lib/fmt.h"

TEST(times)
{
	char b[32];

	CHECK_STR(fmt_ns(b, sizeof(b), 812), "812 ns");
	CHECK_STR(fmt_ns(b, sizeof(b), 12345), "12.3 us");
	CHECK_STR(fmt_ns(b, sizeof(b), 4.5e6), "4.5 ms");
	CHECK_STR(fmt_ns(b, sizeof(b), 1.344e9), "1.34 s");
	CHECK_STR(fmt_ns(b, sizeof(b), -1), "-");
	CHECK_STR(fmt_ns(b, sizeof(b), NAN), "-");
	CHECK_STR(fmt_secs(b, sizeof(b), 0.0025), "2.5 ms");
}

TEST(bytes_percent_plurals)
{
	char b[32];

	CHECK_STR(fmt_bytes(b, sizeof(b), 512), "512 B");
	CHECK_STR(fmt_bytes(b, sizeof(b), 1536), "1.5 KiB");
	CHECK_STR(fmt_bytes(b, sizeof(b), 104000000), "99.2 MiB");
	CHECK_STR(fmt_pct(b, sizeof(b), 0.37), "37 %");
	CHECK_STR(fmt_pct(b, sizeof(b), -1), "-");
	CHECK_STR(fmt_plural(b, sizeof(b), 1, "munmap"), "1 munmap");
	CHECK_STR(fmt_plural(b, sizeof(b), 2, "munmap"), "2 munmaps");
	CHECK_STR(fmt_plural(b, sizeof(b), 0, "free"), "0 frees");
}
