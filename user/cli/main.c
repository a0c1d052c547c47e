// SPDX-License-Identifier: GPL-2.0
/* memstudy entry point: dispatch to a subcommand from the table below. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "lib/outfile.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
};

/* Their summaries are in their pages (memstudy CMD --help). */
static const struct command commands[] = {
    {"run", cmd_run},	{"record", cmd_record}, {"report", cmd_report},
    {"maps", cmd_maps}, {"study", cmd_study},	{NULL, NULL},
};

static int dispatch(int argc, char **argv)
{
	const struct command *c;

	if (argc > 1 && argv[1][0] != '-') {
		for (c = commands; c->name; c++)
			if (!strcmp(argv[1], c->name))
				return c->fn(argc - 1, argv + 1);
		fprintf(stderr, "memstudy: unknown command '%s'; see 'memstudy --help'\n", argv[1]);
		return 2;
	}
	/* No subcommand: attach to a running process (--pid), or --help. */
	return cmd_trace(argc, argv);
}

int main(int argc, char **argv)
{
	int rc = dispatch(argc, argv);

	/* What went to stdout (tables, --dry-run, --help) reached it, or we say so. */
	if (out_close(stdout, "-") && !rc)
		rc = 1;
	return rc;
}
