// SPDX-License-Identifier: GPL-2.0
/* JSON helpers (json-c): reading keys by dotted path, writing a document. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "lib/json.h"
#include "lib/outfile.h"

json_object *json_path(json_object *o, const char *path)
{
	char key[128];
	const char *dot;

	while (o && *path) {
		dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		if (!json_object_object_get_ex(o, key, &o))
			return NULL;
		path += n + (dot ? 1 : 0);
	}
	return o;
}

double json_path_num(json_object *o, const char *path)
{
	json_object *v = json_path(o, path);

	return v ? json_object_get_double(v) : 0;
}

unsigned long long json_path_hex(json_object *o, const char *key)
{
	json_object *v = json_path(o, key);

	return v ? strtoull(json_object_get_string(v), NULL, 0) : 0;
}

const char *json_path_str(json_object *o, const char *key)
{
	json_object *v = json_path(o, key);

	return v && json_object_get_string(v) ? json_object_get_string(v) : "";
}

void json_print(json_object *root, FILE *f)
{
	fputs(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE),
	      f);
	fputc('\n', f);
}

int json_write_file(json_object *root, const char *path)
{
	FILE *f = out_open(path);

	if (!f)
		return -1;
	json_print(root, f);
	return out_close(f, path);
}

json_object *json_read_file(const char *path, size_t max_bytes, char *why, size_t len)
{
	json_tokener *tok = NULL;
	json_object *root = NULL;
	char *buf = NULL;
	struct stat st;
	size_t got = 0, cap;
	FILE *f;

	f = fopen(path, "re");
	if (!f || fstat(fileno(f), &st)) {
		snprintf(why, len, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(why, len, "%s: %s", path, strerror(EISDIR));
		goto out;
	}
	if (S_ISREG(st.st_mode) && (size_t)st.st_size > max_bytes) {
		snprintf(why, len, "%s: %.1f MiB, more than the %.0f MiB memstudy reads", path,
			 st.st_size / 1048576.0, max_bytes / 1048576.0);
		goto out;
	}
	/* a regular file's size (and one byte to see it did not grow), else in steps */
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
	buf = malloc(cap + 1);
	while (buf && got <= max_bytes) {
		size_t n;

		if (got == cap) {
			char *more = cap < max_bytes + 1 ? realloc(buf, 2 * cap + 1) : NULL;

			if (!more)
				break;
			buf = more;
			cap *= 2;
		}
		n = fread(buf + got, 1, cap - got, f);
		if (!n)
			break;
		got += n;
	}
	if (!buf) {
		snprintf(why, len, "%s: %s", path, strerror(ENOMEM));
		goto out;
	}
	if (ferror(f)) {
		snprintf(why, len, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (got > max_bytes) {
		snprintf(why, len, "%s: more than the %.0f MiB memstudy reads", path,
			 max_bytes / 1048576.0);
		goto out;
	}
	tok = json_tokener_new();
	if (tok)
		root = json_tokener_parse_ex(tok, buf, (int)got);
	if (!tok || !root || json_tokener_get_error(tok) != json_tokener_success ||
	    tok->char_offset < (int)got) {
		size_t at = tok ? (size_t)tok->char_offset : 0;

		while (root && at < got && (buf[at] == ' ' || buf[at] == '\n' || buf[at] == '\t'))
			at++;
		if (!root || at < got) {
			snprintf(why, len, "%s: not JSON: %s at byte %zu", path,
				 !tok ? "out of memory"
				 : !root && json_tokener_get_error(tok) == json_tokener_continue
				     ? "it ends before the document does"
				 : !root ? json_tokener_error_desc(json_tokener_get_error(tok))
					 : "text after the document",
				 at);
			json_object_put(root);
			root = NULL;
		}
	}
out:
	if (tok)
		json_tokener_free(tok);
	free(buf);
	if (f)
		fclose(f);
	return root;
}
