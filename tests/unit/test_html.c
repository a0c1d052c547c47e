// SPDX-License-Identifier: GPL-2.0
/* The HTML page's file: its data (gzipped, in base64) cannot end its own script element, its title
 * is text, and the page of the golden recording holds the report's JSON and its timeline as
 * memstudy report --json and --timeline write them. */
#include <stdlib.h>
#include <unistd.h>

#include <json-c/json.h>
#include <zlib.h>

#include "check.h"
#include "cli/commands.h"
#include "lib/json.h"
#include "lib/util.h"
#include "output/html.h"

static const char data_open[] = "<script type=\"application/gzip+base64\" id=\"memstudy-data\">";

/* base64 (no line breaks) back to bytes, in place; their count. */
static size_t unbase64(char *s)
{
	static const char digits[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = 0, bits = 0;
	uint32_t acc = 0;

	for (const char *p = s; *p && *p != '='; p++) {
		const char *d = strchr(digits, *p);

		if (!d)
			continue;
		acc = acc << 6 | (uint32_t)(d - digits);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			s[n++] = (char)(acc >> bits & 0xff);
		}
	}
	return n;
}

/* The page's data element, unpacked and parsed; NULL when it is not there or not JSON. */
static json_object *page_data(const char *page)
{
	const char *at = strstr(page, data_open), *end;
	char *packed, *text = NULL;
	size_t n, cap = 0;
	z_stream z = {0};
	json_object *j = NULL;
	int rc = Z_OK;

	if (!at)
		return NULL;
	at += strlen(data_open);
	end = strstr(at, "</script>");
	if (!end)
		return NULL;
	packed = xasprintf("%.*s", (int)(end - at), at);
	n = unbase64(packed);
	if (inflateInit2(&z, 15 + 16) == Z_OK) {
		z.next_in = (Bytef *)packed;
		z.avail_in = n;
		while (rc == Z_OK) {
			text = xrealloc(text, cap = cap * 2 + 65536);
			z.next_out = (Bytef *)text + z.total_out;
			z.avail_out = cap - z.total_out - 1;
			rc = inflate(&z, Z_NO_FLUSH);
		}
		if (rc == Z_STREAM_END) {
			text[z.total_out] = 0;
			j = json_tokener_parse(text);
		}
		inflateEnd(&z);
	}
	free(text);
	free(packed);
	return j;
}

static size_t occurrences(const char *s, const char *what)
{
	size_t n = 0;

	for (const char *p = strstr(s, what); p; p = strstr(p + 1, what))
		n++;
	return n;
}

TEST(data_cannot_end_its_script)
{
	static const char evil[] = "</script><script>alert(1)</script><!-- </SCRIPT >";
	json_object *data = json_object_new_object(), *back, *v;
	char *page = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&page, &len);

	json_object_object_add(data, "site", json_object_new_string(evil));
	html_page__put(out, HTML_STUDY, "a <b>&\"title'", data);
	fclose(out);
	/* the title is text, in <title> and in the heading */
	CHECK(strstr(page, "<title>a &lt;b&gt;&amp;&quot;title&#39;</title>"));
	CHECK(!strstr(page, "a <b>"));
	/* as many script elements end as begin: none of the data's */
	CHECK_U64(occurrences(page, "</script>"), occurrences(page, "<script"));
	CHECK(!strstr(page, "alert(1)"));
	back = page_data(page);
	CHECK(back && json_object_object_get_ex(back, "site", &v));
	if (back && v)
		CHECK_STR(json_object_get_string(v), evil);
	json_object_put(back);
	json_object_put(data);
	free(page);
}

TEST(recording_page_holds_the_report)
{
	char rec[512], symfs[512], html[] = "/tmp/unit-html.XXXXXX", path[64];
	char *argv[8], *page;
	json_object *data, *rep, *want, *tl, *rows, *last;
	size_t len;
	FILE *f;

	CHECK(mkdtemp(html));
	snprintf(path, sizeof(path), "%s/page.html", html);
	snprintf(rec, sizeof(rec), "%s/data/golden/golden.rec", unit_data_dir());
	snprintf(symfs, sizeof(symfs), "%s/data/golden/symfs", unit_data_dir());
	argv[0] = "report";
	argv[1] = "--symfs";
	argv[2] = symfs;
	argv[3] = "--html";
	argv[4] = path;
	argv[5] = rec;
	argv[6] = NULL;
	CHECK_U64(cmd_report(6, argv), 0);
	f = fopen(path, "re");
	CHECK(f);
	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	page = xrealloc(NULL, len + 1);
	page[fread(page, 1, len, f)] = 0;
	fclose(f);
	data = page_data(page);
	CHECK(data);
	/* the page's report is the report's JSON (data/golden/report.json), key for key */
	snprintf(rec, sizeof(rec), "%s/data/golden/report.json", unit_data_dir());
	want = json_read_file(rec, JSON_INPUT_MAX, symfs, sizeof(symfs));
	rep = json_path(data, "report");
	CHECK(want && rep && json_object_equal(rep, want));
	/* its last timeline point is --timeline's last row (data/golden/timeline.csv) */
	tl = json_path(data, "timeline");
	rows = json_path(tl, "rows");
	CHECK(rows && json_object_array_length(rows) > 0);
	if (rows && json_object_array_length(rows)) {
		char csv_last[256] = "", line[256];

		last = json_object_array_get_idx(rows, json_object_array_length(rows) - 1);
		snprintf(rec, sizeof(rec), "%s/data/golden/timeline.csv", unit_data_dir());
		f = fopen(rec, "re");
		CHECK(f);
		while (f && fgets(line, sizeof(line), f))
			snprintf(csv_last, sizeof(csv_last), "%s", line);
		if (f)
			fclose(f);
		/* t_s,live_bytes,allocator_mapped_bytes,rss_bytes,... */
		CHECK_U64(json_object_get_int64(json_object_array_get_idx(last, 3)),
			  strtoull(strchr(strchr(strchr(csv_last, ',') + 1, ',') + 1, ',') + 1,
				   NULL, 10));
		CHECK_U64(json_object_get_int64(json_object_array_get_idx(last, 1)),
			  strtoull(strchr(csv_last, ',') + 1, NULL, 10));
	}
	/* and the marks: the golden program's 1 MiB block, freed by munmap */
	CHECK(json_object_array_length(json_path(data, "markers")) >= 1);
	json_object_put(want);
	json_object_put(data);
	free(page);
	unlink(path);
	rmdir(html);
}
