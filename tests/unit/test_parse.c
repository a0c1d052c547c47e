// SPDX-License-Identifier: GPL-2.0
/* lib/parse: numbers from the command line, strictly. */
#include "check.h"
#include "lib/parse.h"

TEST(real_accepts_numbers_only)
{
	double v = 0;

	CHECK(parse_real("12", &v) && v == 12);
	CHECK(parse_real("1.5", &v) && v == 1.5);
	CHECK(parse_real("1e6", &v) && v == 1e6);
	CHECK(parse_real("-3", &v) && v == -3);
	CHECK(!parse_real("nan", &v));
	CHECK(!parse_real("NAN", &v));
	CHECK(!parse_real("inf", &v));
	CHECK(!parse_real("-infinity", &v));
	CHECK(!parse_real("1e999", &v)); /* overflows to inf */
	CHECK(!parse_real("", &v));
	CHECK(!parse_real(" 1", &v));
	CHECK(!parse_real("1 ", &v));
	CHECK(!parse_real("5s", &v));
	CHECK(!parse_real(NULL, &v));
}

TEST(whole_numbers)
{
	double v = 0;

	CHECK(parse_whole("1e6", &v) && v == 1000000);
	CHECK(parse_whole("4096", &v) && v == 4096);
	CHECK(!parse_whole("1.5", &v));
	CHECK(!parse_whole("1e30", &v)); /* past 2^53: not exact */
	CHECK(parse_whole("-2", &v) && v == -2);
}

TEST(bytes_with_suffixes)
{
	double v = 0;

	CHECK(parse_bytes("4096", &v) && v == 4096);
	CHECK(parse_bytes("64K", &v) && v == 65536);
	CHECK(parse_bytes("64k", &v) && v == 65536);
	CHECK(parse_bytes("1.5M", &v) && v == 1572864);
	CHECK(parse_bytes("2GiB", &v) && v == 2147483648.0);
	CHECK(parse_bytes("1T", &v) && v == 1099511627776.0);
	CHECK(parse_bytes("100B", &v) && v == 100);
	CHECK(!parse_bytes("1.5", &v)); /* half a byte */
	CHECK(!parse_bytes("nan", &v));
	CHECK(!parse_bytes("12Q", &v));
	CHECK(!parse_bytes("12KK", &v));
	CHECK(!parse_bytes("", &v));
}

TEST(powers_of_two)
{
	CHECK(is_pow2(1) && is_pow2(2) && is_pow2(1024) && is_pow2(65536));
	CHECK(!is_pow2(0) && !is_pow2(3) && !is_pow2(1.5) && !is_pow2(-4) && !is_pow2(1536));
}

TEST(lists_refuse_empty_items)
{
	char buf[64], *items[4];

	CHECK_U64(parse_list("64,1040,200000", buf, sizeof(buf), items, 4), 3);
	CHECK_STR(items[0], "64");
	CHECK_STR(items[2], "200000");
	CHECK_U64(parse_list("one", buf, sizeof(buf), items, 4), 1);
	CHECK(parse_list("64,,1040", buf, sizeof(buf), items, 4) < 0);
	CHECK(parse_list(",64", buf, sizeof(buf), items, 4) < 0);
	CHECK(parse_list("64,", buf, sizeof(buf), items, 4) < 0);
	CHECK(parse_list("", buf, sizeof(buf), items, 4) < 0);
	CHECK(parse_list("a,b,c,d,e", buf, sizeof(buf), items, 4) < 0); /* more than 4 */
}
