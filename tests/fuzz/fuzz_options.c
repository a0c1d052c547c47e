// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: command lines against every command's option table (cli/options.c),
 * and the number parsers they use (lib/parse.c). The input is argv, NUL-separated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "lib/parse.h"

static int ignore(void *ctx, const struct opt *o, const struct opt_value *v)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cmd_doc *const docs[] = {&trace_doc, &run_doc, &maps_doc, &study_doc};
	char *copy = malloc(size + 1), *argv[34], **args, buf[256], *items[16];
	int argc = 1, nargs;
	double v;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[0] = "memstudy";
	for (size_t i = 0; i < size && argc < 33;) {
		argv[argc++] = copy + i;
		i += strlen(copy + i) + 1;
	}
	argv[argc] = NULL;
	for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
		/* --help and --man print: keep the fuzzer's output readable */
		if (!memmem(data, size, "-h", 2) && !memmem(data, size, "--man", 5) &&
		    opt_parse(docs[d], argc, argv, d & 1 ? OPT_STOP_AT_ARG : OPT_PERMUTE, ignore,
			      NULL, &args, &nargs) == 0)
			free(args);
	}
	parse_real(copy, &v);
	parse_whole(copy, &v);
	parse_bytes(copy, &v);
	parse_list(copy, buf, sizeof(buf), items, 16);
	free(copy);
	return 0;
}
