// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/parse.h"

#define EXACT_LIMIT 9007199254740992.0 /* 2^53 */

/* strtod on S; END is where the number stopped. */
static bool real_prefix(const char *s, double *out, char **end)
{
	if (!s || !*s || isspace((unsigned char)*s))
		return false;
	errno = 0;
	*out = strtod(s, end);
	return *end != s && !errno && isfinite(*out);
}

bool parse_real(const char *s, double *out)
{
	char *end;
	double v;

	if (!real_prefix(s, &v, &end) || *end)
		return false;
	*out = v;
	return true;
}

bool parse_whole(const char *s, double *out)
{
	double v;

	if (!parse_real(s, &v) || v != floor(v) || fabs(v) >= EXACT_LIMIT)
		return false;
	*out = v;
	return true;
}

bool parse_bytes(const char *s, double *out)
{
	static const char units[] = "kmgt";
	const char *u;
	char *end;
	double v;

	if (!real_prefix(s, &v, &end))
		return false;
	if (*end && (u = strchr(units, tolower((unsigned char)*end)))) {
		v = ldexp(v, 10 * (int)(u - units + 1));
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'b' || *end == 'B')
			end++;
	} else if (*end == 'b' || *end == 'B') {
		end++;
	}
	if (*end || v != floor(v) || fabs(v) >= EXACT_LIMIT)
		return false;
	*out = v;
	return true;
}

bool is_pow2(double v)
{
	int e;

	return v >= 1 && v < EXACT_LIMIT && frexp(v, &e) == 0.5;
}

int parse_list(const char *list, char *buf, size_t len, char **items, int max)
{
	size_t n = list ? strlen(list) : 0;
	int count = 0;
	char *p;

	if (!n || n >= len)
		return -1;
	memcpy(buf, list, n + 1);
	for (p = buf;;) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = '\0';
		if (!*p || count == max)
			return -1;
		items[count++] = p;
		if (!comma)
			break;
		p = comma + 1;
	}
	return count;
}
