/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Command-line options from tables. One table per command says each option's names,
 * value type, accepted range and help; from it come the parsing (every number checked
 * against its range, with a message that gives the range), --help, and the man page
 * (memstudy CMD --man, run at build time into man/memstudy-CMD.1).
 */
#ifndef MEMSTUDY_CLI_OPTIONS_H
#define MEMSTUDY_CLI_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

enum opt_type {
	OPT_FLAG,	   /* no value */
	OPT_TEXT,	   /* any text: a name, a path to read */
	OPT_OUTPUT,	   /* a file to write ('-' = stdout): refused early when unsafe */
	OPT_REAL,	   /* a finite number in [min, max] */
	OPT_WHOLE,	   /* a whole number in [min, max]; 1e6 is accepted */
	OPT_POW2,	   /* a power of two in [min, max] */
	OPT_BYTES,	   /* bytes, K/M/G/T suffixes, whole, in [min, max] */
	OPT_BYTES_LIST,	   /* comma-separated OPT_BYTES */
	OPT_CHOICE,	   /* one of choices */
	OPT_CHOICE_LIST,   /* comma-separated choices */
	OPT_OPTIONAL,	   /* a flag that may take one of choices as --name=VALUE */
	OPT_OPTIONAL_NEXT, /* a flag whose value, when the next word passes accept(), is it */
};

struct opt {
	int id; /* what the parser hands back; 0 ends a table */
	const char *name;
	char short_name;
	enum opt_type type;
	const char *arg; /* the value's placeholder in --help: SEC, FILE, N */
	const char *help;
	double min, max;
	const char *unit; /* in range messages: "seconds" */
	const char *what; /* in messages instead of the type: "a process ID" */
	const char *const *choices;
	bool (*accept)(const char *word); /* OPT_OPTIONAL_NEXT */
	bool hidden;
};

/* A command's documentation and table: --help and the man page are made from it. */
struct cmd_doc {
	const char *name;	 /* "memstudy run"; the man page is memstudy-run.1 */
	const char *summary;	 /* one line, for NAME */
	const char *synopsis;	 /* lines */
	const char *description; /* paragraphs separated by blank lines */
	const struct opt *opts;
	const char *examples; /* "command\twhat it does" lines */
	const char *notes;
	const char *exit_status;
	const char *see_also;
};

/* One value as parsed: the text, and the number for numeric types. */
struct opt_value {
	const char *text;
	double num;
	int choice;		  /* OPT_CHOICE, OPT_OPTIONAL: index in choices, -1 when none */
	unsigned int choice_mask; /* OPT_CHOICE_LIST */
	double list[16];	  /* OPT_BYTES_LIST */
	int nlist;
};

/* Called for each option in command-line order; non-zero stops parsing with that code. */
typedef int (*opt_handler)(void *ctx, const struct opt *o, const struct opt_value *v);

enum opt_mode {
	OPT_STOP_AT_ARG, /* the first word that is not an option ends them (run -- CMD) */
	OPT_PERMUTE,	 /* options and arguments may mix (maps PID --json) */
};

#define OPT_EXIT_HELP (-1) /* --help or --man was printed: exit 0 */

/*
 * Parse ARGV[1..] against D's table. Returns 0 with the arguments that are not options in
 * ARGS (*NARGS of them, pointers into ARGV), OPT_EXIT_HELP after --help / --man, 2 after
 * printing a usage error, or the handler's code.
 */
int opt_parse(const struct cmd_doc *d, int argc, char **argv, enum opt_mode mode, opt_handler fn,
	      void *ctx, char ***args, int *nargs);

/* "memstudy: " and a sentence, then where the help is ("see 'memstudy run --help'"): returns 2. */
int opt_usage_error(const struct cmd_doc *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void opt_print_help(const struct cmd_doc *d, FILE *out);
void opt_print_man(const struct cmd_doc *d, FILE *out);

#endif
