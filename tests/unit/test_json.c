// SPDX-License-Identifier: GPL-2.0
/* lib/json: documents read back (size limits, where a broken one breaks), dotted paths. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "lib/json.h"

static char *temp_file(const char *text)
{
	char *path = strdup("/tmp/unit-json.XXXXXX");
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	return path;
}

TEST(reads_and_walks_paths)
{
	char why[256], *p = temp_file("{\"a\": {\"b\": 2.5, \"h\": \"0x10\", \"s\": \"x\"}}");
	json_object *j = json_read_file(p, 1024, why, sizeof(why));

	CHECK(j != NULL);
	CHECK_DBL(json_path_num(j, "a.b"), 2.5, 0);
	CHECK_U64(json_path_hex(j, "a.h"), 16);
	CHECK_STR(json_path_str(j, "a.s"), "x");
	CHECK_STR(json_path_str(j, "a.missing"), "");
	CHECK(json_path(j, "a.b.c") == NULL);
	json_object_put(j);
	unlink(p);
	free(p);
}

TEST(says_where_a_document_breaks)
{
	char why[256], *p = temp_file("{\"mappings\": [1, 2");
	json_object *j = json_read_file(p, 1024, why, sizeof(why));

	CHECK(j == NULL);
	CHECK_CONTAINS(why, "not JSON");
	CHECK_CONTAINS(why, "ends before the document does");
	unlink(p);
	free(p);
	p = temp_file("{\"a\": 1} trailing");
	CHECK(json_read_file(p, 1024, why, sizeof(why)) == NULL);
	CHECK_CONTAINS(why, "text after the document");
	unlink(p);
	free(p);
	p = temp_file("{\"a\": @}");
	CHECK(json_read_file(p, 1024, why, sizeof(why)) == NULL);
	CHECK_CONTAINS(why, "at byte 6");
	unlink(p);
	free(p);
}

TEST(refuses_what_is_too_big)
{
	char why[256], *p = temp_file("[1, 2, 3, 4, 5, 6, 7, 8, 9]");

	CHECK(json_read_file(p, 8, why, sizeof(why)) == NULL);
	CHECK_CONTAINS(why, "more than the");
	CHECK(json_read_file("/nonexistent/x.json", 8, why, sizeof(why)) == NULL);
	CHECK_CONTAINS(why, "No such file or directory");
	unlink(p);
	free(p);
}
