// SPDX-License-Identifier: GPL-2.0
/* The unit tier's runner: every TEST of the binary, or the ones named on the command line. */
#include <stdlib.h>

#include "check.h"

int unit_failures;

extern const struct unit_test __start_unit_tests[], __stop_unit_tests[];

char *unit_capture(void (*fn)(FILE *out, void *ctx), void *ctx)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fn(f, ctx);
	fclose(f);
	return buf;
}

const char *unit_data_dir(void)
{
	const char *d = getenv("MEMSTUDY_UNIT_DATA");

	return d ? d : UNIT_DATA_DIR;
}

int main(int argc, char **argv)
{
	int ran = 0;

	for (const struct unit_test *t = __start_unit_tests; t < __stop_unit_tests; t++) {
		int before = unit_failures, want = argc < 2;

		for (int i = 1; i < argc; i++)
			want |= !strcmp(argv[i], t->name);
		if (!want)
			continue;
		t->fn();
		ran++;
		printf("%s %s\n", unit_failures == before ? "ok  " : "FAIL", t->name);
	}
	if (!ran) {
		fprintf(stderr, "no test named %s\n", argc > 1 ? argv[1] : "(any)");
		return 2;
	}
	return unit_failures ? 1 : 0;
}
