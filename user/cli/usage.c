// SPDX-License-Identifier: GPL-2.0
/* --help and the man pages, both made from a command's table (options.h). */
#include <string.h>
#include <time.h>

#include "cli/options.h"
#include "version.h"

#define HELP_COL 23 /* where an option's help starts */

/* "  -d, --duration SEC", "      --dry-run" */
static int opt_head(const struct opt *o, char *buf, size_t len)
{
	int n;

	if (o->short_name)
		n = snprintf(buf, len, "  -%c%s", o->short_name, o->name ? "," : "");
	else
		n = snprintf(buf, len, "     ");
	if (o->name)
		n += snprintf(buf + n, len - n, " --%s", o->name);
	if (o->type == OPT_OPTIONAL && o->arg)
		n += snprintf(buf + n, len - n, "[=%s]", o->arg);
	else if (o->type == OPT_OPTIONAL_NEXT && o->arg)
		n += snprintf(buf + n, len - n, " [%s]", o->arg);
	else if (o->arg)
		n += snprintf(buf + n, len - n, " %s", o->arg);
	return n;
}

/* Print TEXT's lines, each indented by IND spaces. */
static void indented(FILE *out, const char *text, int ind)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		fprintf(out, "%*s%.*s\n", len ? ind : 0, "", len, p);
		p += len + (nl ? 1 : 0);
	}
}

void opt_print_help(const struct cmd_doc *d, FILE *out)
{
	const char *p;
	char head[128];
	bool first = true;

	for (p = d->synopsis; *p;) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		fprintf(out, "%s%.*s\n", first ? "Usage: " : "       ", len, p);
		first = false;
		p += len + (nl ? 1 : 0);
	}
	if (d->description) {
		fputc('\n', out);
		indented(out, d->description, 0);
	}
	fprintf(out, "\nOptions:\n");
	for (const struct opt *o = d->opts; o->id; o++) {
		int n;

		if (o->hidden)
			continue;
		n = opt_head(o, head, sizeof(head));
		fputs(head, out);
		for (p = o->help; *p;) {
			const char *nl = strchr(p, '\n');
			int len = nl ? (int)(nl - p) : (int)strlen(p);

			if (n >= HELP_COL) {
				fputc('\n', out);
				n = 0;
			}
			fprintf(out, "%*s%.*s\n", HELP_COL - n, "", len, p);
			n = 0;
			p += len + (nl ? 1 : 0);
		}
	}
	fprintf(out, "  -h, --help           this help (--man: the same as a man page)\n");
	if (d->examples) {
		fprintf(out, "\nExamples:\n");
		for (p = d->examples; *p;) {
			const char *nl = strchr(p, '\n'), *tab;
			int len = nl ? (int)(nl - p) : (int)strlen(p);

			tab = memchr(p, '\t', len);
			if (tab)
				fprintf(out, "  %-44.*s %.*s\n", (int)(tab - p), p,
					(int)(len - (tab - p) - 1), tab + 1);
			else
				fprintf(out, "  %.*s\n", len, p);
			p += len + (nl ? 1 : 0);
		}
	}
	if (d->notes) {
		fprintf(out, "\nNotes:\n");
		indented(out, d->notes, 2);
	}
	if (d->exit_status) {
		fprintf(out, "\nExit status:\n");
		indented(out, d->exit_status, 2);
	}
}

/* Text for roff: backslashes doubled, a line never starting with '.' or '\''. */
static void roff_text(FILE *out, const char *s, int len, bool dashes)
{
	for (int i = 0; i < len; i++) {
		char c = s[i];

		if ((i == 0 || s[i - 1] == '\n') && (c == '.' || c == '\''))
			fputs("\\&", out);
		if (c == '\\')
			fputs("\\e", out);
		else if (c == '-' && dashes)
			fputs("\\-", out);
		else
			fputc(c, out);
	}
}

