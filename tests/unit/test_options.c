// SPDX-License-Identifier: GPL-2.0
/* cli/options: a command line against a table. */
#include <stdlib.h>

#include "check.h"
#include "cli/options.h"

enum { O_SEC = 1, O_N, O_FLAG, O_MODE, O_LIST, O_SIZES, O_OPT, O_NEXT };

static const char *const modes[] = {"all", "uprobes", NULL};
static const char *const orders[] = {"fwd", "rev", "random", NULL};

static bool next_is_file(const char *w)
{
	return w[0] != '-' && strcmp(w, "123");
}

static const struct opt table[] = {
    {O_SEC, "duration", 'd', OPT_REAL, "SEC", "seconds", 0.001, 100, "seconds"},
    {O_N, "top", 't', OPT_WHOLE, "N", "count", 1, 4096},
    {O_FLAG, "verbose", 'v', OPT_FLAG, NULL, "more"},
    {O_MODE, "floor", 0, OPT_OPTIONAL, "uprobes", "optional", .choices = modes},
    {O_LIST, "orders", 0, OPT_CHOICE_LIST, "LIST", "orders", .choices = orders},
    {O_SIZES, "sizes", 0, OPT_BYTES_LIST, "LIST", "sizes", 1, 1 << 30},
    {O_OPT, "ring", 0, OPT_POW2, "MB", "pow2", 1, 1024},
    {O_NEXT, "json", 0, OPT_OPTIONAL_NEXT, "FILE", "next", .accept = next_is_file},
    {0},
};

static const struct cmd_doc doc = {
    .name = "memstudy unit",
    .summary = "a table for tests",
    .synopsis = "memstudy unit [options] ARGS",
    .opts = table,
};

struct seen {
	double sec, n, ring;
	int flags, mode, nsizes;
	unsigned int orders;
	const char *json;
	bool json_seen;
};

static int on_opt(void *ctx, const struct opt *o, const struct opt_value *v)
{
	struct seen *s = ctx;

	switch (o->id) {
	case O_SEC:
		s->sec = v->num;
		break;
	case O_N:
		s->n = v->num;
		break;
	case O_FLAG:
		s->flags++;
		break;
	case O_MODE:
		s->mode = v->choice;
		break;
	case O_LIST:
		s->orders = v->choice_mask;
		break;
	case O_SIZES:
		s->nsizes = v->nlist;
		break;
	case O_OPT:
		s->ring = v->num;
		break;
	case O_NEXT:
		s->json = v->text;
		s->json_seen = true;
		break;
	}
	return 0;
}

/* Parse the words in LINE (space-separated); returns the code, ARGS in *ARGS. */
static int parse(const char *line, enum opt_mode mode, struct seen *s, char ***args, int *nargs)
{
	static char buf[512];
	char *argv[32];
	int argc = 0;

	memset(s, 0, sizeof(*s));
	s->mode = -2;
	snprintf(buf, sizeof(buf), "unit %s", line);
	for (char *t = strtok(buf, " "); t && argc < 31; t = strtok(NULL, " "))
		argv[argc++] = t;
	argv[argc] = NULL;
	return opt_parse(&doc, argc, argv, mode, on_opt, s, args, nargs);
}

TEST(values_and_bundles)
{
	struct seen s;
	char **args;
	int n;

	CHECK_U64(parse("-d 1.5 --top=12 -vv -t3 x y", OPT_STOP_AT_ARG, &s, &args, &n), 0);
	CHECK_DBL(s.sec, 1.5, 0);
	CHECK_DBL(s.n, 3, 0); /* the last one wins */
	CHECK_U64(s.flags, 2);
	CHECK_U64(n, 2);
	CHECK_STR(args[0], "x");
	free(args);
}

TEST(stop_at_the_command)
{
	struct seen s;
	char **args;
	int n;

	/* run -- CMD: what follows the command is the command's */
	CHECK_U64(parse("-v -- prog -d nan", OPT_STOP_AT_ARG, &s, &args, &n), 0);
	CHECK_U64(n, 3);
	CHECK_STR(args[0], "prog");
	CHECK_STR(args[1], "-d");
	free(args);
	CHECK_U64(parse("-v prog -d 5", OPT_STOP_AT_ARG, &s, &args, &n), 0);
	CHECK_U64(n, 3);
	CHECK_DBL(s.sec, 0, 0);
	free(args);
	/* permuted: options after arguments count */
	CHECK_U64(parse("1234 -d 5", OPT_PERMUTE, &s, &args, &n), 0);
	CHECK_U64(n, 1);
	CHECK_DBL(s.sec, 5, 0);
	free(args);
}

TEST(ranges_are_enforced)
{
	static const char *const bad[] = {"-d nan",
					  "-d inf",
					  "-d 0",
					  "-d 101",
					  "--top 0",
					  "--top 1.5",
					  "--top 5000",
					  "--ring 3",
					  "--ring 2048",
					  "--sizes 64,,1",
					  "--sizes 1.5",
					  "--orders fwd,up",
					  "-d",
					  "--bogus",
					  "-x",
					  "--verbose=1",
					  "--floor=everything"};
	struct seen s;
	char **args;
	int n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(bad[i], OPT_STOP_AT_ARG, &s, &args, &n);

		if (rc != 2)
			FAIL_AT("'%s' gave %d, expected a usage error", bad[i], rc);
	}
}

TEST(optional_values)
{
	struct seen s;
	char **args;
	int n;

	CHECK_U64(parse("--floor", OPT_PERMUTE, &s, &args, &n), 0);
	CHECK_U64(s.mode, -1); /* no value: the default choice */
	free(args);
	CHECK_U64(parse("--floor=uprobes", OPT_PERMUTE, &s, &args, &n), 0);
	CHECK_U64(s.mode, 1);
	free(args);
	CHECK_U64(parse("--json out.json", OPT_PERMUTE, &s, &args, &n), 0);
	CHECK_STR(s.json, "out.json");
	CHECK_U64(n, 0);
	free(args);
	/* a word the option does not take stays an argument */
	CHECK_U64(parse("--json 123", OPT_PERMUTE, &s, &args, &n), 0);
	CHECK(s.json_seen && !s.json);
	CHECK_U64(n, 1);
	CHECK_STR(args[0], "123");
	free(args);
}

TEST(lists)
{
	struct seen s;
	char **args;
	int n;

	CHECK_U64(parse("--orders rev,random --sizes 64,1K,200000", OPT_PERMUTE, &s, &args, &n), 0);
	CHECK_U64(s.orders, 6);
	CHECK_U64(s.nsizes, 3);
	free(args);
}

static void help(FILE *out, void *ctx)
{
	opt_print_help(&doc, out);
}

static void man(FILE *out, void *ctx)
{
	opt_print_man(&doc, out);
}

TEST(help_and_man_come_from_the_table)
{
	char *h = unit_capture(help, NULL), *m = unit_capture(man, NULL);

	CHECK_CONTAINS(h, "Usage: memstudy unit [options] ARGS");
	CHECK_CONTAINS(h, "  -d, --duration SEC   seconds");
	CHECK_CONTAINS(h, "      --floor[=uprobes]");
	CHECK_CONTAINS(h, "      --json [FILE]");
	CHECK_CONTAINS(m, ".TH MEMSTUDY-UNIT 1");
	CHECK_CONTAINS(m, "memstudy\\-unit \\- a table for tests");
	CHECK_CONTAINS(m, ".B \\-d, \\-\\-duration \\fISEC\\fR");
	free(h);
	free(m);
}
