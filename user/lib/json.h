/* SPDX-License-Identifier: GPL-2.0 */
/* JSON helpers (json-c): reading keys by dotted path, writing a document. */
#ifndef MEMSTUDY_LIB_JSON_H
#define MEMSTUDY_LIB_JSON_H

#include <json-c/json.h>

/* The value at "a.b.c" under O, or NULL. */
json_object *json_path(json_object *o, const char *path);
/* Its number (0 when missing), its hex/decimal string as a number, its string ("" when
 * missing). */
double json_path_num(json_object *o, const char *path);
unsigned long long json_path_hex(json_object *o, const char *path);
const char *json_path_str(json_object *o, const char *path);
/* Write ROOT pretty-printed to PATH ('-' = stdout); 0 or -errno. */
int json_write_file(json_object *root, const char *path);

#endif
