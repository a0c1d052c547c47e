// SPDX-License-Identifier: GPL-2.0
/*
 * memstudy study: report.html, the page beside report.md - the markdown it wrote, with its
 * figures embedded (base64 PNGs), drawn by web/study.js with its tables sortable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "lib/encode.h"
#include "lib/util.h"
#include "output/html.h"
#include "study/study.h"

#define FILE_MAX (64u << 20) /* a figure or report.md larger than this is not embedded */

/* NAME in the study's directory, whole; NULL after a warning. */
static char *read_at(struct study *s, const char *name, size_t *len)
{
	int fd = openat(s->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t n = 0;

	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || (size_t)st.st_size > FILE_MAX) {
		ms_warn("report.html: %s/%s: %s", s->dir, name,
			fd < 0 ? strerror(errno) : "not a regular file of at most 64 MiB");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = xrealloc(NULL, st.st_size + 1);
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, st.st_size - n);

		if (r <= 0)
			break;
		n += r;
	}
	close(fd);
	buf[n] = 0;
	*len = n;
	return buf;
}

/* "data:image/png;base64,..." of the LEN bytes at D. */
static char *png_data_url(const unsigned char *d, size_t len)
{
	char *url = NULL;
	size_t n = 0;
	struct base64 b = {.out = open_memstream(&url, &n)};

	if (!b.out)
		return xstrdup("");
	fputs("data:image/png;base64,", b.out);
	base64_put(&b, d, len);
	base64_end(&b);
	fclose(b.out);
	return url;
}

void write_report_html(struct study *s, const char *plots, const char *plot_err)
{
	json_object *data = json_object_new_object(), *images = json_object_new_object(),
		    *src = json_object_new_object();
	char p[256], *save = NULL, *t, *md;
	size_t len;
	FILE *f;

	md = read_at(s, "report.md", &len);
	if (!md) {
		json_object_put(data);
		json_object_put(images);
		json_object_put(src);
		return;
	}
	snprintf(p, sizeof(p), "%s", plots);
	for (t = strtok_r(p, " ", &save); t && !(plot_err && *plot_err);
	     t = strtok_r(NULL, " ", &save)) {
		size_t n;
		char *png = read_at(s, t, &n);

		if (!png)
			continue;
		char *url = png_data_url((unsigned char *)png, n);

		json_object_object_add(images, t, json_object_new_string(url));
		free(url);
		free(png);
	}
	json_object_object_add(src, "dir", json_object_new_string(s->dir));
	json_object_object_add(data, "page", json_object_new_string("study"));
	json_object_object_add(data, "source", src);
	json_object_object_add(data, "markdown", json_object_new_string_len(md, (int)len));
	json_object_object_add(data, "images", images);
	free(md);
	f = open_out(s, "report.html");
	if (f) {
		html_page__put(f, HTML_STUDY, "memstudy study", data);
		close_out(s, f, "report.html");
	}
	json_object_put(data);
}
