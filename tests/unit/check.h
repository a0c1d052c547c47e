/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The unit tier's harness: TEST(name) { ... CHECK...; } in any tests/unit/test_*.c. Each
 * TEST is one ctest test (tests/unit/CMakeLists.txt finds them), run as
 * "unit-FILE NAME"; with no name a binary runs all of its tests. No root, no BPF.
 */
#ifndef MEMSTUDY_UNIT_CHECK_H
#define MEMSTUDY_UNIT_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
};

extern int unit_failures;

#define TEST(name)                                                                                 \
	static void name(void);                                                                    \
	static const struct unit_test unit_##name                                                  \
	    __attribute__((used, section("unit_tests"), aligned(sizeof(void *)))) = {#name, name}; \
	static void name(void)

#define FAIL_AT(...)                                                                               \
	do {                                                                                       \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                    \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fputc('\n', stderr);                                                               \
		unit_failures++;                                                                   \
	} while (0)

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			FAIL_AT("CHECK(%s) failed", #cond);                                        \
	} while (0)

#define CHECK_U64(a, b)                                                                            \
	do {                                                                                       \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                   \
		if (a_ != b_)                                                                      \
			FAIL_AT("%s == %" PRIu64 ", expected %s == %" PRIu64, #a, a_, #b, b_);     \
	} while (0)

#define CHECK_DBL(a, b, eps)                                                                       \
	do {                                                                                       \
		double a_ = (a), b_ = (b);                                                         \
		if (!(a_ - b_ <= (eps) && b_ - a_ <= (eps)))                                       \
			FAIL_AT("%s == %.9g, expected %.9g", #a, a_, b_);                          \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (!a_ || !b_ || strcmp(a_, b_))                                                  \
			FAIL_AT("%s == \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)",           \
				b_ ? b_ : "(null)");                                               \
	} while (0)

#define CHECK_CONTAINS(hay, needle)                                                                \
	do {                                                                                       \
		const char *h_ = (hay), *n_ = (needle);                                            \
		if (!h_ || !strstr(h_, n_))                                                        \
			FAIL_AT("%s does not contain \"%s\": \"%s\"", #hay, n_,                    \
				h_ ? h_ : "(null)");                                               \
	} while (0)

/* What FN printed on a FILE, as a string (malloc'ed). */
char *unit_capture(void (*fn)(FILE *out, void *ctx), void *ctx);
/* The directory of the source tree's tests/unit (golden files). */
const char *unit_data_dir(void);

#endif
