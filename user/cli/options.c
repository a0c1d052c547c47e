// SPDX-License-Identifier: GPL-2.0
/* Parsing a command line against an option table (options.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"
#include "lib/outfile.h"
#include "lib/parse.h"
#include "lib/util.h"

int opt_usage_error(const struct cmd_doc *d, const char *fmt, ...)
{
	va_list ap;

	fputs("memstudy: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; see '%s --help'\n", d->name);
	return 2;
}

/* "-d/--duration" as the user may have typed it */
static const char *opt_shown(const struct opt *o, char *buf, size_t len)
{
	if (o->short_name && o->name)
		snprintf(buf, len, "-%c/--%s", o->short_name, o->name);
	else if (o->name)
		snprintf(buf, len, "--%s", o->name);
	else
		snprintf(buf, len, "-%c", o->short_name);
	return buf;
}

/* "a number from 1 to 4096" for an option's range, in its unit */
static void range_words(const struct opt *o, char *buf, size_t len)
{
	if (o->what) {
		snprintf(buf, len, "%s (a whole number from %.15g to %.15g)", o->what, o->min,
			 o->max);
		return;
	}
	const char *kind = o->type == OPT_REAL	 ? "a number"
			   : o->type == OPT_POW2 ? "a power of two"
			   : o->type == OPT_BYTES || o->type == OPT_BYTES_LIST
			       ? "a whole number of bytes (K, M, G suffixes)"
			       : "a whole number";

	snprintf(buf, len, "%s%s%s from %.15g to %.15g", kind, o->unit ? " of " : "",
		 o->unit ? o->unit : "", o->min, o->max);
}

static int choice_index(const struct opt *o, const char *word)
{
	for (int i = 0; o->choices && o->choices[i]; i++)
		if (!strcmp(o->choices[i], word))
			return i;
	return -1;
}

static void choice_words(const struct opt *o, char *buf, size_t len)
{
	buf[0] = '\0';
	for (int i = 0; o->choices && o->choices[i]; i++)
		appendf(buf, len, "%s'%s'", i ? (o->choices[i + 1] ? ", " : " or ") : "",
			o->choices[i]);
}

/* Check TEXT for O's type into V; 0, or 2 after saying what is accepted. */
static int convert(const struct cmd_doc *d, const struct opt *o, const char *text,
		   struct opt_value *v)
{
	char shown[64], words[256], buf[1024], *items[16];
	double x;
	int n;

	memset(v, 0, sizeof(*v));
	v->text = text;
	v->choice = -1;
	opt_shown(o, shown, sizeof(shown));
	switch (o->type) {
	case OPT_FLAG:
	case OPT_TEXT:
		if (text && !*text)
			return opt_usage_error(d, "%s needs a value", shown);
		return 0;
	case OPT_OUTPUT:
		if (!*text)
			return opt_usage_error(d, "%s needs a file name", shown);
		if (out_path_refused(text, buf, sizeof(buf))) {
			ms_err("refusing to write %s: %s", text, buf);
			return 2;
		}
		return 0;
	case OPT_REAL:
	case OPT_WHOLE:
	case OPT_POW2:
	case OPT_BYTES:
		if (!(o->type == OPT_REAL    ? parse_real(text, &x)
		      : o->type == OPT_BYTES ? parse_bytes(text, &x)
					     : parse_whole(text, &x)) ||
		    x < o->min || x > o->max || (o->type == OPT_POW2 && !is_pow2(x))) {
			range_words(o, words, sizeof(words));
			return opt_usage_error(d, "%s takes %s, got '%s'", shown, words, text);
		}
		v->num = x;
		return 0;
	case OPT_BYTES_LIST:
		n = parse_list(text, buf, sizeof(buf), items, ARRAY_SIZE(v->list));
		if (n < 0)
			return opt_usage_error(d,
					       "%s takes a comma-separated list of at most %zu "
					       "sizes with no empty item, got '%s'",
					       shown, ARRAY_SIZE(v->list), text);
		for (int i = 0; i < n; i++) {
			if (!parse_bytes(items[i], &x) || x < o->min || x > o->max) {
				range_words(o, words, sizeof(words));
				return opt_usage_error(d, "%s: each size is %s, got '%s'", shown,
						       words, items[i]);
			}
			v->list[v->nlist++] = x;
		}
		return 0;
	case OPT_CHOICE:
	case OPT_OPTIONAL:
		if (!text)
			return 0;
		v->choice = choice_index(o, text);
		if (v->choice < 0) {
			choice_words(o, words, sizeof(words));
			return opt_usage_error(d, "%s takes %s, got '%s'", shown, words, text);
		}
		return 0;
	case OPT_CHOICE_LIST:
		n = parse_list(text, buf, sizeof(buf), items, 16);
		for (int i = 0; i < n; i++) {
			int c = choice_index(o, items[i]);

			if (c < 0) {
				n = -1;
				break;
			}
			v->choice_mask |= 1u << c;
		}
		if (n < 0) {
			choice_words(o, words, sizeof(words));
			return opt_usage_error(d,
					       "%s takes a comma-separated list of %s with no "
					       "empty item, got '%s'",
					       shown, words, text);
		}
		return 0;
	case OPT_OPTIONAL_NEXT:
		return 0;
	}
	return 0;
}

