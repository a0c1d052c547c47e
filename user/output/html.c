// SPDX-License-Identifier: GPL-2.0
/* The page's file: web/page.html with its title, styles, data and scripts put in. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/encode.h"
#include "lib/outfile.h"
#include "lib/util.h"
#include "output/html.h"
#include "output/html_assets.h"

/* TEXT as HTML text: the five characters that could end it or start markup. */
static void put_escaped(FILE *out, const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		switch (text[i]) {
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '&':
			fputs("&amp;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		default:
			fputc(text[i], out);
		}
	}
}

/* A script's text inside <script>: "</script" in it would end the element early, and in
 * JavaScript "<\/" is the same string. */
static void put_script(FILE *out, struct html_asset a)
{
	fputs("<script>\n", out);
	for (size_t i = 0; i < a.len; i++) {
		if (a.data[i] == '<' && i + 8 <= a.len && !strncasecmp(a.data + i, "</script", 8)) {
			fputs("<\\/", out);
			i++;
			continue;
		}
		fputc(a.data[i], out);
	}
	fputs("\n</script>\n", out);
}

/*
 * The data: its JSON gzipped, in base64, inside <script type="application/gzip+base64">.
 * A real program's page holds thousands of call sites with their source lines: 12 MiB of
 * JSON that the browser took 0.6 s to parse as HTML, where its gzip is a tenth of that and
 * holds no '<' to end the element. web/common.js unpacks it (DecompressionStream).
 */
static void put_data(FILE *out, json_object *data)
{
	size_t len;
	const char *s = json_object_to_json_string_length(
	    data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	struct base64 b = {.out = out};

	if (gzip_stream(s, len, base64_put, &b))
		ms_err("cannot compress the page's data");
	base64_end(&b);
}

struct bundled {
	const char *name; /* package@version, as web/vendor.lock has it */
	struct html_asset license;
};

static void put_licenses(FILE *out, const struct bundled *b, int n)
{
	fputs("<template id=\"licenses\">\n", out);
	for (int i = 0; i < n; i++) {
		fprintf(out, "<h3>%s</h3><pre>", b[i].name);
		put_escaped(out, b[i].license.data, b[i].license.len);
		fputs("</pre>\n", out);
	}
	fputs("</template>\n", out);
}

static void put_css(FILE *out, enum html_kind kind)
{
	struct html_asset css[] = {HTML_ASSET(flamegraph_css), HTML_ASSET(uplot_css),
				   HTML_ASSET(page_css)};
	size_t from = kind == HTML_RECORDING ? 0 : 2;

	for (size_t i = from; i < ARRAY_SIZE(css); i++)
		fwrite(css[i].data, 1, css[i].len, out);
}

static void put_scripts(FILE *out, enum html_kind kind)
{
	const struct bundled libs[] = {
	    {"d3 7.9.0 (ISC license)", HTML_ASSET(d3_license)},
	    {"d3-flame-graph 5.0.0 (Apache License 2.0)", HTML_ASSET(flamegraph_license)},
	    {"uPlot 1.6.32 (MIT license)", HTML_ASSET(uplot_license)},
	};

	if (kind == HTML_RECORDING) {
		put_licenses(out, libs, ARRAY_SIZE(libs));
		put_script(out, HTML_ASSET(d3_js));
		put_script(out, HTML_ASSET(flamegraph_js));
		put_script(out, HTML_ASSET(uplot_js));
	}
	put_script(out, HTML_ASSET(common_js));
	put_script(out, kind == HTML_RECORDING ? HTML_ASSET(report_js) : HTML_ASSET(study_js));
}

void html_page__put(FILE *out, enum html_kind kind, const char *title, json_object *data)
{
	struct html_asset page = HTML_ASSET(page_html);
	const char *p = page.data, *end = page.data + page.len;

	/* the template's @NAME@ marks, each replaced by what it names */
	while (p < end) {
		const char *at = memchr(p, '@', end - p), *close;

		if (!at) {
			fwrite(p, 1, end - p, out);
			break;
		}
		fwrite(p, 1, at - p, out);
		close = memchr(at + 1, '@', end - at - 1);
		if (!close) {
			fwrite(at, 1, end - at, out);
			break;
		}
		if (!strncmp(at, "@TITLE@", 7))
			put_escaped(out, title, strlen(title));
		else if (!strncmp(at, "@CSS@", 5))
			put_css(out, kind);
		else if (!strncmp(at, "@DATA@", 6))
			put_data(out, data);
		else if (!strncmp(at, "@SCRIPTS@", 9))
			put_scripts(out, kind);
		else { /* an @ that marks nothing */
			fputc('@', out);
			p = at + 1;
			continue;
		}
		p = close + 1;
	}
}

int html_page__write(const char *path, enum html_kind kind, const char *title, json_object *data)
{
	FILE *out = out_open(path);

	if (!out)
		return 1;
	html_page__put(out, kind, title, data);
	return out_close(out, path) ? 1 : 0;
}
