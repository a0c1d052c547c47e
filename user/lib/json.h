/* SPDX-License-Identifier: GPL-2.0 */
/* JSON helpers (json-c): reading keys by dotted path, writing a document. */
#ifndef MEMSTUDY_LIB_JSON_H
#define MEMSTUDY_LIB_JSON_H

#include <stdio.h>

#include <json-c/json.h>

/* The value at "a.b.c" under O, or NULL. */
json_object *json_path(json_object *o, const char *path);
/* Its number (0 when missing), its hex/decimal string as a number, its string ("" when
 * missing). */
double json_path_num(json_object *o, const char *path);
unsigned long long json_path_hex(json_object *o, const char *path);
const char *json_path_str(json_object *o, const char *path);
/* ROOT pretty-printed on F. */
void json_print(json_object *root, FILE *f);
/* Write ROOT pretty-printed to PATH ('-' = stdout) through out_open: 0, or -1 after saying
 * why. */
int json_write_file(json_object *root, const char *path);

/* The JSON document in PATH, at most MAX_BYTES of it; NULL with the reason in WHY ("P: No
 * such file or directory", "P: 300.0 MiB, more than the 64 MiB memstudy reads", "P: not
 * JSON: unexpected character at byte 12"). */
json_object *json_read_file(const char *path, size_t max_bytes, char *why, size_t len);
#define JSON_INPUT_MAX (64u << 20) /* snapshots, plans, reports we read back */

#endif
