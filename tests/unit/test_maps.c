// SPDX-License-Identifier: GPL-2.0
/*
 * memstudy maps' readers and printers on saved snapshots (data/bigfree-*.json: a process
 * before and after it freed a 4 MiB block, saved with memstudy maps --save). The text
 * outputs are golden files: MEMSTUDY_UPDATE_GOLDEN=1 rewrites them, to be reviewed.
 */
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "lib/json.h"
#include "maps/maps.h"

static struct maps_snapshot *load(const char *name)
{
	char path[512], why[512];
	const char *err = NULL;
	struct maps_snapshot *s;
	json_object *j;

	snprintf(path, sizeof(path), "%s/data/%s", unit_data_dir(), name);
	j = json_read_file(path, JSON_INPUT_MAX, why, sizeof(why));
	if (!j) {
		FAIL_AT("%s", why);
		return NULL;
	}
	s = maps_snapshot__from_json(j, &err);
	json_object_put(j);
	if (!s)
		FAIL_AT("%s: %s", name, err);
	return s;
}

/* OUT equals data/NAME, or becomes it under MEMSTUDY_UPDATE_GOLDEN. */
static void golden(const char *name, const char *out)
{
	char path[512], *want = NULL;
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/data/%s", unit_data_dir(), name);
	if (getenv("MEMSTUDY_UPDATE_GOLDEN")) {
		f = fopen(path, "w");
		CHECK(f && fputs(out, f) >= 0 && !fclose(f));
		return;
	}
	f = fopen(path, "r");
	if (!f) {
		FAIL_AT("no golden file %s", path);
		return;
	}
	if (getdelim(&want, &len, '\0', f) < 0)
		want = strdup("");
	fclose(f);
	if (strcmp(out, want))
		FAIL_AT("output differs from %s:\n%s", path, out);
	free(want);
}

static void utc(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
}

TEST(snapshot_reads_back)
{
	struct maps_snapshot *a = load("bigfree-before.json");
	size_t chunks = 0;

	if (!a)
		return;
	CHECK_U64(a->page_size, 4096);
	CHECK_STR(a->comm, "target-maps_big");
	CHECK(a->nr_maps > 10);
	for (size_t i = 0; i < a->nr_maps; i++) {
		CHECK(a->maps[i].start < a->maps[i].end);
		if (a->maps[i].label == MAPS_L_MMAP_CHUNK) {
			chunks++;
			/* 4 MiB and its header, in a mapping the kernel merged with its
			 * neighbour: the size this snapshot recorded */
			CHECK_U64(a->maps[i].end - a->maps[i].start, 4112 << 10);
			CHECK_U64(a->maps[i].rss_kb, 4108);
		}
	}
	CHECK_U64(chunks, 1);
	maps_snapshot__free(a);
}

TEST(snapshot_round_trip)
{
	struct maps_snapshot *a = load("bigfree-before.json"), *b;
	const char *err = NULL;
	json_object *j;

	if (!a)
		return;
	j = maps_snapshot__to_json(a);
	b = maps_snapshot__from_json(j, &err);
	CHECK(b != NULL);
	if (b) {
		CHECK_U64(b->nr_maps, a->nr_maps);
		for (size_t i = 0; i < a->nr_maps && i < b->nr_maps; i++) {
			CHECK_U64(b->maps[i].start, a->maps[i].start);
			CHECK_U64(b->maps[i].rss_kb, a->maps[i].rss_kb);
			CHECK_STR(b->maps[i].label_name, a->maps[i].label_name);
			CHECK_STR(b->maps[i].perms, a->maps[i].perms);
		}
	}
	json_object_put(j);
	maps_snapshot__free(a);
	maps_snapshot__free(b);
}

TEST(not_a_snapshot)
{
	const char *err = NULL;
	json_object *j = json_tokener_parse("{\"mappings\": [{\"start\": \"0x1000\"}]}");

	CHECK(maps_snapshot__from_json(j, &err) == NULL);
	CHECK_CONTAINS(err, "lacks start, end or label");
	json_object_put(j);
	j = json_tokener_parse("[1, 2]");
	CHECK(maps_snapshot__from_json(j, &err) == NULL);
	CHECK_CONTAINS(err, "no \"mappings\" array");
	json_object_put(j);
}

struct pair {
	struct maps_snapshot *a, *b;
};

static void print_diff(FILE *out, void *ctx)
{
	struct pair *p = ctx;

	maps_diff__print(p->a, p->b, out);
}

TEST(diff_names_the_freed_chunk)
{
	struct pair p = {load("bigfree-before.json"), load("bigfree-after.json")};
	json_object *d, *arr, *tot, *chunk;
	int gone = 0;
	char *text;

	if (!p.a || !p.b)
		return;
	d = maps_diff__to_json(p.a, p.b);
	arr = json_path(d, "mappings");
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *m = json_object_array_get_idx(arr, i);

		if (!strcmp(json_path_str(m, "change"), "gone") &&
		    !strcmp(json_path_str(m, "label"), "mmap-chunk")) {
			gone++;
			CHECK_DBL(json_path_num(m, "kbytes_delta"), -4112, 0);
		}
	}
	CHECK_U64(gone, 1);
	tot = json_path(d, "totals");
	chunk = json_path(tot, "mmap-chunk");
	CHECK(chunk != NULL);
	CHECK_DBL(json_path_num(chunk, "count_delta"), -1, 0);
	json_object_put(d);
	utc();
	text = unit_capture(print_diff, &p);
	golden("bigfree-diff.txt", text);
	free(text);
	maps_snapshot__free(p.a);
	maps_snapshot__free(p.b);
}

static void print_snapshot(FILE *out, void *ctx)
{
	maps_snapshot__print(ctx, out);
}

TEST(table_of_a_saved_snapshot)
{
	struct maps_snapshot *a = load("bigfree-before.json");
	char *text;

	if (!a)
		return;
	text = unit_capture(print_snapshot, a);
	CHECK_CONTAINS(text, "Address           Kbytes     RSS   Dirty    Swap Mode  Label");
	golden("bigfree-before.txt", text);
	free(text);
	maps_snapshot__free(a);
}