/* Paragraphs (blank-line separated) as .PP blocks, lines kept as written. */
static void roff_paragraphs(FILE *out, const char *text)
{
	const char *p = text;

	fputs(".PP\n", out);
	while (*p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		if (!len) {
			fputs(".PP\n", out);
		} else {
			const char *s = p;
			int l = len;

			while (l && *s == ' ') { /* indentation: keep it out of filling */
				s++;
				l--;
			}
			if (s != p)
				fputs(".br\n", out);
			roff_text(out, s, l, true);
			fputc('\n', out);
			if (s != p)
				fputs(".br\n", out);
		}
		p += len + (nl ? 1 : 0);
	}
}

void opt_print_man(const struct cmd_doc *d, FILE *out)
{
	char upper[64], page[64];
	const char *p;
	size_t i;

	snprintf(page, sizeof(page), "%s", d->name);
	for (i = 0; page[i]; i++)
		if (page[i] == ' ')
			page[i] = '-';
	for (i = 0; page[i] && i < sizeof(upper) - 1; i++)
		upper[i] = page[i] >= 'a' && page[i] <= 'z' ? page[i] - 32 : page[i];
	upper[i] = '\0';
	fprintf(out, ".TH %s 1 \"%s\" \"memstudy %s\" \"memstudy manual\"\n", upper, MEMSTUDY_DATE,
		MEMSTUDY_VERSION);
	fprintf(out, ".SH NAME\n");
	roff_text(out, page, strlen(page), true);
	fprintf(out, " \\- ");
	roff_text(out, d->summary, strlen(d->summary), false);
	fprintf(out, "\n.SH SYNOPSIS\n.nf\n");
	roff_text(out, d->synopsis, strlen(d->synopsis), true);
	fprintf(out, "\n.fi\n");
	if (d->description) {
		fprintf(out, ".SH DESCRIPTION\n");
		roff_paragraphs(out, d->description);
	}
	fprintf(out, ".SH OPTIONS\n");
	for (const struct opt *o = d->opts; o->id; o++) {
		if (o->hidden)
			continue;
		fprintf(out, ".TP\n.B ");
		if (o->short_name)
			fprintf(out, "\\-%c%s", o->short_name, o->name ? ", " : "");
		if (o->name) {
			fputs("\\-\\-", out);
			roff_text(out, o->name, strlen(o->name), true);
		}
		if (o->arg)
			fprintf(out,
				o->type == OPT_OPTIONAL	       ? "[=\\fI%s\\fR]"
				: o->type == OPT_OPTIONAL_NEXT ? " [\\fI%s\\fR]"
							       : " \\fI%s\\fR",
				o->arg);
		fputc('\n', out);
		for (p = o->help; *p;) {
			const char *nl = strchr(p, '\n');
			int len = nl ? (int)(nl - p) : (int)strlen(p);

			roff_text(out, p, len, true);
			fputc('\n', out);
			p += len + (nl ? 1 : 0);
		}
	}
	fprintf(out, ".TP\n.B \\-h, \\-\\-help\nthis help; \\-\\-man prints it as this page\n");
	if (d->examples) {
		fprintf(out, ".SH EXAMPLES\n");
		for (p = d->examples; *p;) {
			const char *nl = strchr(p, '\n'), *tab;
			int len = nl ? (int)(nl - p) : (int)strlen(p);

			tab = memchr(p, '\t', len);
			fprintf(out, ".TP\n.B ");
			roff_text(out, p, tab ? (int)(tab - p) : len, true);
			fputc('\n', out);
			if (tab)
				roff_text(out, tab + 1, (int)(len - (tab - p) - 1), true);
			fputc('\n', out);
			p += len + (nl ? 1 : 0);
		}
	}
	if (d->notes) {
		fprintf(out, ".SH NOTES\n");
		roff_paragraphs(out, d->notes);
	}
	if (d->exit_status) {
		fprintf(out, ".SH EXIT STATUS\n");
		roff_paragraphs(out, d->exit_status);
	}
	fprintf(out, ".SH SEE ALSO\n");
	roff_text(out, d->see_also ? d->see_also : "memstudy(1)",
		  strlen(d->see_also ? d->see_also : "memstudy(1)"), true);
	fputc('\n', out);
}
