// SPDX-License-Identifier: GPL-2.0
/* JSON helpers (json-c): reading keys by dotted path, writing a document. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/json.h"

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

int json_write_file(json_object *root, const char *path)
{
	const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								    JSON_C_TO_STRING_NOSLASHESCAPE);
	FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
	int err = 0;

	if (!f)
		return -errno;
	fprintf(f, "%s\n", text);
	if (f != stdout && fclose(f))
		err = -errno;
	else if (f == stdout)
		fflush(f);
	return err;
}