static bool takes_value(const struct opt *o)
{
	return o->type != OPT_FLAG && o->type != OPT_OPTIONAL && o->type != OPT_OPTIONAL_NEXT;
}

static const struct opt *find_long(const struct opt *t, const char *name, size_t len)
{
	for (; t->id; t++)
		if (t->name && strlen(t->name) == len && !strncmp(t->name, name, len))
			return t;
	return NULL;
}

static const struct opt *find_short(const struct opt *t, char c)
{
	for (; t->id; t++)
		if (t->short_name == c)
			return t;
	return NULL;
}

static int handle(const struct cmd_doc *d, const struct opt *o, const char *text, opt_handler fn,
		  void *ctx)
{
	struct opt_value v;
	int rc = convert(d, o, text, &v);

	return rc ? rc : fn(ctx, o, &v);
}

int opt_parse(const struct cmd_doc *d, int argc, char **argv, enum opt_mode mode, opt_handler fn,
	      void *ctx, char ***args, int *nargs)
{
	char **rest = calloc(argc + 1, sizeof(*rest));
	int i, n = 0, rc = 0;

	if (!rest)
		return 1;
	for (i = 1; i < argc && !rc; i++) {
		char *a = argv[i];
		const struct opt *o;

		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-' || !a[1]) { /* an argument ("-" alone is one too) */
			if (mode == OPT_STOP_AT_ARG)
				break;
			rest[n++] = a;
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			opt_print_help(d, stdout);
			rc = OPT_EXIT_HELP;
			break;
		}
		if (!strcmp(a, "--man")) {
			opt_print_man(d, stdout);
			rc = OPT_EXIT_HELP;
			break;
		}
		if (a[1] == '-') {
			char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);

			o = find_long(d->opts, a + 2, len);
			if (!o) {
				rc = opt_usage_error(d, "unknown option '%.*s'", (int)len + 2, a);
				break;
			}
			if (eq && !takes_value(o) && o->type != OPT_OPTIONAL) {
				rc = opt_usage_error(d, "--%s takes no value", o->name);
				break;
			}
			if (takes_value(o) && !eq) {
				if (i + 1 >= argc) {
					rc = opt_usage_error(d, "--%s needs a value (%s)", o->name,
							     o->arg ? o->arg : "VALUE");
					break;
				}
				rc = handle(d, o, argv[++i], fn, ctx);
			} else if (o->type == OPT_OPTIONAL_NEXT) {
				bool next = i + 1 < argc && o->accept && o->accept(argv[i + 1]);

				rc = handle(d, o, eq ? eq + 1 : next ? argv[++i] : NULL, fn, ctx);
			} else {
				rc = handle(d, o, eq ? eq + 1 : NULL, fn, ctx);
			}
			continue;
		}
		/* -abc: flags bundled; the first that takes a value takes the rest, or the
		 * next word */
		for (char *p = a + 1; *p && !rc; p++) {
			o = find_short(d->opts, *p);
			if (!o) {
				rc = opt_usage_error(d, "unknown option '-%c'", *p);
				break;
			}
			if (!takes_value(o)) {
				rc = handle(d, o, NULL, fn, ctx);
				continue;
			}
			if (p[1]) {
				rc = handle(d, o, p + 1, fn, ctx);
			} else if (i + 1 < argc) {
				rc = handle(d, o, argv[++i], fn, ctx);
			} else {
				rc = opt_usage_error(d, "option -%c needs a value (%s)", *p,
						     o->arg ? o->arg : "VALUE");
			}
			break;
		}
	}
	for (; !rc && i < argc; i++)
		rest[n++] = argv[i];
	if (rc) {
		free(rest);
		return rc;
	}
	*args = rest;
	*nargs = n;
	return 0;
}
